import Comm
import Configs
import Foundation
@testable import Roles
import Tasks
import Tensors
import XCTest

/// The `distill` pipeline as a whole job in one process: learners, rollout
/// workers and teacher ranks as threads over the loopback communicator.
final class DistillPipelineTests: XCTestCase {
    static let base = [
        "trainer.pipeline=distill", "trainer.total_steps=2", "trainer.test_freq=2", "trainer.val_before_train=true",
        "data.train_files=[synthetic:addition:1]", "data.train_batch_size=4", "data.val_batch_size=4",
        "data.max_prompt_length=8", "data.max_response_length=16", "rollout.n=4", "rollout.max_new_tokens=16",
        "actor.ppo_mini_batch_size=4", "actor.ppo_micro_batch_size_per_gpu=8", "actor.optim.lr=1e-3",
        "model.tiny.dim=32", "model.tiny.layers=2", "model.tiny.heads=4", "model.tiny.kv_heads=2",
        "model.tiny.ffn_dim=48", "model.tiny.max_seq_len=28",
        // A twitchy monitor, so an untrained student strays within 16 tokens.
        "distillation.window=2", "distillation.k=0.1", "distillation.consecutive=1", "distillation.teacher_max_tokens=6",
    ]

    struct Result {
        /// Metrics of the training steps (lines with `actor/lr` or the step's `timing_s/step`), by step.
        var steps: [Int: [String: Double]] = [:]
        /// Every rank's parameters after a final weight sync.
        var parameters: [[Float]] = []
        /// Evaluation steps.
        var evaluations: [Int] = []
        /// The run directory (removed by the caller's `defer`).
        var directory = ""
    }

    static func runJob(layout: RankLayout, _ extra: [String], warm: WarmStart = WarmStart(steps: 0, batchSize: 4, lr: 0),
                directory: String? = nil) throws -> Result {
        let config = try Config.load(yamlFile: nil, overrides: Self.base + extra)
        try config.validate()
        try config.validate(learners: layout.ranks(.learner).count)
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("ispo-distill-\(getpid())-\(UUID())").path
        let n = layout.worldSize
        var result = Result(parameters: [[Float]](repeating: [], count: n), directory: dir)
        let lock = NSLock()
        let leader = layout.ranks(.learner)[0]
        Parallel.workers = 1
        defer { Parallel.workers = 2 }
        try LoopbackWorld.run(size: n) { comm in
            let job = try ClusterJob(world: comm, layout: layout, config: config, warmStart: warm, root: LoopbackJobTests.root,
                                     runDirectory: comm.rank == leader ? dir : nil)
            try job.run()
            _ = try job.syncWeights()
            lock.lock()
            result.parameters[comm.rank] = job.model.parameters.toArray()
            if comm.rank == leader { result.evaluations = job.evaluations.map(\.step) }
            lock.unlock()
        }
        let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        for line in lines {
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let data = try XCTUnwrap(obj["data"] as? [String: Any]).compactMapValues { ($0 as? NSNumber)?.doubleValue }
            if data["timing_s/step"] != nil, let step = obj["step"] as? Int { result.steps[step] = data }
        }
        for p in result.parameters.dropFirst() { XCTAssertEqual(p, result.parameters[0], "parameters differ across ranks") }
        return result
    }

