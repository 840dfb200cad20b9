import Comm
import Configs
import Foundation
@testable import Roles
import Tensors
import XCTest

/// A whole RL step in one process: 1 learner and 2 rollout workers as
/// threads over the loopback communicator, the same code mpirun runs.
final class LoopbackJobTests: XCTestCase {
    func testOneLearnerTwoRolloutWorkersRunARLStep() throws {
        let config = try Config.load(yamlFile: nil, overrides: [
            "trainer.pipeline=demo", "trainer.total_steps=2", "trainer.test_freq=1", "trainer.val_before_train=true",
            "data.train_files=[synthetic:addition:1]", "data.train_batch_size=4", "data.val_batch_size=6",
            "data.max_prompt_length=8", "data.max_response_length=16", "rollout.n=4", "rollout.max_new_tokens=16",
            "actor.ppo_mini_batch_size=2", "actor.ppo_micro_batch_size_per_gpu=8", "actor.optim.lr=1e-3",
            "model.tiny.dim=32", "model.tiny.layers=2", "model.tiny.heads=4", "model.tiny.kv_heads=2",
            "model.tiny.ffn_dim=48", "model.tiny.max_seq_len=28",
        ])
        try config.validate()
        let layout = try RankLayout(roles: [[.learner], [.rollout], [.rollout]])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-loopback-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var finalParameters = [[Float]](repeating: [], count: 3)
        var evaluations: [(step: Int, metrics: [String: Double])] = []
        let lock = NSLock()
        Parallel.workers = 1
        defer { Parallel.workers = 2 }
        try LoopbackWorld.run(size: 3) { comm in
            let job = try ClusterJob(world: comm, layout: layout, config: config,
                                     warmStart: WarmStart(steps: 3, batchSize: 4, lr: 1e-3), root: Self.root,
                                     runDirectory: comm.rank == 0 ? dir : nil)
            try job.run()
            _ = try job.syncWeights()  // every rank ends on the leader's weights
            lock.lock()
            finalParameters[comm.rank] = job.model.parameters.toArray()
            if comm.rank == 0 { evaluations = job.evaluations }
            lock.unlock()
        }
        XCTAssertEqual(finalParameters[0], finalParameters[1])
        XCTAssertEqual(finalParameters[0], finalParameters[2])
        XCTAssertEqual(evaluations.map(\.step), [0, 1, 2])
        let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let step1 = try XCTUnwrap(lines.first { $0.hasPrefix("{\"step\":1,") && $0.contains("actor/pg_loss") })
        for key in ["critic/score/mean", "frac_reward_zero_std", "timing_s/gen", "timing_s/update_actor",
                    "timing_s/sync_weights", "rollout/logprob_abs_diff", "actor/grad_norm", "response_length/mean"] {
            XCTAssertTrue(step1.contains("\"\(key)\""), "step metrics lack \(key)")
        }
        // 4 prompts × 4 samples were dumped with their advantages.
        let dump = try String(contentsOfFile: dir + "/rollouts/1.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(dump.count, 16)
        XCTAssertTrue(dump[0].contains("\"advantage\""))
        // Every evaluation wrote its 6 greedy generations; their verdicts give the logged accuracy.
        for (step, metrics) in evaluations {
            let text = try String(contentsOfFile: "\(dir)/generations/\(step).jsonl", encoding: .utf8)
            let rows = try text.split(separator: "\n").map {
                try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            XCTAssertEqual(rows.count, 6, "step \(step)")
            for row in rows {
                XCTAssertEqual(row["step"] as? Int, step)
                for key in ["prompt", "response", "ground_truth", "data_source"] {
                    XCTAssertNotNil(row[key] as? String, "generations/\(step).jsonl lacks \(key)")
                }
                XCTAssertTrue((row["data_source"] as? String)?.hasPrefix("addition") ?? false)
                // The exact model input and output: the char codec renders no template, so the
                // rendered prompt is the task text; the ids are the tokens generated.
                XCTAssertEqual(row["rendered_prompt"] as? String, row["prompt"] as? String)
                let promptIDs = try XCTUnwrap(row["prompt_ids"] as? [Int]), responseIDs = try XCTUnwrap(row["response_ids"] as? [Int])
                XCTAssertEqual(promptIDs.count, (row["prompt"] as? String)?.count)
                XCTAssertEqual(responseIDs.count, row["response_tokens"] as? Int)
            }
            let correct = rows.filter { $0["correct"] as? Bool == true }.count
            XCTAssertEqual(Double(correct) / 6, try XCTUnwrap(metrics["val-core/all/acc/mean@1"]), accuracy: 1e-12)
        }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
}
