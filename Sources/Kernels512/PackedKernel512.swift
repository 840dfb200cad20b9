/// The AVX-512 micro-kernel of `PackedGemm`. This module alone is compiled
/// for `skylake-avx512` (Package.swift), so its SIMD16<Float> arithmetic
/// becomes zmm FMAs; the rest of the package stays AVX2 and calls in here
/// only when `PackedGemm.useAVX512` is set (after Platform's CPU check). Nothing here
/// is `@inlinable`, and the entry points are `@inline(never)`, so no AVX-512
/// instruction can leak into code that runs on other CPUs.
///
/// Layout (the same as the AVX2 kernel's): W (n, k) in panels of 16 output
/// columns, panel p at `panels + p·k·16`, k-major (`[kk·16 + j]`), zero-padded
/// past n. The kernel takes two adjacent panels at once, so one broadcast of
/// an A element feeds two FMAs.
public enum PackedKernel512 {
    /// Rows of C per micro-kernel call: 8 rows × 2 panels = 16 zmm accumulators.
    public static let rowBlock = 8

    /// c[i, 16p + j] (+)= Σ_k a[i, k] · W[16p + j, k] (+ bias) for i < m, p in `panels`.
    @inline(never)
    public static func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, packed: UnsafePointer<Float>, n: Int, k: Int,
                                panels: Range<Int>, bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>,
                                ldc: Int, accumulate: Bool) {
        var p = panels.lowerBound
        while p < panels.upperBound {
            let pair = p + 1 < panels.upperBound
            let col = p * 16, cols = min(pair ? 32 : 16, n - col)
            let b0 = packed + p * k * 16, b1 = pair ? b0 + k * 16 : b0
            var i = 0
            while i < m {
                let rows = min(rowBlock, m - i)
                block(rows: rows, k: k, a: a + i * lda, lda: lda, b0: b0, b1: b1, c: c + i * ldc + col, ldc: ldc,
                      cols: cols, bias: bias.map { $0 + col }, accumulate: accumulate)
                i += rows
            }
            p += pair ? 2 : 1
        }
    }

    /// One ≤8 × ≤32 block of C over the whole inner dimension. Missing rows
    /// re-read row 0 (computed, not stored); with a single panel b1 == b0 and
    /// only the first 16 columns are stored.
    @inline(__always)
    static func block(rows: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b0: UnsafePointer<Float>,
                      b1: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, cols: Int,
                      bias: UnsafePointer<Float>?, accumulate: Bool) {
        let a0 = a
        let a1 = rows > 1 ? a + lda : a, a2 = rows > 2 ? a + 2 * lda : a
        let a3 = rows > 3 ? a + 3 * lda : a, a4 = rows > 4 ? a + 4 * lda : a
        let a5 = rows > 5 ? a + 5 * lda : a, a6 = rows > 6 ? a + 6 * lda : a
        let a7 = rows > 7 ? a + 7 * lda : a
        var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
        var c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
        var c40 = SIMD16<Float>(), c41 = SIMD16<Float>(), c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
        var c60 = SIMD16<Float>(), c61 = SIMD16<Float>(), c70 = SIMD16<Float>(), c71 = SIMD16<Float>()
        var p0 = UnsafeRawPointer(b0), p1 = UnsafeRawPointer(b1)
        for kk in 0..<k {
            let w0 = p0.loadUnaligned(as: SIMD16<Float>.self)
            let w1 = p1.loadUnaligned(as: SIMD16<Float>.self)
            var x = SIMD16<Float>(repeating: a0[kk])
            c00 = c00.addingProduct(x, w0); c01 = c01.addingProduct(x, w1)
            x = SIMD16<Float>(repeating: a1[kk])
            c10 = c10.addingProduct(x, w0); c11 = c11.addingProduct(x, w1)
            x = SIMD16<Float>(repeating: a2[kk])
            c20 = c20.addingProduct(x, w0); c21 = c21.addingProduct(x, w1)
            x = SIMD16<Float>(repeating: a3[kk])
            c30 = c30.addingProduct(x, w0); c31 = c31.addingProduct(x, w1)
            x = SIMD16<Float>(repeating: a4[kk])
            c40 = c40.addingProduct(x, w0); c41 = c41.addingProduct(x, w1)
            x = SIMD16<Float>(repeating: a5[kk])
            c50 = c50.addingProduct(x, w0); c51 = c51.addingProduct(x, w1)
            x = SIMD16<Float>(repeating: a6[kk])
            c60 = c60.addingProduct(x, w0); c61 = c61.addingProduct(x, w1)
            x = SIMD16<Float>(repeating: a7[kk])
            c70 = c70.addingProduct(x, w0); c71 = c71.addingProduct(x, w1)
            p0 += 64; p1 += 64
        }
        store(c, c00, c01, cols: cols, bias: bias, accumulate: accumulate)
        if rows > 1 { store(c + ldc, c10, c11, cols: cols, bias: bias, accumulate: accumulate) }
        if rows > 2 { store(c + 2 * ldc, c20, c21, cols: cols, bias: bias, accumulate: accumulate) }
        if rows > 3 { store(c + 3 * ldc, c30, c31, cols: cols, bias: bias, accumulate: accumulate) }
        if rows > 4 { store(c + 4 * ldc, c40, c41, cols: cols, bias: bias, accumulate: accumulate) }
        if rows > 5 { store(c + 5 * ldc, c50, c51, cols: cols, bias: bias, accumulate: accumulate) }
        if rows > 6 { store(c + 6 * ldc, c60, c61, cols: cols, bias: bias, accumulate: accumulate) }
        if rows > 7 { store(c + 7 * ldc, c70, c71, cols: cols, bias: bias, accumulate: accumulate) }
    }

    /// Writes (or adds) the first `cols` (≤ 32) of the lanes v0|v1 (+ bias) to `out`.
    @inline(__always)
    static func store(_ out: UnsafeMutablePointer<Float>, _ v0: SIMD16<Float>, _ v1: SIMD16<Float>, cols: Int,
                      bias: UnsafePointer<Float>?, accumulate: Bool) {
        let o = UnsafeMutableRawPointer(out)
        if cols == 32 {
            var x0 = v0, x1 = v1
            if let bias {
                x0 += UnsafeRawPointer(bias).loadUnaligned(as: SIMD16<Float>.self)
                x1 += UnsafeRawPointer(bias).loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            }
            if accumulate {
                x0 += o.loadUnaligned(as: SIMD16<Float>.self)
                x1 += o.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            }
            o.storeBytes(of: x0, as: SIMD16<Float>.self)
            o.storeBytes(of: x1, toByteOffset: 64, as: SIMD16<Float>.self)
            return
        }
        if cols == 16 {
            var x0 = v0
            if let bias { x0 += UnsafeRawPointer(bias).loadUnaligned(as: SIMD16<Float>.self) }
            if accumulate { x0 += o.loadUnaligned(as: SIMD16<Float>.self) }
            o.storeBytes(of: x0, as: SIMD16<Float>.self)
            return
        }
        for j in 0..<cols {
            var x = j < 16 ? v0[j] : v1[j - 16]
            if let bias { x += bias[j] }
            out[j] = accumulate ? out[j] + x : x
        }
    }
}
