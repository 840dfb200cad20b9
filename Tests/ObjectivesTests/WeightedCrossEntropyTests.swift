import Foundation
import Layers
import Objectives
import Tensors
import XCTest

/// Signed token weights: hand values, a Double oracle with finite differences,
/// and equality with plain cross-entropy when every weight is 1.
final class WeightedCrossEntropyTests: XCTestCase {
    /// Value vs the Double oracle, relative. Measured 1.1e-8.
    static let valueTolerance = 1e-6
    /// dlogits vs central differences (h = 1e-5) of the oracle, relative to
    /// the largest entry. Measured 3.8e-8.
    static let gradientTolerance = 1e-6
    /// Hand values on a 2- and 3-token vocabulary (fp32 dlogits). Measured 5.0e-9.
    static let handTolerance = 1e-7

    /// The loss in Double, straight from the formula.
    func oracle(_ logits: [Double], targets: [Int32], weights: [Float], vocab V: Int) -> Double {
        var total = 0.0, norm = 0.0
        for r in 0..<targets.count where targets[r] >= 0 && weights[r] != 0 {
            let row = Array(logits[r * V..<(r + 1) * V]), y = Int(targets[r])
            let m = row.max()!
            let logZ = m + log(row.map { exp($0 - m) }.reduce(0, +))
            let w = Double(weights[r])
            if w > 0 {
                total += w * (logZ - row[y])
            } else {
                let rest = (0..<V).filter { $0 != y }.map { exp(row[$0] - logZ) }.reduce(0, +)
                total += -w * -log(max(rest, WeightedCrossEntropy.unlikelihoodEpsilon))
            }
            norm += abs(w)
        }
        return norm > 0 ? total / norm : 0
    }

    func run(_ logits: [Float], targets: [Int32], weights: [Float], vocab: Int, normalizer: Double? = nil) -> (Double, [Float]) {
        var buffer = logits
        let value = buffer.withUnsafeMutableBufferPointer { p in
            WeightedCrossEntropy.loss(targets: targets, weights: weights, normalizer: normalizer)(
                LogitsBlock(rows: targets.count, vocab: vocab, data: p.baseAddress!))
        }
        return (value, buffer)
    }

    func testHandValuesOnATinyVocabulary() {
        var worst = 0.0
        func check(_ v: Double, _ expected: Double) { XCTAssertEqual(v, expected, accuracy: Self.handTolerance); worst = max(worst, abs(v - expected)) }
        // Uniform over 2 tokens: π = 1/2, so −log π = −log(1 − π) = log 2.
        var (v, g) = run([0, 0], targets: [0], weights: [1], vocab: 2)
        check(v, log(2))
        worst = max(worst, assertClose(g.map(Double.init), [-0.5, 0.5], accuracy: Self.handTolerance))
        (v, g) = run([0, 0], targets: [0], weights: [-1], vocab: 2)
        check(v, log(2))
        worst = max(worst, assertClose(g.map(Double.init), [0.5, -0.5], accuracy: Self.handTolerance))
        // Uniform over 3, Φ = −0.5, summed: 0.5·(−log(2/3)); ∂/∂z_y = 0.5·(1/3),
        // ∂/∂z_j = −0.5·(1/3)·(1/3)/(2/3) = −1/12.
        (v, g) = run([0, 0, 0], targets: [0], weights: [-0.5], vocab: 3, normalizer: 1)
        check(v, 0.5 * log(1.5))
        worst = max(worst, assertClose(g.map(Double.init), [1.0 / 6, -1.0 / 12, -1.0 / 12], accuracy: Self.handTolerance))
        // Default normalizer Σ|Φ|: rows Φ = 2 and Φ = −1 on the uniform 2-token row
        // give (2·log 2 + 1·log 2) / 3.
        (v, _) = run([0, 0, 0, 0], targets: [1, 0], weights: [2, -1], vocab: 2)
        check(v, log(2))
        print("[objectives] weighted cross-entropy hand values max error \(worst)")
    }

    func testValueAndGradientAgainstTheDoubleOracle() {
        let V = 29
        var rng = Rng(seed: 15)
        let targets: [Int32] = [3, -1, 28, 0, 12, 7, 5]
        let weights: [Float] = [1, 0.7, -0.4, 0.5, -1, 0, 2]
        let logits = (0..<targets.count * V).map { _ in Float(rng.uniform() * 6 - 3) }
        let (value, grad) = run(logits, targets: targets, weights: weights, vocab: V)
        var x = logits.map(Double.init)
        let ref = oracle(x, targets: targets, weights: weights, vocab: V)
        print("[objectives] weighted cross-entropy value error \(abs(value - ref) / abs(ref)) relative")
        XCTAssertEqual(value, ref, accuracy: Self.valueTolerance * abs(ref))
        var maxErr = 0.0, maxRef = 0.0
        for i in 0..<x.count {
            let keep = x[i]
            x[i] = keep + 1e-5; let up = oracle(x, targets: targets, weights: weights, vocab: V)
            x[i] = keep - 1e-5; let down = oracle(x, targets: targets, weights: weights, vocab: V)
            x[i] = keep
            let fd = (up - down) / 2e-5
            maxErr = max(maxErr, abs(fd - Double(grad[i]))); maxRef = max(maxRef, abs(fd))
        }
        print("[objectives] weighted cross-entropy dlogits max error \(maxErr / maxRef) relative")
        XCTAssertLessThan(maxErr / maxRef, Self.gradientTolerance)
    }

    func testZeroWeightRowsContributeNothing() {
        let V = 16
        var rng = Rng(seed: 8)
        let logits = (0..<4 * V).map { _ in Float(rng.uniform() * 4 - 2) }
        let (a, ga) = run(logits, targets: [1, 2, 3, 4], weights: [1, 0, -0.5, 0.25], vocab: V)
        let (b, gb) = run(logits, targets: [1, -1, 3, 4], weights: [1, 0.9, -0.5, 0.25], vocab: V)
        XCTAssertEqual(a.bitPattern, b.bitPattern)
        XCTAssertEqual(ga.map(\.bitPattern), gb.map(\.bitPattern))
        XCTAssertTrue(ga[V..<2 * V].allSatisfy { $0 == 0 })
        let (z, gz) = run(logits, targets: [1, 2, 3, 4], weights: [0, 0, 0, 0], vocab: V)
        XCTAssertEqual(z, 0)
        XCTAssertTrue(gz.allSatisfy { $0 == 0 })
    }

    func testUnlikelihoodIsBoundedAndItsGradientFinite() {
        // π(y) = 1 − O(e⁻⁶⁰): the value stops at log(1/ε); the gradient still pushes z_y down.
        let (v, g) = run([30, -30, -30], targets: [0], weights: [-1], vocab: 3)
        XCTAssertEqual(v, -log(WeightedCrossEntropy.unlikelihoodEpsilon), accuracy: 1e-9)
        XCTAssertTrue(g.allSatisfy(\.isFinite))
        XCTAssertEqual(Double(g[0]), 1, accuracy: Self.handTolerance)
        XCTAssertEqual(Double(g[1] + g[2]), -1, accuracy: Self.handTolerance)
    }
}

/// Element-wise `XCTAssertEqual(_:_:accuracy:)` for Double arrays; returns
/// the largest absolute difference so tests can print what they measured.
@discardableResult
func assertClose(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) -> Double {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    var worst = 0.0
    for (x, y) in zip(a, b) {
        XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line)
        worst = max(worst, abs(x - y))
    }
    return worst
}
