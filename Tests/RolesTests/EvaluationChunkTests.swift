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
        let job = try runTinyEvalJob(extra, dir: dir)
        let dump = try String(contentsOfFile: dir + "/generations/0.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        return (job.evaluations.first?.metrics ?? [:], dump)
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
