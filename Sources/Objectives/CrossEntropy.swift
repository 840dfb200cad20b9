import Foundation
import Layers
import Tensors

/// Token-weighted cross-entropy, the first `TokenLoss` and the base of SFT,
/// T3S masks and token-priority weights.
public enum CrossEntropy {
    /// L = Σ_t w_t · (−log softmax(logits_t)[y_t]) / normalizer.
    ///
    /// - targets: (N) next-token ids; a negative id marks a position with no loss.
    /// - weights: (N) per-token weights, or nil for 1 everywhere.
    /// - normalizer: divides the sum; nil means Σ_t w_t over positions with a
    ///   target (token-mean). Pass a global count for data-parallel learners.
    public static func loss(targets: [Int32], weights: [Float]? = nil, normalizer: Double? = nil) -> TokenLoss {
        return { block in
            precondition(targets.count == block.rows, "CrossEntropy: \(targets.count) targets for \(block.rows) rows")
            if let weights { precondition(weights.count == block.rows, "CrossEntropy: weights count \(weights.count) ≠ rows \(block.rows)") }
            var norm = normalizer ?? 0
            if normalizer == nil {
                for (i, t) in targets.enumerated() where t >= 0 { norm += Double(weights?[i] ?? 1) }
            }
            let inv = norm > 0 ? 1 / norm : 0
            let V = block.vocab
            let workers = Parallel.workers
            var partial = [Double](repeating: 0, count: workers)
            partial.withUnsafeMutableBufferPointer { part in
                let pp = part.baseAddress!
                targets.withUnsafeBufferPointer { tg in
                    Parallel.forChunks(block.rows, minPerWorker: 4) { chunk, range in
                        var acc = 0.0
                        for r in range {
                            let row = block.row(r)
                            let y = Int(tg[r])
                            let w = Double(weights?[r] ?? 1)
                            if y < 0 || w == 0 { row.update(repeating: 0, count: V); continue }
                            precondition(y < V, "CrossEntropy: target \(y) outside vocabulary of \(V)")
                            let m = VectorMath.max(row, V)
                            let shiftedTarget = Double(row[y] - m)
                            let sum = VectorMath.expShifted(row, row, V, shift: m)
                            acc += w * (log(sum) - shiftedTarget)
                            VectorMath.scale(row, V, by: Float(w * inv / sum))
                            row[y] -= Float(w * inv)
                        }
                        pp[chunk] = acc
                    }
                }
            }
            return partial.reduce(0, +) * inv
        }
    }
}
