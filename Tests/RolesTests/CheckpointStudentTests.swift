import Comm
import Configs
import Foundation
@testable import Roles
import Tensors
import XCTest

/// `model.path=<checkpoint>`: a tiny model's checkpoint starts a new run with
/// its weights (optionally fewer layers), and wrong checkpoints are refused.
final class CheckpointStudentTests: XCTestCase {
    static let shape = ["model.tiny.dim=32", "model.tiny.layers=3", "model.tiny.heads=4", "model.tiny.kv_heads=2",
                        "model.tiny.ffn_dim=48", "model.tiny.max_seq_len=28"]
    static let lengths = ["data.train_files=[synthetic:addition:1]", "data.max_prompt_length=8", "data.max_response_length=16",
                          "rollout.max_new_tokens=16", "data.val_batch_size=4"]

    /// Runs one single-process job and returns it (after `run()`).
    func job(_ overrides: [String], dir: String, sftSteps: Int) throws -> ClusterJob {
        let config = try Config.load(yamlFile: nil, overrides: Self.lengths + overrides)
        try config.validate()
        let layout = try RankLayout(roles: [[.learner, .rollout, .teacher]])
        var out: ClusterJob?
        try LoopbackWorld.run(size: 1) { comm in
            let j = try ClusterJob(world: comm, layout: layout, config: config,
                                   warmStart: WarmStart(steps: sftSteps, batchSize: 4, lr: 3e-3), root: LoopbackJobTests.root,
                                   runDirectory: dir)
            try j.run()
            out = j
        }
        return try XCTUnwrap(out)
    }

    func testACheckpointStartsANewRunWithItsWeightsAndKeepLayersDropsLayers() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-ckpt-student-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let sft = try job(["trainer.pipeline=sft", "checkpoint.save_freq=1", "trainer.val_before_train=false"] + Self.shape,
                          dir: base + "/sft", sftSteps: 5)
        let saved = sft.model.parameters.toArray()
        // Same weights, whatever model.tiny says (the architecture comes from the manifest).
        let eval = try job(["trainer.pipeline=eval", "model.path=\(base)/sft/checkpoints", "model.tiny.dim=64"],
                           dir: base + "/eval", sftSteps: 0)
        XCTAssertEqual(eval.model.config.dim, 32)
        XCTAssertEqual(eval.model.parameters.toArray(), saved)
        // Two of three layers: layers 0 and 2 of the saved model.
        let small = try job(["trainer.pipeline=eval", "model.path=\(base)/sft/checkpoints", "model.keep_layers=2"],
                            dir: base + "/small", sftSteps: 0)
        XCTAssertEqual(small.model.config.layers, 2)
        let expected = try sft.model.keepingLayers([0, 2]).parameters.toArray()
        XCTAssertEqual(small.model.parameters.toArray(), expected)
        // Too many layers asked for: a clear error naming the count.
        XCTAssertThrowsError(try job(["trainer.pipeline=eval", "model.path=\(base)/sft/checkpoints", "model.keep_layers=4"],
                                     dir: base + "/bad", sftSteps: 0)) { error in
            XCTAssertTrue("\(error)".contains("has only 3 layers"), "\(error)")
        }
    }

    func testKeepLayersWithoutAModelPathIsAConfigError() throws {
        let config = try Config.load(yamlFile: nil, overrides: Self.lengths + ["model.keep_layers=2"])
        XCTAssertThrowsError(try config.validate()) { error in
            XCTAssertTrue("\(error)".contains("model.keep_layers"), "\(error)")
        }
    }
}

/// `checkpoint.resume_mode=<an sft run's step-0 checkpoint>`: RL and distill
/// runs start from a warm start saved by another pipeline (its job state has
/// no RL or distill slice), as the Slurm scripts do.
extension CheckpointStudentTests {
    func testRLAndDistillStartFromAnSFTStepZeroCheckpoint() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-cross-\(getpid())-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let common = CheckpointStudentTests.shape + ["data.train_batch_size=2", "rollout.n=2", "actor.ppo_mini_batch_size=2",
                                                     "actor.ppo_micro_batch_size_per_gpu=4"]
        let sft = try job(["trainer.pipeline=sft", "checkpoint.save_freq=1", "trainer.val_before_train=false"] + common,
                            dir: base + "/sft", sftSteps: 3)
        let warm = sft.model.parameters.toArray()
        let step0 = base + "/sft/checkpoints/global_step_0"
        for pipeline in ["rl", "distill"] {
            let extra = pipeline == "distill" ? ["distillation.teacher_models=[student]", "distillation.mode=on_policy"] : []
            let run = try job(["trainer.pipeline=\(pipeline)", "trainer.total_steps=1", "checkpoint.resume_mode=\(step0)",
                                 "checkpoint.save_freq=1"] + common + extra, dir: base + "/\(pipeline)", sftSteps: 0)
            XCTAssertEqual(run.adamSteps, 1, "\(pipeline): one optimizer step after the warm start")
            XCTAssertNotEqual(run.model.parameters.toArray(), warm, "\(pipeline) trained from the warm start")
            XCTAssertEqual(run.evaluations.map(\.step).last, 1, "\(pipeline): evaluated at its last step (the sft run's evaluations carry over)")
        }
    }
}
