import Foundation
import Tensors

/// Rotary position embeddings. Angles are precomputed in Double and stored
/// as fp32 cos/sin tables: (positions, headDim/2).
public struct RopeTable: Sendable {
    /// Pairing convention.
    public let interleaved: Bool
    /// Head width.
    public let headDim: Int
    /// Positions covered.
    public let maxPositions: Int
    private let cosTable: [Float]
    private let sinTable: [Float]

    /// Frequencies θ^(−2i/headDim), i < headDim/2.
    public init(headDim: Int, maxPositions: Int, theta: Float, interleaved: Bool) {
        precondition(headDim % 2 == 0, "RoPE needs an even head dimension")
        self.headDim = headDim; self.maxPositions = maxPositions; self.interleaved = interleaved
        let half = headDim / 2
        var c = [Float](repeating: 0, count: maxPositions * half), s = c
        for p in 0..<maxPositions {
            for i in 0..<half {
                let freq = pow(Double(theta), -2.0 * Double(i) / Double(headDim))
                let a = Double(p) * freq
                c[p * half + i] = Float(cos(a)); s[p * half + i] = Float(sin(a))
            }
        }
        cosTable = c; sinTable = s
    }

    /// Rotates every head of every row in place by its position's angles
    /// (`inverse` rotates back, which is also the backward pass).
    /// x: (N, heads, headDim) with rows `rowStride` floats apart (default
    /// heads·headDim); positions: (N)
    public func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int,
                      positions: UnsafePointer<Int32>, inverse: Bool = false, rowStride: Int? = nil) {
        let stride = rowStride ?? heads * headDim
        let hd = headDim, half = hd / 2
        let sign: Float = inverse ? -1 : 1
        // Pair (a, b) for index i: rotate-half pairs i with i+half; interleaved pairs 2i with 2i+1.
        let strideA = interleaved ? 2 : 1, offB = interleaved ? 1 : half
        cosTable.withUnsafeBufferPointer { ct in
            sinTable.withUnsafeBufferPointer { st in
                let cp = ct.baseAddress!, sp = st.baseAddress!
                Parallel.forRanges(rows, minPerWorker: 32) { range in
                    for n in range {
                        let p = Int(positions[n])
                        precondition(p >= 0 && p < maxPositions, "RoPE position \(p) outside 0..<\(maxPositions)")
                        let cr = cp + p * half, sr = sp + p * half
                        for h in 0..<heads {
                            let v = x + n * stride + h * hd
                            for i in 0..<half {
                                let ia = i * strideA, ib = ia + offB
                                let a = v[ia], b = v[ib], c = cr[i], s = sign * sr[i]
                                v[ia] = a * c - b * s
                                v[ib] = a * s + b * c
                            }
                        }
                    }
                }
            }
        }
    }
}
