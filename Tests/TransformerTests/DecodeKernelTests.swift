import Foundation
import Layers
import Platform
import Tensors
import XCTest

/// The decode attention kernel on transposed keys against a Double oracle.
final class DecodeKernelTests: XCTestCase {
    /// Max abs error of the attention output (values in [-1, 1]): fp32 dot
    /// products, vectorised exp (≤ 2e-7 rel) and sums; measured 1.0e-7.
    static let attentionTolerance = 2e-6

    /// Both kernels: AVX2, and AVX-512 where the CPU has it (head dims 6 and 40
    /// take its scores but not its value sum; 32 and 64 take both).
    func testTransposedKeyAttentionMatchesDoubleOracle() {
        let saved = PackedGemm.useAVX512, cpuHasAVX512 = CPUFeatures.current().avx512
        defer { PackedGemm.useAVX512 = saved }
        for wide in cpuHasAVX512 ? [false, true] : [false] {
            PackedGemm.useAVX512 = wide
            checkTransposedKeyAttention(kernel: wide ? "avx512" : "avx2")
        }
        if !cpuHasAVX512 { print("[decoding] no AVX-512 on this CPU: only the AVX2 attention was checked") }
    }

    func checkTransposedKeyAttention(kernel: String) {
        var rng = Rng(seed: 5)
        var worst = 0.0
        for hd in [32, 40, 6, 64, 7] {
            for n in [1, 2, 7, 8, 9, 13, 31, 32, 33, 64, 100] {
                let maxLen = 101, stride = 2 * hd + 3
                // Blocked transposed keys with NaN in every unused lane: masking must remove them.
                var keysT = [Float](repeating: .nan, count: hd * CachedAttention.paddedCount(maxLen))
                var keys = [[Double]](repeating: [], count: n)
                for j in 0..<n {
                    for d in 0..<hd {
                        let x = Float(rng.uniform() * 2 - 1)
                        keysT[(j / 8) * hd * 8 + d * 8 + j % 8] = x; keys[j].append(Double(x))
                    }
                }
                let values = (0..<(maxLen * stride)).map { _ in Float(rng.uniform() * 2 - 1) }
                let q = (0..<hd).map { _ in Float(rng.uniform() * 4 - 2) }
                let scale = 1 / Float(hd).squareRoot()
                var scores = [Float](repeating: 0, count: CachedAttention.paddedCount(maxLen))
                var out = [Float](repeating: 0, count: hd)
                CachedAttention.attendTransposed(q: q, keysT: keysT, values: values, stride: stride, count: n,
                                                 headDim: hd, scale: scale, scores: &scores, out: &out)
                let s = (0..<n).map { j in (0..<hd).map { Double(q[$0]) * keys[j][$0] }.reduce(0, +) * Double(scale) }
                let m = s.max()!
                let e = s.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
                for d in 0..<hd {
                    var ref = 0.0
                    for j in 0..<n { ref += e[j] / z * Double(values[j * stride + d]) }
                    worst = max(worst, abs(Double(out[d]) - ref))
                }
            }
        }
        print("[decoding] transposed-key attention (\(kernel)) max abs error \(worst)")
        XCTAssertLessThan(worst, Self.attentionTolerance, kernel)
    }
}
