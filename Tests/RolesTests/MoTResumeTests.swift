import Checkpoint
import Comm
import Configs
import Foundation
@testable import Roles
import Tensors
import TestSupport
import XCTest

/// Resume of the `mot` pipeline over the loopback world (1 learner/rollout rank,
/// 2 teacher ranks with the reference writer in two trace styles): a run that
/// stops after a round, or is rerun with more rounds, continues after its last
/// saved round and ends on the uninterrupted run's student bit for bit.
final class MoTResumeTests: XCTestCase {
    struct Run {
        /// Every rank's parameters when `run()` returned.
        var parameters: [[Float]] = []
        /// The branch records of this process's rounds, per rank.
        var records: [[MoTRoundRecord]] = []
        /// The leader's evaluation steps (restored ones included).
        var evaluations: [Int] = []
        var stopped: JobStop?
    }

    /// Runs `rounds` MoT rounds (DARE-TIES, whose mask is seeded by the round) in `dir`, saving every round.
    func runMoT(dir: String, rounds: Int, teachers: [String] = ["reference@style0", "reference@style1"],
                hooks: JobFaultHooks = JobFaultHooks(), hookRank: Int = 2, _ extra: [String] = []) throws -> Run {
        let config = try Config.load(yamlFile: nil, overrides: [
            "trainer.pipeline=mot", "trainer.val_before_train=true", "checkpoint.save_freq=1",
            "data.train_files=[synthetic:addition:1]", "data.val_batch_size=6",
            "data.max_prompt_length=8", "data.max_response_length=24", "rollout.max_new_tokens=24",
            "model.tiny.dim=32", "model.tiny.layers=2", "model.tiny.heads=4", "model.tiny.kv_heads=2",
            "model.tiny.ffn_dim=48", "model.tiny.max_seq_len=40",
            "merge.rounds=\(rounds)", "merge.trace_prompts=12", "merge.merge_method=dare_ties", "merge.parameters.density=0.6",
            "distillation.teacher_models=[\(teachers.joined(separator: ","))]",
        ] + extra)
        try config.validate()
        let layout = try RankLayout(roles: [[.learner, .rollout], [.teacher], [.teacher]])
        var out = Run(parameters: Array(repeating: [], count: 3), records: Array(repeating: [], count: 3))
        let lock = NSLock()
        Parallel.workers = 1
        defer { Parallel.workers = 2 }
        try LoopbackWorld.run(size: 3) { comm in
            let job = try ClusterJob(world: comm, layout: layout, config: config,
                                     warmStart: WarmStart(steps: 0, batchSize: 4, lr: 3e-3), root: LoopbackJobTests.root,
                                     runDirectory: comm.rank == 0 ? dir : nil)
            let observer = RecordingObserver(faults: comm.rank == hookRank ? hooks : JobFaultHooks(), recordsMerges: true)
            job.observer = observer
            try job.run()
            lock.lock()
            out.parameters[comm.rank] = job.model.parameters.toArray()
            out.records[comm.rank] = observer.rounds
            if comm.rank == 0 {
                out.evaluations = job.evaluations.map(\.step)
                out.stopped = job.stopped
            }
            lock.unlock()
        }
        return out
    }

    /// Rounds of the `mot/round` records and steps of the evaluation records in `<dir>/metrics.jsonl`, in file order.
    static func loggedRounds(_ dir: String) throws -> (rounds: [Int], evaluations: [Int], traceRecords: Int) {
        let (_, evaluations, records) = try DistillResumeTests.loggedSteps(dir)
        return (records.filter { $0.data["mot/round"] != nil }.map(\.step), evaluations,
                records.filter { $0.data["mot/teacher_0/traces"] != nil }.count)
    }

