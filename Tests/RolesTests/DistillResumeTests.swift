import Checkpoint
import Comm
import Configs
import Foundation
@testable import Roles
import Tensors
import TestSupport
import XCTest

/// Stop and resume of the `distill` pipeline over the loopback world (every
/// rank a thread): a run interrupted after step k and resumed must end on the
/// uninterrupted run's parameters bit for bit, with every step logged once;
/// and a warm-started run logs one step-0 record, the warm-started student's.
final class DistillResumeTests: XCTestCase {
    /// Four MOTAB steps with the frozen starting student as teacher (so the
    /// checkpoint must carry the teacher), evaluations at 0, 2 and 4.
    static let base = DistillPipelineTests.base + [
        "trainer.total_steps=4", "trainer.test_freq=2", "checkpoint.save_freq=2",
        "distillation.mode=motab", "distillation.teacher_models=[student]",
    ]
    /// Learner, rollout rank, serving teacher rank.
    static let servedRoles: [[Role]] = [[.learner], [.rollout], [.teacher]]
    /// A short warm start: a resumed run that repeated it would end elsewhere.
    static let shortWarmStart = WarmStart(steps: 3, batchSize: 4, lr: 3e-3)

    struct Run {
        /// Every rank's parameters when `run()` returned.
        var parameters: [[Float]] = []
        /// The leader's evaluation steps (restored ones included).
        var evaluations: [Int] = []
        var stopped: JobStop?
        /// AdamW steps of the distill optimizer on the leader.
        var adamSteps: Int?
        /// The leader's parameters at each evaluation (with `recordEvaluations`).
        var evaluatedParameters: [(step: Int, parameters: [Float])] = []
    }

    /// Runs a distill job in `dir` (the leader's run directory); `hooks` go to rank `hookRank`.
    func runJob(dir: String, roles: [[Role]] = servedRoles, _ extra: [String] = [], warm: WarmStart = shortWarmStart,
                hooks: JobFaultHooks = JobFaultHooks(), hookRank: Int = 2, recordEvaluations: Bool = false) throws -> Run {
        let config = try Config.load(yamlFile: nil, overrides: Self.base + extra)
        try config.validate()
        let layout = try RankLayout(roles: roles)
        try config.validate(learners: layout.ranks(.learner).count)
        let leader = layout.ranks(.learner)[0]
        var result = Run(parameters: [[Float]](repeating: [], count: layout.worldSize))
        let lock = NSLock()
        Parallel.workers = 1
        defer { Parallel.workers = 2 }
        try LoopbackWorld.run(size: layout.worldSize) { comm in
            let job = try ClusterJob(world: comm, layout: layout, config: config, warmStart: warm, root: LoopbackJobTests.root,
                                     runDirectory: comm.rank == leader ? dir : nil)
            let observer = RecordingObserver(faults: comm.rank == hookRank ? hooks : JobFaultHooks(), recordEvaluations: recordEvaluations)
            job.observer = observer
            try job.run()
            lock.lock()
            result.parameters[comm.rank] = job.model.parameters.toArray()
            if comm.rank == leader {
                result.evaluations = job.evaluations.map(\.step)
                result.stopped = job.stopped
                result.adamSteps = job.adamSteps
                result.evaluatedParameters = observer.evaluatedParameters
            }
            lock.unlock()
        }
        return result
    }

