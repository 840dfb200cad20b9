import Kernels512
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
        weightedValueTail(from: d, weights: scores, values: values, stride: stride, count: n, headDim: hd, scale: 1, out: out)
    }

    /// out[i] = scale · Σ_j weights[j] · values[j·stride + i] for i in from..<headDim:
    /// the lanes the vector loops of `attend` and `attendTransposed` leave over.
    @inlinable
    static func weightedValueTail(from d: Int, weights: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int,
                                  count n: Int, headDim hd: Int, scale: Float, out: UnsafeMutablePointer<Float>) {
        guard d < hd else { return }
        (out + d).update(repeating: 0, count: hd - d)
        for j in 0..<n {
            let p = weights[j], v = values + j * stride
            for i in d..<hd { out[i] += p * v[i] }
        }
        if scale != 1 { for i in d..<hd { out[i] *= scale } }
    }
}

extension CachedAttention {
    /// Rounds a key count up to whole 8-key blocks (the transposed-key stride and scratch size).
    @inlinable public static func paddedCount(_ n: Int) -> Int { (n + 7) & ~7 }

    /// Like `attend`, with the keys stored in transposed blocks of 8:
    /// dimension d of key j is at `keysT[(j/8)·hd·8 + d·8 + j%8]`, so the
    /// scores of 8 keys are one SIMD8 FMA chain over d with no horizontal sums,
    /// and a head's keys are one contiguous stream. The block holding key
    /// `count − 1` is read whole: lanes past `count` are masked out (their
    /// contents do not matter, even NaN). scores: `paddedCount(count)` floats.
    @inlinable
    public static func attendTransposed(q: UnsafePointer<Float>, keysT: UnsafePointer<Float>,
                                        values: UnsafePointer<Float>, stride: Int, count n: Int, headDim hd: Int,
                                        scale: Float, scores: UnsafeMutablePointer<Float>,
                                        out: UnsafeMutablePointer<Float>) {
        let bs = hd * 8  // floats per 8-key block
        let blocks = paddedCount(n) / 8
        let s8 = SIMD8<Float>(repeating: scale)
        let sp = UnsafeMutableRawPointer(scores)
        let wide = PackedGemm.useAVX512
        var b = 0
        if wide && hd % 2 == 0 {
            Attention512.scores(q: q, keysT: keysT, blocks: blocks, headDim: hd, scale: scale, scores: scores)
            b = blocks
        }
        // Four 8-key blocks at a time, even and odd d in separate chains (8 accumulators).
        while b + 4 <= blocks {
            var e0 = SIMD8<Float>(), e1 = SIMD8<Float>(), e2 = SIMD8<Float>(), e3 = SIMD8<Float>()
            var o0 = SIMD8<Float>(), o1 = SIMD8<Float>(), o2 = SIMD8<Float>(), o3 = SIMD8<Float>()
            var d = 0
            while d + 2 <= hd {
                let k = UnsafeRawPointer(keysT + b * bs + d * 8), blockBytes = bs * 4
                let x0 = SIMD8<Float>(repeating: q[d]), x1 = SIMD8<Float>(repeating: q[d + 1])
                e0 = e0.addingProduct(x0, k.loadUnaligned(as: SIMD8<Float>.self))
                e1 = e1.addingProduct(x0, k.loadUnaligned(fromByteOffset: blockBytes, as: SIMD8<Float>.self))
                e2 = e2.addingProduct(x0, k.loadUnaligned(fromByteOffset: 2 * blockBytes, as: SIMD8<Float>.self))
                e3 = e3.addingProduct(x0, k.loadUnaligned(fromByteOffset: 3 * blockBytes, as: SIMD8<Float>.self))
                o0 = o0.addingProduct(x1, k.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                o1 = o1.addingProduct(x1, k.loadUnaligned(fromByteOffset: blockBytes + 32, as: SIMD8<Float>.self))
                o2 = o2.addingProduct(x1, k.loadUnaligned(fromByteOffset: 2 * blockBytes + 32, as: SIMD8<Float>.self))
                o3 = o3.addingProduct(x1, k.loadUnaligned(fromByteOffset: 3 * blockBytes + 32, as: SIMD8<Float>.self))
                d += 2
            }
            if d < hd {
                let k = UnsafeRawPointer(keysT + b * bs + d * 8), blockBytes = bs * 4, x0 = SIMD8<Float>(repeating: q[d])
                e0 = e0.addingProduct(x0, k.loadUnaligned(as: SIMD8<Float>.self))
                e1 = e1.addingProduct(x0, k.loadUnaligned(fromByteOffset: blockBytes, as: SIMD8<Float>.self))
                e2 = e2.addingProduct(x0, k.loadUnaligned(fromByteOffset: 2 * blockBytes, as: SIMD8<Float>.self))
                e3 = e3.addingProduct(x0, k.loadUnaligned(fromByteOffset: 3 * blockBytes, as: SIMD8<Float>.self))
            }
            sp.storeBytes(of: (e0 + o0) * s8, toByteOffset: b * 32, as: SIMD8<Float>.self)
            sp.storeBytes(of: (e1 + o1) * s8, toByteOffset: b * 32 + 32, as: SIMD8<Float>.self)
            sp.storeBytes(of: (e2 + o2) * s8, toByteOffset: b * 32 + 64, as: SIMD8<Float>.self)
            sp.storeBytes(of: (e3 + o3) * s8, toByteOffset: b * 32 + 96, as: SIMD8<Float>.self)
            b += 4
        }
        // Remaining blocks one at a time, d split over four chains.
        while b < blocks {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var d = 0
            let k = UnsafeRawPointer(keysT + b * bs)
            while d + 4 <= hd {
                a0 = a0.addingProduct(SIMD8(repeating: q[d]), k.loadUnaligned(fromByteOffset: d * 32, as: SIMD8<Float>.self))
                a1 = a1.addingProduct(SIMD8(repeating: q[d + 1]), k.loadUnaligned(fromByteOffset: d * 32 + 32, as: SIMD8<Float>.self))
                a2 = a2.addingProduct(SIMD8(repeating: q[d + 2]), k.loadUnaligned(fromByteOffset: d * 32 + 64, as: SIMD8<Float>.self))
                a3 = a3.addingProduct(SIMD8(repeating: q[d + 3]), k.loadUnaligned(fromByteOffset: d * 32 + 96, as: SIMD8<Float>.self))
                d += 4
            }
            while d < hd {
                a0 = a0.addingProduct(SIMD8(repeating: q[d]), k.loadUnaligned(fromByteOffset: d * 32, as: SIMD8<Float>.self))
                d += 1
            }
            sp.storeBytes(of: ((a0 + a1) + (a2 + a3)) * s8, toByteOffset: b * 32, as: SIMD8<Float>.self)
            b += 1
        }
        // Mask the padding lanes of the last block (replacement, so stale NaNs vanish too).
        let padded = blocks * 8
        for j in n..<padded { scores[j] = -.infinity }
        let m = VectorMath.max(scores, padded)
        let sum = VectorMath.expShifted(scores, scores, padded, shift: m)
        let inv = SIMD8<Float>(repeating: Float(1 / sum))
        if wide && hd % 32 == 0 {
            Attention512.weightedValues(weights: scores, values: values, stride: stride, count: n, headDim: hd,
                                        inv: inv[0], out: out)
            return
        }
        // out = Σ_j p_j · v_j / Σ p: 32 lanes at a time, two keys per step in separate chains.
        var d = 0
        while d + 32 <= hd {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>(), c3 = SIMD8<Float>()
            var j = 0
            while j + 2 <= n {
                let p = SIMD8<Float>(repeating: scores[j]), r = SIMD8<Float>(repeating: scores[j + 1])
                let v = UnsafeRawPointer(values + j * stride + d), w = UnsafeRawPointer(values + (j + 1) * stride + d)
                a0 = a0.addingProduct(p, v.loadUnaligned(as: SIMD8<Float>.self))
                a1 = a1.addingProduct(p, v.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                a2 = a2.addingProduct(p, v.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
                a3 = a3.addingProduct(p, v.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
                c0 = c0.addingProduct(r, w.loadUnaligned(as: SIMD8<Float>.self))
                c1 = c1.addingProduct(r, w.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                c2 = c2.addingProduct(r, w.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
                c3 = c3.addingProduct(r, w.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
                j += 2
            }
            if j < n {
                let p = SIMD8<Float>(repeating: scores[j]), v = UnsafeRawPointer(values + j * stride + d)
                a0 = a0.addingProduct(p, v.loadUnaligned(as: SIMD8<Float>.self))
                a1 = a1.addingProduct(p, v.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                a2 = a2.addingProduct(p, v.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
                a3 = a3.addingProduct(p, v.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
            }
            let o = UnsafeMutableRawPointer(out + d)
            o.storeBytes(of: (a0 + c0) * inv, as: SIMD8<Float>.self)
            o.storeBytes(of: (a1 + c1) * inv, toByteOffset: 32, as: SIMD8<Float>.self)
            o.storeBytes(of: (a2 + c2) * inv, toByteOffset: 64, as: SIMD8<Float>.self)
            o.storeBytes(of: (a3 + c3) * inv, toByteOffset: 96, as: SIMD8<Float>.self)
            d += 32
        }
        weightedValueTail(from: d, weights: scores, values: values, stride: stride, count: n, headDim: hd,
                          scale: inv[0], out: out)
    }
}
