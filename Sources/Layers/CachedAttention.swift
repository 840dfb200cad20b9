import Tensors

/// Attention of one query head over cached keys and values (decoding).
public enum CachedAttention {
    /// out = Σ_j softmax_j(q·k_j · scale) · v_j for j < count.
    /// q, out: (headDim); keys/values: rows j at `keys + j·stride`; scores: (count) scratch.
    @inlinable
    public static func attend(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                              count n: Int, headDim hd: Int, stride: Int, scale: Float,
                              scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        for j in 0..<n { scores[j] = VectorMath.dot(q, keys + j * stride, hd) * scale }
        let m = VectorMath.max(scores, n)
        let sum = VectorMath.expShifted(scores, scores, n, shift: m)
        VectorMath.scale(scores, n, by: Float(1 / sum))
        // Accumulate 32 output lanes at a time in registers while walking the keys.
        var d = 0
        while d + 32 <= hd {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            for j in 0..<n {
                let p = SIMD8<Float>(repeating: scores[j])
                let v = UnsafeRawPointer(values + j * stride + d)
                a0 = a0.addingProduct(p, v.loadUnaligned(as: SIMD8<Float>.self))
                a1 = a1.addingProduct(p, v.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                a2 = a2.addingProduct(p, v.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
                a3 = a3.addingProduct(p, v.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
            }
            let o = UnsafeMutableRawPointer(out + d)
            o.storeBytes(of: a0, as: SIMD8<Float>.self)
            o.storeBytes(of: a1, toByteOffset: 32, as: SIMD8<Float>.self)
            o.storeBytes(of: a2, toByteOffset: 64, as: SIMD8<Float>.self)
            o.storeBytes(of: a3, toByteOffset: 96, as: SIMD8<Float>.self)
            d += 32
        }
        if d < hd {
            (out + d).update(repeating: 0, count: hd - d)
            for j in 0..<n {
                let p = scores[j], v = values + j * stride
                for i in d..<hd { out[i] += p * v[i] }
            }
        }
    }
}
