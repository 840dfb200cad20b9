import Foundation
import Kernels512

/// A weight matrix W (N, K) in PyTorch Linear layout (row j = output column j),
/// re-laid out for `PackedGemm`: panels of 16 output columns, each stored
/// k-major (`data[(p·K + k)·16 + j] = W[16p + j, k]`, zero past N), so the
/// micro-kernel reads 16 consecutive floats per k. Does not own its memory.
public struct PackedMatrix {
    /// Output columns (rows of W).
    public let n: Int
    /// Inner dimension (columns of W).
    public let k: Int
    /// `PackedGemm.packedCount(n:k:)` floats, 64-byte aligned for best speed.
    public let data: UnsafeMutablePointer<Float>

    public init(n: Int, k: Int, data: UnsafeMutablePointer<Float>) {
        self.n = n; self.k = k; self.data = data
    }

    /// Number of 16-column panels.
    @inlinable public var panels: Int { (n + PackedGemm.panelWidth - 1) / PackedGemm.panelWidth }
}

/// C = A · Wᵀ for few rows (decoding: one row per sequence) on weights packed
/// once (`pack`), so nothing is re-packed per call as a BLAS sgemm does. An
/// AVX2/FMA micro-kernel keeps a 6 × 16 block of C in 12 registers and streams
/// the packed panel once per 6 rows; the work splits over output panels on
/// the persistent `WorkerTeam` (no hand-off to OpenBLAS's threads).
public enum PackedGemm {
    /// Output columns per panel (two SIMD8 lanes).
    public static let panelWidth = 16
    /// Rows of C per micro-kernel call.
    public static let rowBlock = 6

    /// Whether `multiply` (and the decode attention in Layers) runs the
    /// AVX-512 kernels (`Kernels512`: two panels × 8 rows per block) instead
    /// of the AVX2 ones. Off by default, which runs on any AVX2 CPU; the
    /// executable turns it on at start when the CPU has AVX-512 (Platform's
    /// `CPUFeatures`), and tests set it to check both kernels. Set it before
    /// any work starts: it is read without synchronisation.
    nonisolated(unsafe) public static var useAVX512 = false

    /// Floats needed to pack an (n, k) matrix.
    @inlinable public static func packedCount(n: Int, k: Int) -> Int {
        (n + panelWidth - 1) / panelWidth * panelWidth * k
    }

    /// Packs W (n, k), row stride `ldw`, into `dst` (`packedCount(n:k:)` floats).
    public static func pack(_ w: UnsafePointer<Float>, n: Int, k: Int, ldw: Int? = nil,
                            into dst: UnsafeMutablePointer<Float>) -> PackedMatrix {
        let ld = ldw ?? k, P = (n + panelWidth - 1) / panelWidth
        Parallel.forRanges(P, minPerWorker: 8) { range in
            for p in range {
                let panel = dst + p * k * panelWidth
                for j in 0..<panelWidth {
                    let col = p * panelWidth + j
                    if col < n {
                        let row = w + col * ld
                        for kk in 0..<k { panel[kk * panelWidth + j] = row[kk] }
                    } else {
                        for kk in 0..<k { panel[kk * panelWidth + j] = 0 }
                    }
                }
            }
        }
        return PackedMatrix(n: n, k: k, data: dst)
    }

