import Comm
import Configs
import Foundation
@testable import Roles
import Tensors
import XCTest

/// ISPO inside a whole RL step (1 learner + 1 rollout worker over loopback).
final class ISPOJobTests: XCTestCase {
    /// Runs two RL steps of a tiny untrained model and returns each step's metrics.
    func runSteps(_ extra: [String]) throws -> [[String: Double]] {
        let config = try Config.load(yamlFile: nil, overrides: [
            "trainer.pipeline=rl", "trainer.total_steps=2", "trainer.test_freq=-1",
            "data.train_files=[synthetic:addition:1]", "data.train_batch_size=4", "data.val_batch_size=2",
            "data.max_prompt_length=8", "data.max_response_length=12", "rollout.n=4",
            "actor.ppo_mini_batch_size=4", "actor.ppo_micro_batch_size_per_gpu=8", "actor.optim.lr=1e-3",
            "model.tiny.dim=32", "model.tiny.layers=2", "model.tiny.heads=4", "model.tiny.kv_heads=2",
            "model.tiny.ffn_dim=48", "model.tiny.max_seq_len=24",
        ] + extra)
        try config.validate()
        let layout = try RankLayout(roles: [[.learner], [.rollout]])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-job-\(getpid())-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        Parallel.workers = 1
        defer { Parallel.workers = 2 }
        try LoopbackWorld.run(size: 2) { comm in
            let job = try ClusterJob(world: comm, layout: layout, config: config, warmStart: WarmStart(steps: 0, batchSize: 4, lr: 0),
                                     root: LoopbackJobTests.root, runDirectory: comm.rank == 0 ? dir : nil)
            try job.run()
        }
        let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        return try lines.map { line in
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let data = try XCTUnwrap(obj["data"] as? [String: Any])
            return data.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        }.filter { $0["actor/grad_norm"] != nil }
    }

    func testISPODensifiesAllWrongGroupsAndLogsItsDiagnostics() throws {
        // An untrained model gets every answer wrong: every group is all-wrong.
        let steps = try runSteps(["algorithm.ispo.enable=true"])
        XCTAssertEqual(steps.count, 2)
        let m = steps[0]
        XCTAssertEqual(m["frac_reward_zero_std"], 1, "an untrained model should fail every prompt")
        XCTAssertEqual(try XCTUnwrap(m["effective_zero_adv_frac"]), 0, "ISPO's rewards separate the rollouts of a group")
        XCTAssertGreaterThan(try XCTUnwrap(m["ispo/grad_norm_equal_groups"]), 0)
        for key in ["ispo/critical_set_size", "ispo/wrong_critical_prob", "ispo/wrong_confident_frac", "ispo/seq_info_correct",
                    "ispo/seq_info_wrong", "timing_s/ispo_signals", "ispo/seq_scale"] {
            XCTAssertNotNil(m[key], "step metrics lack \(key)")
        }
        XCTAssertGreaterThan(try XCTUnwrap(m["ispo/critical_set_size"]), 0)
    }

    func testGRPOWithDiagnosticsHasNoGradientFromEqualGroups() throws {
        let steps = try runSteps(["algorithm.ispo.diagnostics=true"])
        XCTAssertEqual(steps[0]["frac_reward_zero_std"], 1)
        XCTAssertEqual(steps[0]["effective_zero_adv_frac"], 1)
        XCTAssertEqual(steps[0]["ispo/grad_norm_equal_groups"], 0)
        XCTAssertEqual(steps[0]["actor/grad_norm"], 0, "all-wrong groups give GRPO no gradient at all")
    }
}
