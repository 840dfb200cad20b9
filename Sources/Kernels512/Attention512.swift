/// AVX-512 forms of the two halves of decode attention on the transposed key
/// cache (`CachedAttention.attendTransposed`); the softmax between them stays
/// in the caller. Entered only when `PackedGemm.useAVX512` is set, which the
/// executable does after a CPU check (Platform's `CPUFeatures`).
public enum Attention512 {
    /// scores[8b + i] = scale · Σ_d q[d] · keysT[b·hd·8 + d·8 + i] for blocks b < `blocks`.
    /// Needs an even head dimension: 16 consecutive floats of a block are
    /// dimensions d and d+1 of its 8 keys, so one zmm FMA against
    /// [q[d] ×8 | q[d+1] ×8] does two dimensions, and the two halves are added at the end.
    @inline(never)
    public static func scores(q: UnsafePointer<Float>, keysT: UnsafePointer<Float>, blocks: Int, headDim hd: Int,
                              scale: Float, scores: UnsafeMutablePointer<Float>) {
        precondition(hd % 2 == 0, "Attention512.scores needs an even head dimension, got \(hd)")
        let pairs = hd / 2, blockBytes = hd * 8 * 4
        withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: pairs) { qq in
            for p in 0..<pairs {
                qq[p] = SIMD16(lowHalf: SIMD8(repeating: q[2 * p]), highHalf: SIMD8(repeating: q[2 * p + 1]))
            }
            let sp = UnsafeMutableRawPointer(scores), s8 = SIMD8<Float>(repeating: scale)
            var b = 0
            // Four blocks at a time, alternate dimension pairs in separate chains (8 accumulators).
            while b + 4 <= blocks {
                var e0 = SIMD16<Float>(), e1 = SIMD16<Float>(), e2 = SIMD16<Float>(), e3 = SIMD16<Float>()
                var o0 = SIMD16<Float>(), o1 = SIMD16<Float>(), o2 = SIMD16<Float>(), o3 = SIMD16<Float>()
                let k = UnsafeRawPointer(keysT + b * hd * 8)
                var p = 0
                while p + 2 <= pairs {
                    let x = qq[p], y = qq[p + 1], off = p * 64
                    e0 = e0.addingProduct(x, k.loadUnaligned(fromByteOffset: off, as: SIMD16<Float>.self))
                    e1 = e1.addingProduct(x, k.loadUnaligned(fromByteOffset: off + blockBytes, as: SIMD16<Float>.self))
                    e2 = e2.addingProduct(x, k.loadUnaligned(fromByteOffset: off + 2 * blockBytes, as: SIMD16<Float>.self))
                    e3 = e3.addingProduct(x, k.loadUnaligned(fromByteOffset: off + 3 * blockBytes, as: SIMD16<Float>.self))
                    o0 = o0.addingProduct(y, k.loadUnaligned(fromByteOffset: off + 64, as: SIMD16<Float>.self))
                    o1 = o1.addingProduct(y, k.loadUnaligned(fromByteOffset: off + 64 + blockBytes, as: SIMD16<Float>.self))
                    o2 = o2.addingProduct(y, k.loadUnaligned(fromByteOffset: off + 64 + 2 * blockBytes, as: SIMD16<Float>.self))
                    o3 = o3.addingProduct(y, k.loadUnaligned(fromByteOffset: off + 64 + 3 * blockBytes, as: SIMD16<Float>.self))
                    p += 2
                }
                if p < pairs {
                    let x = qq[p], off = p * 64
                    e0 = e0.addingProduct(x, k.loadUnaligned(fromByteOffset: off, as: SIMD16<Float>.self))
                    e1 = e1.addingProduct(x, k.loadUnaligned(fromByteOffset: off + blockBytes, as: SIMD16<Float>.self))
                    e2 = e2.addingProduct(x, k.loadUnaligned(fromByteOffset: off + 2 * blockBytes, as: SIMD16<Float>.self))
                    e3 = e3.addingProduct(x, k.loadUnaligned(fromByteOffset: off + 3 * blockBytes, as: SIMD16<Float>.self))
                }
                let s0 = e0 + o0, s1 = e1 + o1, s2 = e2 + o2, s3 = e3 + o3
                sp.storeBytes(of: (s0.lowHalf + s0.highHalf) * s8, toByteOffset: b * 32, as: SIMD8<Float>.self)
                sp.storeBytes(of: (s1.lowHalf + s1.highHalf) * s8, toByteOffset: b * 32 + 32, as: SIMD8<Float>.self)
                sp.storeBytes(of: (s2.lowHalf + s2.highHalf) * s8, toByteOffset: b * 32 + 64, as: SIMD8<Float>.self)
                sp.storeBytes(of: (s3.lowHalf + s3.highHalf) * s8, toByteOffset: b * 32 + 96, as: SIMD8<Float>.self)
                b += 4
            }
            while b < blocks {
                var e = SIMD16<Float>(), o = SIMD16<Float>()
                let k = UnsafeRawPointer(keysT + b * hd * 8)
                var p = 0
                while p + 2 <= pairs {
                    e = e.addingProduct(qq[p], k.loadUnaligned(fromByteOffset: p * 64, as: SIMD16<Float>.self))
                    o = o.addingProduct(qq[p + 1], k.loadUnaligned(fromByteOffset: p * 64 + 64, as: SIMD16<Float>.self))
                    p += 2
                }
                if p < pairs { e = e.addingProduct(qq[p], k.loadUnaligned(fromByteOffset: p * 64, as: SIMD16<Float>.self)) }
                let s = e + o
                sp.storeBytes(of: (s.lowHalf + s.highHalf) * s8, toByteOffset: b * 32, as: SIMD8<Float>.self)
                b += 1
            }
        }
    }

    /// out[d] = inv · Σ_{j<n} weights[j] · values[j·stride + d] for d < `headDim`,
    /// which must be a multiple of 32 (two zmm per row, two keys per step in separate chains).
    @inline(never)
    public static func weightedValues(weights: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int,
                                      count n: Int, headDim hd: Int, inv: Float, out: UnsafeMutablePointer<Float>) {
        precondition(hd % 32 == 0, "Attention512.weightedValues needs a head dimension divisible by 32, got \(hd)")
        var d = 0
        while d < hd {
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), c0 = SIMD16<Float>(), c1 = SIMD16<Float>()
            var j = 0
            while j + 2 <= n {
                let p = SIMD16<Float>(repeating: weights[j]), r = SIMD16<Float>(repeating: weights[j + 1])
                let v = UnsafeRawPointer(values + j * stride + d), w = UnsafeRawPointer(values + (j + 1) * stride + d)
                a0 = a0.addingProduct(p, v.loadUnaligned(as: SIMD16<Float>.self))
                a1 = a1.addingProduct(p, v.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
                c0 = c0.addingProduct(r, w.loadUnaligned(as: SIMD16<Float>.self))
                c1 = c1.addingProduct(r, w.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
                j += 2
            }
            if j < n {
                let p = SIMD16<Float>(repeating: weights[j]), v = UnsafeRawPointer(values + j * stride + d)
                a0 = a0.addingProduct(p, v.loadUnaligned(as: SIMD16<Float>.self))
                a1 = a1.addingProduct(p, v.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
            }
            let s = SIMD16<Float>(repeating: inv), o = UnsafeMutableRawPointer(out + d)
            o.storeBytes(of: (a0 + c0) * s, as: SIMD16<Float>.self)
            o.storeBytes(of: (a1 + c1) * s, toByteOffset: 64, as: SIMD16<Float>.self)
            d += 32
        }
    }
}