    /// The records of `<dir>/metrics.jsonl`: steps of the training-step records
    /// (with `timing_s/step`) and of the evaluation records (with a `val-core/` key), in file order.
    static func loggedSteps(_ dir: String) throws -> (training: [Int], evaluation: [Int], records: [(step: Int, data: [String: Double])]) {
        var training: [Int] = [], evaluation: [Int] = [], records: [(Int, [String: Double])] = []
        for line in try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n") {
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let step = try XCTUnwrap(obj["step"] as? Int)
            let data = try XCTUnwrap(obj["data"] as? [String: Any]).compactMapValues { ($0 as? NSNumber)?.doubleValue }
            records.append((step, data))
            if data["timing_s/step"] != nil { training.append(step) }
            if data.keys.contains(where: { $0.hasPrefix("val-core/") }) { evaluation.append(step) }
        }
        return (training, evaluation, records)
    }

    func testStoppedAndResumedMotabRunEqualsTheUninterruptedRunBitForBit() throws {
        let uDir = temporaryPath("uninterrupted")
        let u = try runJob(dir: uDir)
        XCTAssertNil(u.stopped)
        XCTAssertEqual(u.evaluations, [0, 2, 4])
        for p in u.parameters.dropFirst() { XCTAssertTrue(p == u.parameters[0], "ranks disagree at the end of the run") }

        // The teacher rank (not the leader) asks to stop after step 1, as SIGUSR1 would.
        let dir = temporaryPath("interrupted")
        var hooks = JobFaultHooks()
        hooks.stopAfterStep = 1
        let first = try runJob(dir: dir, hooks: hooks)
        let stop = try XCTUnwrap(first.stopped, "the distill run should stop after step 1")
        XCTAssertEqual(stop.step, 1)
        XCTAssertEqual(stop.checkpoint.map { ($0 as NSString).lastPathComponent }, "global_step_1")
        let manifest = try CheckpointReader(directory: try XCTUnwrap(stop.checkpoint)).manifest
        XCTAssertEqual(Set(manifest.shards.map(\.group)), ["model", "optim", "state", DistillPipeline.studentTeacherGroup],
                       "the student, its AdamW moments, the job state and the frozen `student` teacher; no RL reference")
        XCTAssertFalse(first.parameters[0] == u.parameters[0], "the stopped run should hold step 1's student")

        // Resumed (resume_mode=auto): no warm start, no step-0 evaluation, steps 2…4.
        let second = try runJob(dir: dir)
        XCTAssertNil(second.stopped)
        XCTAssertEqual(second.evaluations, [0, 2, 4], "the step-0 evaluation is restored, not repeated")
        XCTAssertEqual(second.adamSteps, u.adamSteps)
        XCTAssertEqual(try CheckpointStore(runDirectory: dir).list().map(\.step), [1, 2, 4])
        for rank in u.parameters.indices {
            XCTAssertEqual(CheckpointResumeTests.maxAbsDiff(second.parameters[rank], u.parameters[rank]), 0, "rank \(rank)")
            XCTAssertTrue(second.parameters[rank] == u.parameters[rank], "rank \(rank): the resumed run differs from the uninterrupted run")
        }
        let logged = try Self.loggedSteps(dir)
        XCTAssertEqual(logged.training, [1, 2, 3, 4], "each training step logged once")
        XCTAssertEqual(logged.evaluation, [0, 2, 4], "each evaluation logged once")
        XCTAssertEqual(logged.training, try Self.loggedSteps(uDir).training)
    }

    func testARunExtendedFromTwoToFourStepsEqualsTheFourStepRun() throws {
        // Rank 0 serves rank 2, rank 1 asks its own teacher: two copies of the frozen student, rank 0's is saved.
        let roles: [[Role]] = [[.learner, .teacher], [.rollout, .teacher], [.rollout]]
        let u = try runJob(dir: temporaryPath("four"), roles: roles)
        let dir = temporaryPath("two-then-four")
        let first = try runJob(dir: dir, roles: roles, ["trainer.total_steps=2"])
        XCTAssertNil(first.stopped)
        XCTAssertEqual(try CheckpointStore(runDirectory: dir).list().map(\.step), [2])
        // The same command with total_steps=4 (the lr is constant, so the first two steps are the four-step run's).
        let second = try runJob(dir: dir, roles: roles)
        XCTAssertEqual(second.evaluations, [0, 2, 4])
        for rank in u.parameters.indices {
            XCTAssertEqual(CheckpointResumeTests.maxAbsDiff(second.parameters[rank], u.parameters[rank]), 0, "rank \(rank)")
            XCTAssertTrue(second.parameters[rank] == u.parameters[rank], "rank \(rank): the extended run differs from the four-step run")
        }
        let logged = try Self.loggedSteps(dir)
        XCTAssertEqual(logged.training, [1, 2, 3, 4])
        XCTAssertEqual(logged.evaluation, [0, 2, 4])
    }

    func testAWarmStartedRunLogsOneStepZeroRecordOfTheWarmStartedStudent() throws {
        let dir = temporaryPath("step0")
        let r = try runJob(dir: dir, ["trainer.total_steps=1", "checkpoint.save_freq=-1"], recordEvaluations: true)
        XCTAssertEqual(r.evaluations, [0, 1])
        let logged = try Self.loggedSteps(dir)
        let stepZero = logged.records.filter { $0.step == 0 }
        XCTAssertEqual(stepZero.count, 1, "one step-0 record: \(stepZero.map { $0.data.keys.sorted() })")
        XCTAssertEqual(logged.evaluation, [0, 1])
        XCTAssertEqual(logged.training, [1])
        XCTAssertEqual(r.evaluatedParameters.map(\.step), [0, 1], "one step-0 evaluation")

        // The warm-started student: the `sft` pipeline runs the same warm start (and evaluates it).
        var warmStarted: [Float] = [], untrained: [Float] = []
        let config = try Config.load(yamlFile: nil, overrides: Self.base + ["trainer.pipeline=sft"])
        let layout = try RankLayout(roles: [[.learner], [.rollout]])
        Parallel.workers = 1
        defer { Parallel.workers = 2 }
        try LoopbackWorld.run(size: 2) { comm in
            let job = try ClusterJob(world: comm, layout: layout, config: config, warmStart: Self.shortWarmStart,
                                     root: LoopbackJobTests.root, runDirectory: nil)
            if comm.rank == 0 { untrained = job.model.parameters.toArray() }
            try job.run()
            if comm.rank == 0 { warmStarted = job.model.parameters.toArray() }
        }
        XCTAssertFalse(warmStarted == untrained, "the warm start should change the student")
        let evaluated = try XCTUnwrap(r.evaluatedParameters.first).parameters
        // (Boolean comparisons: a failing XCTAssertEqual would print every parameter.)
        XCTAssertTrue(evaluated == warmStarted, "step 0 should evaluate the warm-started student")
        XCTAssertFalse(evaluated == untrained, "step 0 evaluated the untrained student")
    }

    func testACheckpointOfAnotherPipelineIsRefused() throws {
        let dir = temporaryPath("pipeline")
        var hooks = JobFaultHooks()
        hooks.stopAfterStep = 1
        XCTAssertEqual(try runJob(dir: dir, ["trainer.total_steps=2"], hooks: hooks).stopped?.step, 1)
        XCTAssertThrowsError(try runJob(dir: dir, ["trainer.pipeline=rl", "trainer.total_steps=2"])) { error in
            let s = "\(error)"
            XCTAssertTrue(s.contains("trainer.pipeline=distill") && s.contains("resume_mode=disable"), "unclear error: \(s)")
        }
    }
}
