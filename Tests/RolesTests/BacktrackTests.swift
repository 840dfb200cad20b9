import Roles
import Tensors
import Transformer
import XCTest

/// Exact backtracking as MOTAB does it: truncate one slot of a shared KV cache
/// (while another slot keeps decoding), re-extend the last kept token plus
/// other tokens, and the logits equal a fresh full forward on the resulting
/// prefix — twice in a row, the second time to an earlier point.
final class BacktrackTests: XCTestCase {
    /// Cached decoding vs the full forward: both fp32, different summation
    /// order (dot loops vs sgemm). Measured max |Δ logit| ≤ 8.4e-6 (printed),
    /// with logits of magnitude ~10 (weights ×5).
    static let backtrackTolerance: Float = 5e-5

    func fresh(_ model: Model, _ seq: [Int32]) -> [[Float]] {
        let block = model.forward(TokenBatch(batchSize: 1, seqLen: seq.count, tokens: seq))
        return (0..<seq.count).map { Array(UnsafeBufferPointer(start: block.row($0), count: block.vocab)) }
    }

    func testTruncateAndExtendEqualsFreshForward() throws {
        let model = try MotabRolloutTests.student(seed: 6)
        let V = model.config.vocabSize
        let cache = KVCache(config: model.config, slots: 2)
        let prompt: [Int32] = [2, 9, 4], other: [Int32] = [5, 5, 6, 7]
        let student: [Int32] = [10, 11, 12, 13, 14, 15, 16]
        // Prefill both slots, then decode the student and the neighbour together.
        _ = model.extend(cache: cache, slots: [0, 0, 0, 1, 1], tokens: prompt + other[0..<2], logitRows: [2, 4])
        for (t, x) in student.enumerated() {
            let n = 2 + t < other.count
            _ = model.extend(cache: cache, slots: n ? [0, 1] : [0], tokens: n ? [x, other[2 + t]] : [x], logitRows: [0])
        }
        var worst: Float = 0
        var sequence = prompt + student
        // Backtrack 1: keep 4 student tokens; re-extend the last kept one and a teacher step.
        for (keep, teacher) in [(4, [Int32](arrayLiteral: 20, 21, 22)), (2, [Int32](arrayLiteral: 23))] {
            let kept = Array(sequence[0..<(prompt.count + keep)])
            cache.truncate(slot: 0, to: kept.count - 1)
            let rows = [kept.last!] + teacher
            let out = model.extend(cache: cache, slots: [Int](repeating: 0, count: rows.count), tokens: rows,
                                   logitRows: Array(0..<rows.count))
            sequence = kept + teacher
            XCTAssertEqual(cache.lengths[0], sequence.count)
            let ref = fresh(model, sequence)
            for r in 0..<rows.count {
                for v in 0..<V { worst = max(worst, abs(out.row(r)[v] - ref[kept.count - 1 + r][v])) }
            }
            // The student resumes: one more token through the cache vs fresh.
            let next: [Int32] = [17]
            let resumed = model.extend(cache: cache, slots: [0], tokens: next, logitRows: [0])
            sequence += next
            let ref2 = fresh(model, sequence)
            for v in 0..<V { worst = max(worst, abs(resumed.row(0)[v] - ref2[sequence.count - 1][v])) }
        }
        // The neighbour slot is untouched by slot 0's backtracks.
        let nb = model.extend(cache: cache, slots: [1], tokens: [8], logitRows: [0])
        let refNb = fresh(model, other + [8])
        for v in 0..<V { worst = max(worst, abs(nb.row(0)[v] - refNb[other.count][v])) }
        XCTAssertLessThan(worst, Self.backtrackTolerance)
        print("[motab] backtrack: max |cached − fresh forward| logit = \(worst)")
    }
}