    /// Checks a resumed run against the uninterrupted one: rounds 2 and 3 only, the same students, each round logged once.
    func assertResumed(_ resumed: Run, equals u: Run, dir: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertNil(resumed.stopped, file: file, line: line)
        XCTAssertEqual(resumed.records[1].map(\.round), [2, 3], "round 1 is skipped, 2 and 3 run", file: file, line: line)
        XCTAssertEqual(resumed.records[2].map(\.round), [2, 3], file: file, line: line)
        XCTAssertTrue(resumed.records[1][0].base == u.records[1][1].base, "round 2 starts from the saved θ̄", file: file, line: line)
        XCTAssertEqual(resumed.records[1][0].merge, u.records[1][1].merge, "round 2 merges with round 2's DARE seed", file: file, line: line)
        XCTAssertEqual(resumed.evaluations, [0, 1, 2, 3], file: file, line: line)
        for rank in 0..<3 {
            XCTAssertEqual(CheckpointResumeTests.maxAbsDiff(resumed.parameters[rank], u.parameters[rank]), 0, "rank \(rank)",
                           file: file, line: line)
            XCTAssertTrue(resumed.parameters[rank] == u.parameters[rank], "rank \(rank): the resumed student differs",
                          file: file, line: line)
        }
        let logged = try Self.loggedRounds(dir)
        XCTAssertEqual(logged.rounds, [1, 2, 3], "each round logged once", file: file, line: line)
        XCTAssertEqual(logged.evaluations, [0, 1, 2, 3], "each evaluation logged once", file: file, line: line)
        XCTAssertEqual(logged.traceRecords, 1, "the trace metrics go with round 1 only", file: file, line: line)
    }

    func testOneRoundThenAResumeToThreeRoundsEqualsThreeRounds() throws {
        let u = try runMoT(dir: temporaryPath("three"), rounds: 3)
        XCTAssertEqual(u.records[1].map(\.round), [1, 2, 3])
        for p in u.parameters.dropFirst() { XCTAssertTrue(p == u.parameters[0], "ranks disagree at the end of the run") }

        let dir = temporaryPath("one-then-three")
        let first = try runMoT(dir: dir, rounds: 1)
        XCTAssertTrue(first.parameters[0] == u.records[1][0].merged, "one round = the three-round run's first round")
        XCTAssertEqual(try CheckpointStore(runDirectory: dir).list().map(\.step), [1])
        // The same command with merge.rounds=3: resume_mode=auto finds global_step_1.
        let resumed = try runMoT(dir: dir, rounds: 3)
        try assertResumed(resumed, equals: u, dir: dir)
        XCTAssertEqual(try CheckpointStore(runDirectory: dir).list().map(\.step), [1, 2, 3])
    }

    func testAStopAfterRoundOneAndAResumeEqualTheUninterruptedRun() throws {
        let u = try runMoT(dir: temporaryPath("u"), rounds: 3)
        let dir = temporaryPath("stopped")
        var hooks = JobFaultHooks()
        hooks.stopAfterStep = 1
        let first = try runMoT(dir: dir, rounds: 3, hooks: hooks)
        XCTAssertEqual(first.stopped?.step, 1, "a teacher rank's stop request ends the run after round 1")
        XCTAssertEqual(first.records[1].map(\.round), [1])
        let state = try XCTUnwrap(CheckpointStore(runDirectory: dir).latest())
        XCTAssertEqual(state.step, 1)
        try assertResumed(try runMoT(dir: dir, rounds: 3), equals: u, dir: dir)
    }

    func testAResumeWithOtherTeachersIsRefused() throws {
        let dir = temporaryPath("teachers")
        _ = try runMoT(dir: dir, rounds: 1)
        let other = ["reference@style0", "reference@style2"]
        // The config check refuses the changed key first, naming it and how to allow it.
        XCTAssertThrowsError(try runMoT(dir: dir, rounds: 3, teachers: other)) { error in
            let s = "\(error)"
            XCTAssertTrue(s.contains("distillation.teacher_models") && s.contains("checkpoint.allow_config_change")
                          && s.contains("resume_mode=disable"), "unclear error: \(s)")
        }
        // Allowed, the traces the new teachers write still differ from the saved ones.
        XCTAssertThrowsError(try runMoT(dir: dir, rounds: 3, teachers: other,
                                        ["checkpoint.allow_config_change=[distillation.teacher_models]"])) { error in
            let s = "\(error)"
            XCTAssertTrue(s.contains("traces differ") && s.contains("teacher_models") && s.contains("resume_mode=disable"),
                          "unclear error: \(s)")
        }
    }
}
