import Foundation
import Tensors

/// A block of logits handed to a loss: `rows` rows of `vocab` floats.
/// A `TokenLoss` reads the logits and overwrites them with ∂loss/∂logits
/// (in place, as llm.c does: the logits are the largest activation).
public struct LogitsBlock {
    /// Number of rows (batch · sequence positions).
    public let rows: Int
    /// Row width.
    public let vocab: Int
    /// rows × vocab floats: logits on entry, dlogits on return.
    public let data: UnsafeMutablePointer<Float>

    /// Wraps storage owned by the caller.
    public init(rows: Int, vocab: Int, data: UnsafeMutablePointer<Float>) {
        self.rows = rows; self.vocab = vocab; self.data = data
    }

    /// Start of row `r`.
    @inline(__always) public func row(_ r: Int) -> UnsafeMutablePointer<Float> { data + r * vocab }
}

/// A training objective seen from the model: logits in, (loss value, dlogits) out,
/// the dlogits written over the logits. Methods (cross-entropy, GRPO, KL, …) are
/// values of this type built in `Objectives`; the model never knows which one runs.
public typealias TokenLoss = (LogitsBlock) -> Double

/// Per-row statistics of a softmax over logits.
public enum LogitsMath {
    /// log Σ exp(row) and the softmax-weighted mean of the row, Σ p·l, in two passes
    /// with no scratch. Entropy is `logZ − meanLogit`.
    @inlinable @inline(__always)
    public static func stats(_ row: UnsafePointer<Float>, _ n: Int) -> (logZ: Double, meanLogit: Double) {
        let m = VectorMath.max(row, n)
        let m8 = SIMD8<Float>(repeating: m)
        var s8 = SIMD8<Float>(repeating: 0), sl8 = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            let l = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self)
            let e = VectorMath.exp8(l - m8)
            s8 += e; sl8 = sl8.addingProduct(e, l - m8); i += 8
        }
        var s = Double(s8.sum()), sl = Double(sl8.sum())
        while i < n { let e = Double(VectorMath.exp(row[i] - m)); s += e; sl += e * Double(row[i] - m); i += 1 }
        return (Double(m) + log(s), Double(m) + sl / s)
    }

    /// Writes exp(row − max) into `out` and returns what sampling needs:
    /// the max, Σ exp(row − max) and the softmax-weighted mean of the row.
    /// One pass over the row for the max, one for everything else.
    @inlinable @inline(__always)
    public static func expAndStats(_ row: UnsafePointer<Float>, _ n: Int, into out: UnsafeMutablePointer<Float>)
        -> (max: Float, sum: Double, meanLogit: Double) {
        let m = VectorMath.max(row, n)
        let m8 = SIMD8<Float>(repeating: m)
        var s8 = SIMD8<Float>(repeating: 0), sl8 = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            let l = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self) - m8
            let e = VectorMath.exp8(l)
            UnsafeMutableRawPointer(out + i).storeBytes(of: e, as: SIMD8<Float>.self)
            s8 += e; sl8 = sl8.addingProduct(e, l); i += 8
        }
        var s = Double(s8.sum()), sl = Double(sl8.sum())
        while i < n { let e = VectorMath.exp(row[i] - m); out[i] = e; s += Double(e); sl += Double(e) * Double(row[i] - m); i += 1 }
        return (m, s, Double(m) + sl / s)
    }

    /// log-probability of `index` and entropy of the row's softmax.
    @inlinable @inline(__always)
    public static func logProbAndEntropy(_ row: UnsafePointer<Float>, _ n: Int, index: Int) -> (logProb: Float, entropy: Float) {
        let st = stats(row, n)
        return (Float(Double(row[index]) - st.logZ), Float(st.logZ - st.meanLogit))
    }
}
