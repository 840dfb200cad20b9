import Foundation
import Layers
import Objectives
import Tensors
import XCTest

/// Weighted cross-entropy: value against Double, dlogits against finite differences.
final class CrossEntropyTests: XCTestCase {
    /// Measured: value 2e-8 relative, dlogits 6e-8 relative to the largest entry.
    static let tolerance = 1e-6

    func reference(_ logits: [Double], targets: [Int32], weights: [Float], vocab V: Int) -> Double {
        var total = 0.0, norm = 0.0
        for r in 0..<targets.count where targets[r] >= 0 {
            let row = Array(logits[r * V..<(r + 1) * V])
            let m = row.max()!
            let logZ = m + log(row.map { exp($0 - m) }.reduce(0, +))
            total += Double(weights[r]) * (logZ - row[Int(targets[r])])
            norm += Double(weights[r])
        }
        return total / norm
    }

    func testValueAndGradientWithIgnoredAndZeroWeightRows() {
        let rows = 5, V = 37
        var rng = Rng(seed: 42)
        let logits = (0..<rows * V).map { _ in Float(rng.uniform() * 10 - 5) }
        let targets: [Int32] = [3, -1, 36, 0, 12]
        let weights: [Float] = [1, 1, 0.5, 0, 2]
        var buffer = logits
        let value = buffer.withUnsafeMutableBufferPointer { p in
            CrossEntropy.loss(targets: targets, weights: weights)(LogitsBlock(rows: rows, vocab: V, data: p.baseAddress!))
        }
        let ref = reference(logits.map(Double.init), targets: targets, weights: weights, vocab: V)
        XCTAssertEqual(value, ref, accuracy: Self.tolerance * abs(ref))
        var x = logits.map(Double.init)
        var maxErr = 0.0, maxRef = 0.0
        for i in 0..<x.count {
            let keep = x[i]
            x[i] = keep + 1e-5; let up = reference(x, targets: targets, weights: weights, vocab: V)
            x[i] = keep - 1e-5; let down = reference(x, targets: targets, weights: weights, vocab: V)
            x[i] = keep
            let fd = (up - down) / 2e-5
            maxErr = max(maxErr, abs(fd - Double(buffer[i]))); maxRef = max(maxRef, abs(fd))
        }
        print("[objectives] cross-entropy dlogits max error \(maxErr / maxRef) relative")
        XCTAssertLessThan(maxErr / maxRef, Self.tolerance)
        // Ignored and zero-weight rows get exactly zero gradient.
        XCTAssertTrue(buffer[V..<2 * V].allSatisfy { $0 == 0 })
        XCTAssertTrue(buffer[3 * V..<4 * V].allSatisfy { $0 == 0 })
    }

    func testExplicitNormalizerDividesTheSum() {
        let V = 4
        var a: [Float] = [1, 2, 3, 4, 0, 0, 0, 0]
        var b = a
        let tokenMean = a.withUnsafeMutableBufferPointer { CrossEntropy.loss(targets: [1, 2])(LogitsBlock(rows: 2, vocab: V, data: $0.baseAddress!)) }
        let summed = b.withUnsafeMutableBufferPointer { CrossEntropy.loss(targets: [1, 2], normalizer: 1)(LogitsBlock(rows: 2, vocab: V, data: $0.baseAddress!)) }
        XCTAssertEqual(summed, 2 * tokenMean, accuracy: 1e-9)
        XCTAssertEqual(b[0], 2 * a[0], accuracy: 1e-7)
    }

    func testExtremeLogitsStayFinite() {
        var row: [Float] = [1000, -1000, 0, 50]
        let v = row.withUnsafeMutableBufferPointer { CrossEntropy.loss(targets: [1])(LogitsBlock(rows: 1, vocab: 4, data: $0.baseAddress!)) }
        XCTAssertEqual(v, 2000, accuracy: 1e-3)
        XCTAssertTrue(row.allSatisfy { $0.isFinite })
    }
}
