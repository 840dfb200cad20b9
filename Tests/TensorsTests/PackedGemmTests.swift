import Foundation
import Platform
import Tensors
import XCTest

/// The decode GEMM on pre-packed weights against a naive Double oracle.
final class PackedGemmTests: XCTestCase {
    /// Error of each output ÷ Σ_k |a_ik·w_jk| (the scale of its rounding).
    /// fp32 FMA accumulation over K ≤ 300 terms: measured max 2.1e-7.
    static let relativeTolerance = 2e-6

    struct Case { let m, n, k: Int; let bias, accumulate: Bool }

    /// Runs one product with padded strides and checks every element (and that
    /// nothing outside C's m × n window is touched).
    func check(_ t: Case, rng: inout Rng) -> Double {
        let lda = t.k + 3, ldc = t.n + 5, ldw = t.k + 1
        let a = (0..<(t.m * lda)).map { _ in Float(rng.uniform() * 2 - 1) }
        let w = (0..<(t.n * ldw)).map { _ in Float(rng.uniform() * 2 - 1) }
        let bias = (0..<t.n).map { _ in Float(rng.uniform() * 2 - 1) }
        let c0 = (0..<(t.m * ldc)).map { _ in Float(rng.uniform() * 2 - 1) }
        let packed = FlatBuffer(count: PackedGemm.packedCount(n: t.n, k: t.k))
        let pm = w.withUnsafeBufferPointer { PackedGemm.pack($0.baseAddress!, n: t.n, k: t.k, ldw: ldw, into: packed.pointer) }
        let c = FlatBuffer(c0)
        a.withUnsafeBufferPointer { ap in
            bias.withUnsafeBufferPointer { bp in
                PackedGemm.multiply(m: t.m, a: ap.baseAddress!, lda: lda, b: pm, bias: t.bias ? bp.baseAddress! : nil,
                                    c: c.pointer, ldc: ldc, accumulate: t.accumulate)
            }
        }
        var worst = 0.0
        for i in 0..<t.m {
            for j in 0..<ldc {
                let got = Double(c[i * ldc + j])
                if j >= t.n {
                    XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j], "wrote outside C at (\(i), \(j)) for \(t)")
                    continue
                }
                var ref = 0.0, mag = 0.0
                for kk in 0..<t.k {
                    let p = Double(a[i * lda + kk]) * Double(w[j * ldw + kk])
                    ref += p; mag += abs(p)
                }
                if t.bias { ref += Double(bias[j]); mag += abs(Double(bias[j])) }
                if t.accumulate { ref += Double(c0[i * ldc + j]); mag += abs(Double(c0[i * ldc + j])) }
                worst = max(worst, abs(got - ref) / max(mag, 1e-30))
            }
        }
        return worst
    }

    /// Runs `body` once per micro-kernel this CPU can execute (AVX2 always,
    /// AVX-512 where the CPU has it), naming the kernel; says so when AVX-512
    /// cannot be checked here.
    func forEachKernel(_ body: (String) throws -> Void) rethrows {
        let saved = PackedGemm.useAVX512
        defer { PackedGemm.useAVX512 = saved }
        PackedGemm.useAVX512 = false
        try body("avx2")
        guard CPUFeatures.current().avx512 else {
            print("[tensors] this CPU has no AVX-512: the AVX-512 packed kernel was not exercised")
            return
        }
        PackedGemm.useAVX512 = true
        try body("avx512")
    }

    func testMatchesNaiveOracleOnOddSizes() {
        forEachKernel { kernel in
            var rng = Rng(seed: 11)
            var worst = 0.0
            for m in [1, 3, 6, 7, 8, 9, 17, 64] {
                for (n, k) in [(1, 1), (5, 7), (16, 64), (33, 131), (100, 300), (8, 17), (32, 5), (48, 9)] {
                    for (bias, acc) in [(false, false), (true, false), (false, true), (true, true)] {
                        let e = check(Case(m: m, n: n, k: k, bias: bias, accumulate: acc), rng: &rng)
                        XCTAssertLessThan(e, Self.relativeTolerance,
                                          "\(kernel): m \(m) n \(n) k \(k) bias \(bias) accumulate \(acc)")
                        worst = max(worst, e)
                    }
                }
            }
            print("[tensors] packed GEMM (\(kernel)) max error / Σ|a·w| = \(worst)")
        }
    }

    /// Large enough to take the parallel path (split over output panels).
    func testParallelPathMatchesOracle() {
        var rng = Rng(seed: 12)
        let saved = Parallel.workers
        Parallel.workers = 2
        defer { Parallel.workers = saved }
        forEachKernel { kernel in
            let e = check(Case(m: 64, n: 517, k: 256, bias: true, accumulate: true), rng: &rng)
            print("[tensors] packed GEMM (\(kernel), parallel) max error / Σ|a·w| = \(e)")
            XCTAssertLessThan(e, Self.relativeTolerance, kernel)
        }
    }

    /// Panel ranges cover disjoint column blocks: two halves equal one call.
    func testPanelRangesComposeToTheFullProduct() {
        forEachKernel { kernel in panelRangesCompose(kernel) }
    }

    /// Odd panel ranges put single panels where the AVX-512 kernel pairs them;
    /// each column's FMA sequence is the same either way, so bits match.
    func panelRangesCompose(_ kernel: String) {
        var rng = Rng(seed: 13)
        let m = 17, n = 70, k = 45
        let a = (0..<(m * k)).map { _ in Float(rng.uniform() * 2 - 1) }
        let w = (0..<(n * k)).map { _ in Float(rng.uniform() * 2 - 1) }
        let packed = FlatBuffer(count: PackedGemm.packedCount(n: n, k: k))
        let pm = w.withUnsafeBufferPointer { PackedGemm.pack($0.baseAddress!, n: n, k: k, into: packed.pointer) }
        let whole = FlatBuffer(count: m * n), parts = FlatBuffer(count: m * n)
        a.withUnsafeBufferPointer { ap in
            PackedGemm.multiply(m: m, a: ap.baseAddress!, lda: k, b: pm, panels: 0..<pm.panels, bias: nil,
                                c: whole.pointer, ldc: n, accumulate: false)
            PackedGemm.multiply(m: m, a: ap.baseAddress!, lda: k, b: pm, panels: 3..<pm.panels, bias: nil,
                                c: parts.pointer, ldc: n, accumulate: false)
            PackedGemm.multiply(m: m, a: ap.baseAddress!, lda: k, b: pm, panels: 1..<3, bias: nil,
                                c: parts.pointer, ldc: n, accumulate: false)
            PackedGemm.multiply(m: m, a: ap.baseAddress!, lda: k, b: pm, panels: 0..<1, bias: nil,
                                c: parts.pointer, ldc: n, accumulate: false)
        }
        XCTAssertEqual(whole.toArray(), parts.toArray(), kernel)
    }
}
