import Comm
import Configs
import Foundation
@testable import Roles
import Tensors
import XCTest

/// `rollout.val_kwargs.max_batch` bounds how many validation prompts are decoded
/// at once; the answers, their order and the metrics are those of one batch.
final class EvaluationChunkTests: XCTestCase {
    func evaluate(_ extra: [String], dir: String) throws -> (metrics: [String: Double], dump: [String]) {
        let config = try Config.load(yamlFile: nil, overrides: [
            "trainer.pipeline=eval", "data.train_files=[synthetic:addition:1]",
            "data.val_files=[synthetic:addition:1,synthetic:chain:2]", "data.val_batch_size=4",
            "data.max_prompt_length=16", "data.max_response_length=24", "rollout.max_new_tokens=24",
            "model.tiny.dim=32", "model.tiny.layers=2", "model.tiny.heads=4", "model.tiny.kv_heads=2",
            "model.tiny.ffn_dim=48", "model.tiny.max_seq_len=48",
        ] + extra)
        try config.validate()
        var metrics: [String: Double] = [:]
        Parallel.workers = 1
        defer { Parallel.workers = 2 }
        try LoopbackWorld.run(size: 1) { comm in
            let job = try ClusterJob(world: comm, layout: try RankLayout(roles: [[.learner, .rollout]]), config: config,
                                     warmStart: WarmStart(steps: 0, batchSize: 4, lr: 1e-3), root: LoopbackJobTests.root,
                                     runDirectory: dir)
            try job.run()
            metrics = job.evaluations.first?.metrics ?? [:]
        }
        let dump = try String(contentsOfFile: dir + "/generations/0.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        return (metrics, dump)
    }

    func testChunkedDecodingGivesTheSameAnswers() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-evalchunk-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        for sampling in [["rollout.val_kwargs.greedy=true"],
                         ["rollout.val_kwargs.greedy=false", "rollout.val_kwargs.n=2", "rollout.val_kwargs.temperature=1.0"]] {
            let whole = try evaluate(sampling, dir: base + "/whole")
            let chunked = try evaluate(sampling + ["rollout.val_kwargs.max_batch=3"], dir: base + "/chunked")
            XCTAssertEqual(whole.dump.count, sampling.count == 1 ? 8 : 16)
            XCTAssertEqual(chunked.dump, whole.dump, "8 prompts in chunks of 3, 3 and 2: the same lines in the same order")
            XCTAssertEqual(chunked.metrics, whole.metrics)
            XCTAssertFalse(whole.metrics.isEmpty)
        }
    }
}
