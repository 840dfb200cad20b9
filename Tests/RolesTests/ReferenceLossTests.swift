import Comm
import Configs
import Foundation
@testable import Roles
import Tensors
import Transformer
import XCTest

/// `trainer.val_loss_examples`: the logged held-out loss equals the mean
/// per-token NLL of the reference traces recomputed one unpadded sequence at a
/// time with a hand log-softmax, and it is off (no key) at 0.
final class ReferenceLossTests: XCTestCase {
    /// The job's float32 log-softmax over padded batches against this Double one on
    /// single sequences: measured at most 2.1e-8 (2026-12-06); the bound leaves 500× room.
    static let tolerance = 1e-5

    func runEval(_ extra: [String], dir: String? = nil) throws -> (ClusterJob, [String: Double]) {
        let job = try runTinyEvalJob(["data.max_response_length=40", "rollout.max_new_tokens=8", "model.tiny.max_seq_len=64"] + extra,
                                     dir: dir)
        return (job, try XCTUnwrap(job.evaluations.first).metrics)
    }

    /// −log softmax(logits)[target], in Double.
    func nll(_ row: UnsafeMutablePointer<Float>, vocab: Int, target: Int32) -> Double {
        let m = (0..<vocab).map { Double(row[$0]) }.max()!
        let z = (0..<vocab).reduce(0.0) { $0 + exp(Double(row[$1]) - m) }
        return -(Double(row[Int(target)]) - m - log(z))
    }

    func testTheLoggedLossIsTheReferenceTracesNLL() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-refloss-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (job, metrics) = try runEval(["trainer.val_loss_examples=3"], dir: dir)
        let ctx = job.ctx
        XCTAssertEqual(ctx.config.model.tiny.maxSeqLen, 64, "this test's overrides come after runTinyEvalJob's and win")
        XCTAssertEqual(ctx.validationReferences.count, 6, "3 per source, both synthetic families have traces")
        var total = 0.0, tokens = 0, perSource: [String: (Double, Int)] = [:]
        for ref in ctx.validationReferences {
            let prompt = try ctx.codec.encode(try ctx.codec.formatPrompt(ref.item.prompt))
            let completion = try ctx.codec.encode(ref.completion) + [ctx.codec.eos]
            let seq = prompt + completion
            XCTAssertLessThanOrEqual(seq.count, 65, "no cut in this test")
            let logits = job.model.forward(TokenBatch(batchSize: 1, seqLen: seq.count - 1, tokens: Array(seq.dropLast())))
            var sum = 0.0
            for t in (prompt.count - 1)..<(seq.count - 1) {
                sum += nll(logits.data + t * logits.vocab, vocab: logits.vocab, target: seq[t + 1])
            }
            total += sum; tokens += completion.count
            let old = perSource[ref.item.dataSource] ?? (0, 0)
            perSource[ref.item.dataSource] = (old.0 + sum, old.1 + completion.count)
        }
        XCTAssertEqual(try XCTUnwrap(metrics["val-core/all/ref_loss"]), total / Double(tokens), accuracy: Self.tolerance)
        for (source, s) in perSource {
            XCTAssertEqual(try XCTUnwrap(metrics["val-aux/\(source)/ref_loss"]), s.0 / Double(s.1), accuracy: Self.tolerance)
        }
        XCTAssertGreaterThan(total / Double(tokens), 1.0, "an untrained model is far from its traces")

        // The per-completion file gives the same mean back, one line per reference.
        let lines = try String(contentsOfFile: dir + "/ref_loss/0.jsonl", encoding: .utf8).split(separator: "\n")
        let rows = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(rows.count, 6)
        let nll = rows.reduce(0.0) { $0 + ($1["nll"] as! Double) }, count = rows.reduce(0) { $0 + ($1["tokens"] as! Int) }
        XCTAssertEqual(count, tokens)
        XCTAssertEqual(nll / Double(count), try XCTUnwrap(metrics["val-core/all/ref_loss"]), accuracy: 1e-12)
    }

    func testOffByDefault() throws {
        let (_, metrics) = try runEval([])
        XCTAssertFalse(metrics.keys.contains { $0.hasSuffix("ref_loss") }, "no held-out loss unless asked for")
    }
}