    /// c[i, j] (+)= Σ_k a[i, k] · W[j, k] (+ bias[j]) for i < m and all columns,
    /// split over the workers by panel (inline when the product is small).
    @inlinable
    public static func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, b: PackedMatrix,
                                bias: UnsafePointer<Float>? = nil, c: UnsafeMutablePointer<Float>, ldc: Int,
                                accumulate: Bool = false) {
        let work = m * b.n * b.k
        let minPanels = max(1, (1 << 16) / max(1, m * b.k * panelWidth))
        if work < 1 << 17 {
            multiply(m: m, a: a, lda: lda, b: b, panels: 0..<b.panels, bias: bias, c: c, ldc: ldc, accumulate: accumulate)
            return
        }
        // Chunks hold whole panel pairs, the AVX-512 kernel's unit.
        let pairs = (b.panels + 1) / 2
        WorkerTeam.current.forChunks(pairs, grain: max(1, minPanels / 2)) { _, range in
            let panels = (2 * range.lowerBound)..<min(b.panels, 2 * range.upperBound)
            multiply(m: m, a: a, lda: lda, b: b, panels: panels, bias: bias, c: c, ldc: ldc, accumulate: accumulate)
        }
    }

    /// Like `multiply`, for the output panels in `panels` only, on the calling thread.
    @inlinable
    public static func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, b: PackedMatrix, panels: Range<Int>,
                                bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, ldc: Int,
                                accumulate: Bool) {
        let k = b.k
        if useAVX512 {
            PackedKernel512.multiply(m: m, a: a, lda: lda, packed: b.data, n: b.n, k: k, panels: panels, bias: bias,
                                     c: c, ldc: ldc, accumulate: accumulate)
            return
        }
        for p in panels {
            let col = p * panelWidth, cols = min(panelWidth, b.n - col)
            let panel = UnsafePointer(b.data + p * k * panelWidth)
            var i = 0
            while i < m {
                let rows = min(rowBlock, m - i)
                kernel(rows: rows, k: k, a: a + i * lda, lda: lda, b: panel, c: c + i * ldc + col, ldc: ldc,
                       cols: cols, bias: bias.map { $0 + col }, accumulate: accumulate)
                i += rows
            }
        }
    }

    /// One ≤6 × ≤16 block of C over the whole inner dimension. Missing rows
    /// re-read row 0 (computed, not stored); missing columns are zero-padded
    /// in the panel (computed, not stored).
    @inlinable @inline(__always)
    static func kernel(rows: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                       c: UnsafeMutablePointer<Float>, ldc: Int, cols: Int,
                       bias: UnsafePointer<Float>?, accumulate: Bool) {
        let a0 = a
        let a1 = rows > 1 ? a + lda : a, a2 = rows > 2 ? a + 2 * lda : a
        let a3 = rows > 3 ? a + 3 * lda : a, a4 = rows > 4 ? a + 4 * lda : a
        let a5 = rows > 5 ? a + 5 * lda : a
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        var bp = UnsafeRawPointer(b)
        for kk in 0..<k {
            let b0 = bp.loadUnaligned(as: SIMD8<Float>.self)
            let b1 = bp.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            var x = SIMD8<Float>(repeating: a0[kk])
            c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a1[kk])
            c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a2[kk])
            c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a3[kk])
            c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a4[kk])
            c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a5[kk])
            c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
            bp += 64
        }
        store(c, c00, c01, cols: cols, bias: bias, accumulate: accumulate)
        if rows > 1 { store(c + ldc, c10, c11, cols: cols, bias: bias, accumulate: accumulate) }
        if rows > 2 { store(c + 2 * ldc, c20, c21, cols: cols, bias: bias, accumulate: accumulate) }
        if rows > 3 { store(c + 3 * ldc, c30, c31, cols: cols, bias: bias, accumulate: accumulate) }
        if rows > 4 { store(c + 4 * ldc, c40, c41, cols: cols, bias: bias, accumulate: accumulate) }
        if rows > 5 { store(c + 5 * ldc, c50, c51, cols: cols, bias: bias, accumulate: accumulate) }
    }

    /// Writes (or adds) the first `cols` of the 16 lanes v0|v1 (+ bias) to `out`.
    @inlinable @inline(__always)
    static func store(_ out: UnsafeMutablePointer<Float>, _ v0: SIMD8<Float>, _ v1: SIMD8<Float>, cols: Int,
                      bias: UnsafePointer<Float>?, accumulate: Bool) {
        if cols == panelWidth {
            var x0 = v0, x1 = v1
            if let bias {
                x0 += UnsafeRawPointer(bias).loadUnaligned(as: SIMD8<Float>.self)
                x1 += UnsafeRawPointer(bias).loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            }
            let o = UnsafeMutableRawPointer(out)
            if accumulate {
                x0 += o.loadUnaligned(as: SIMD8<Float>.self)
                x1 += o.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            }
            o.storeBytes(of: x0, as: SIMD8<Float>.self)
            o.storeBytes(of: x1, toByteOffset: 32, as: SIMD8<Float>.self)
            return
        }
        for j in 0..<cols {
            var x = j < 8 ? v0[j] : v1[j - 8]
            if let bias { x += bias[j] }
            out[j] = accumulate ? out[j] + x : x
        }
    }
}
