import Foundation
import Layers
import Tensors

/// Signed per-token priority in the loss (METHODS.md §5): the hook T3S masks,
/// Rho-1 selection, soft weights and unlearning all go through.
///
///     L = (1/n) [ Σ_{Φ_t > 0} Φ_t·(−log π(y_t))  +  Σ_{Φ_t < 0} |Φ_t|·(−log max(1 − π(y_t), ε)) ]
///
/// Positive priorities are weighted cross-entropy (computed exactly as
/// `CrossEntropy.loss`, so Φ ≡ 1 gives the same bits); negative ones are the
/// bounded unlikelihood term [ours], which pushes π(y_t) down.
public enum WeightedCrossEntropy {
    /// ε of the unlikelihood term: 1 − π is clamped at it, so one token adds at
    /// most |Φ|·log(1/ε) ≈ 13.8·|Φ| to the value.
    public static let unlikelihoodEpsilon = 1e-6

    /// Builds the loss.
    ///
    /// - targets: (N) next-token ids; a negative id marks a row with no loss.
    /// - weights: (N) priorities Φ_t, finite; 0 = the row contributes nothing.
    /// - normalizer: divides the sum; nil = Σ |Φ_t| over rows with a target
    ///   (the token mean over trained tokens for a 0/1 mask). Pass a global
    ///   count for data-parallel learners.
    ///
    /// Gradient of an unlikelihood row, p = softmax(z), a = |Φ|/n:
    /// ∂/∂z_y = a·p_y and ∂/∂z_j = −a·p_y·p_j/(1 − p_y) for j ≠ y. 1 − p_y is
    /// summed from the other entries (no cancellation when p_y ≈ 1). Where the
    /// clamp is active the value is constant but the gradient stays the
    /// unclamped one: it is already bounded (‖·‖₁ ≤ 2a), and zeroing it would
    /// stop unlearning exactly the most confident tokens.
    public static func loss(targets: [Int32], weights: [Float], normalizer: Double? = nil) -> TokenLoss {
        return { block in
            precondition(targets.count == block.rows, "WeightedCrossEntropy: \(targets.count) targets for \(block.rows) rows")
            precondition(weights.count == block.rows, "WeightedCrossEntropy: weights count \(weights.count) ≠ rows \(block.rows)")
            precondition(weights.allSatisfy(\.isFinite), "WeightedCrossEntropy: a token weight is not finite")
            var norm = normalizer ?? 0
            if normalizer == nil {
                for (i, t) in targets.enumerated() where t >= 0 { norm += Double(abs(weights[i])) }
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
                            let w = Double(weights[r])
                            if y < 0 || w == 0 { row.update(repeating: 0, count: V); continue }
                            precondition(y < V, "WeightedCrossEntropy: target \(y) outside vocabulary of \(V)")
                            let m = VectorMath.max(row, V)
                            let shiftedTarget = Double(row[y] - m)
                            let sum = VectorMath.expShifted(row, row, V, shift: m)
                            if w > 0 {
                                // The same operations as CrossEntropy.loss, in the same order.
                                acc += w * (log(sum) - shiftedTarget)
                                VectorMath.scale(row, V, by: Float(w * inv / sum))
                                row[y] -= Float(w * inv)
                            } else {
                                acc += -w * unlikelihood(row, V, target: y, sum: sum, scale: -w * inv)
                            }
                        }
                        pp[chunk] = acc
                    }
                }
            }
            return partial.reduce(0, +) * inv
        }
    }

    /// One unlikelihood row. On entry `row` holds e_j = exp(z_j − max) and
    /// `sum` = Σ e_j; returns −log max(1 − p_y, ε) and writes `scale` times its
    /// gradient (see `loss`) over the row.
    static func unlikelihood(_ row: UnsafeMutablePointer<Float>, _ V: Int, target y: Int, sum: Double,
                             scale a: Double) -> Double {
        var others = 0.0
        for j in 0..<V where j != y { others += Double(row[j]) }
        let py = Double(row[y]) / sum
        let value = -log(max(others / sum, unlikelihoodEpsilon))
        // p_j / (1 − p_y) = e_j / others; with no mass elsewhere only z_y moves.
        let s = others > 0 ? -a * py / others : 0
        for j in 0..<V { row[j] = Float(s * Double(row[j])) }
        row[y] = Float(a * py)
        return value
    }
}