    func testMotabWithTwoRolloutRanksSharingARemoteTeacher() throws {
        let layout = try RankLayout(roles: [[.learner], [.rollout], [.rollout], [.teacher]])
        let r = try Self.runJob(layout: layout, ["distillation.mode=motab", "distillation.teacher_models=[student]"])
        defer { try? FileManager.default.removeItem(atPath: r.directory) }
        XCTAssertEqual(Set(r.steps.keys), [1, 2])
        XCTAssertEqual(r.evaluations, [0, 2])
        for step in [1, 2] {
            let m = try XCTUnwrap(r.steps[step])
            for key in ["motab/interventions_per_rollout", "motab/rollback_depth", "motab/teacher_token_frac",
                        "motab/intervened_rollout_frac", "actor/loss", "actor/grad_norm", "motab/reverse_kl",
                        "timing_s/gen", "timing_s/teacher_score", "timing_s/update_actor"] {
                XCTAssertNotNil(m[key], "step \(step) lacks \(key)")
            }
        }
        // The twitchy monitor fires on an untrained student, and the teacher writes tokens.
        let m1 = try XCTUnwrap(r.steps[1])
        XCTAssertGreaterThan(m1["motab/interventions_per_rollout"]!, 0)
        XCTAssertGreaterThan(m1["motab/teacher_token_frac"]!, 0)
        XCTAssertNotNil(m1["motab/teacher_ce"])
        XCTAssertNotNil(m1["motab/trigger_precision"], "interventions on a synthetic family are scored")
        // The dump carries provenance.
        let dump = try String(contentsOfFile: r.directory + "/rollouts/1.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(dump.count, 16)
        XCTAssertTrue(dump.contains { $0.contains("\"provenance\"") })
    }

    func testOnPolicyWithTheStudentAsTeacherHasNoReverseKL() throws {
        // Rank 1 holds rollout + teacher (asks itself); rank 2 asks rank 0 (learner + teacher, serving).
        let layout = try RankLayout(roles: [[.learner, .teacher], [.rollout, .teacher], [.rollout]])
        XCTAssertEqual(try TeacherAssignment(layout: layout).sources, [1: .local, 2: .remote(0)])
        for estimator in ["full", "sampled"] {
            let r = try Self.runJob(layout: layout, ["distillation.mode=on_policy", "distillation.teacher_models=[student]",
                                                "distillation.estimator=\(estimator)"])
            defer { try? FileManager.default.removeItem(atPath: r.directory) }
            let m1 = try XCTUnwrap(r.steps[1])
            XCTAssertEqual(m1["motab/interventions_per_rollout"], 0)
            XCTAssertEqual(m1["motab/teacher_token_frac"], 0)
            XCTAssertNil(m1["motab/teacher_ce"])
            // Teacher = student at step 1: KL(π_S ‖ π_T) = 0 up to the two forward passes' rounding.
            XCTAssertEqual(try XCTUnwrap(m1["motab/reverse_kl"]), 0, accuracy: 1e-5, estimator)
            XCTAssertEqual(try XCTUnwrap(m1["actor/loss"]), 0, accuracy: 1e-5, estimator)
            XCTAssertNotNil(r.steps[2]?["motab/reverse_kl"])
        }
    }

    func testSFTOnTheTracesOfACheckpointedTeacher() throws {
        // 1. A teacher: the `sft` pipeline warm-starts a model and saves it as step 0 (with its model_config).
        let teacherDir = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-distill-teacher-\(getpid())-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: teacherDir) }
        let config = try Config.load(yamlFile: nil, overrides: Self.base + ["trainer.pipeline=sft", "checkpoint.save_freq=1"])
        let two = try RankLayout(roles: [[.learner], [.rollout]])
        try LoopbackWorld.run(size: 2) { comm in
            let job = try ClusterJob(world: comm, layout: two, config: config, warmStart: WarmStart(steps: 60, batchSize: 16, lr: 1e-2),
                                     root: LoopbackJobTests.root, runDirectory: comm.rank == 0 ? teacherDir : nil)
            try job.run()
        }
        let checkpoint = teacherDir + "/checkpoints/global_step_0"
        let teacher = try ModelSource.loadCheckpoint(checkpoint)
        XCTAssertEqual(teacher.config.dim, 32)

        // 2. Two learners train on the teacher's correct traces (the run directory names its latest checkpoint).
        let layout = try RankLayout(roles: [[.learner], [.learner], [.rollout], [.teacher]])
        let r = try Self.runJob(layout: layout, ["distillation.mode=sft", "distillation.teacher_models=[\(teacherDir)]",
                                            "actor.ppo_mini_batch_size=2", "actor.ppo_micro_batch_size_per_gpu=2"])
        defer { try? FileManager.default.removeItem(atPath: r.directory) }
        let m1 = try XCTUnwrap(r.steps[1])
        let traces = try XCTUnwrap(m1["distill/sft_traces"])
        XCTAssertGreaterThan(try XCTUnwrap(m1["distill/teacher_trace_acc"]), 0, "the warm-started teacher solves some 1-digit additions")
        XCTAssertGreaterThan(traces, 0)
        XCTAssertNotNil(m1["actor/loss"])
        XCTAssertNotNil(m1["motab/teacher_ce"])
        XCTAssertNil(m1["motab/interventions_per_rollout"])
    }

    func testTeacherAssignmentAndPromptParsing() throws {
        let eight = try RankLayout.derived(worldSize: 8, teachers: true)
        let a = try TeacherAssignment(layout: eight)
        XCTAssertEqual(a.sources, [2: .remote(6), 3: .remote(7), 4: .remote(6), 5: .remote(7)])
        XCTAssertEqual(a.clients, [6: [2, 4], 7: [3, 5]])
        XCTAssertThrowsError(try TeacherAssignment(layout: try RankLayout(roles: [[.learner, .teacher], [.rollout, .teacher], [.rollout]])
            .withoutServers())) { XCTAssertTrue("\($0)".contains("no teacher")) }
        var rng = Rng(seed: 5)
        // Every family: MOTAB's trigger scoring needs the problem back from its prompt.
        for info in SyntheticFamilies.all {
            let spec = "\(info.name):\(info.levels.lowerBound + 1)"
            let family = try SyntheticFamilies.named(spec)
            for _ in 0..<20 {
                let p = family.sample(&rng)
                let q = try XCTUnwrap(SyntheticPrompt.problem(family: family, prompt: p.prompt), spec)
                XCTAssertEqual(try family.steps(of: q), try family.steps(of: p))
            }
        }
        XCTAssertNil(SyntheticPrompt.problem(family: ChainTask(steps: 2), prompt: "Q:1,+2\n"))
        XCTAssertNil(SyntheticPrompt.problem(family: CheckedChainTask(steps: 4), prompt: "Q:3,+1,+2=7,+1,+1\n"), "a wrong checkpoint")
    }
}

private extension RankLayout {
    /// The layout with the teacher role removed from ranks that do not roll out (so no rank serves).
    func withoutServers() throws -> RankLayout {
        try RankLayout(roles: roles.map { $0.contains(.rollout) ? $0 : $0.filter { $0 != .teacher } })
    }
}
