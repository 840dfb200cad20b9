import Foundation
import Tensors
import XCTest

final class VectorMathTests: XCTestCase {
    /// exp8 vs Double exp over [-87, 88]: measured max relative error 1.2e-7.
    static let expTolerance = 4e-7

    func testExpAccuracyAndLimits() {
        var worst = 0.0
        var x: Float = -87
        while x < 88 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0013 })
            let y = VectorMath.exp8(lanes)
            for i in 0..<8 {
                let ref = Foundation.exp(Double(lanes[i]))
                worst = max(worst, abs(Double(y[i]) - ref) / ref)
            }
            x += 0.0173
        }
        print("[tensors] exp8 max relative error \(worst)")
        XCTAssertLessThan(worst, Self.expTolerance)
        XCTAssertEqual(VectorMath.exp(-200), 0)
        XCTAssertEqual(VectorMath.exp(200), .infinity)
        XCTAssertEqual(VectorMath.exp(0), 1)
    }

    func testReductionsMatchScalarLoops() {
        var rng = Rng(seed: 3)
        let a = (0..<45).map { _ in Float(rng.uniform() - 0.5) }, b = (0..<45).map { _ in Float(rng.uniform() - 0.5) }
        let dot = zip(a, b).map { Double($0) * Double($1) }.reduce(0, +)
        XCTAssertEqual(Double(VectorMath.dot(a, b, 45)), dot, accuracy: 1e-6)
        XCTAssertEqual(VectorMath.max(a, 45), a.max()!)
        var y = b
        VectorMath.axpy(2, a, &y, 45)
        for i in 0..<45 { XCTAssertEqual(y[i], b[i] + 2 * a[i], accuracy: 1e-6) }
    }
}

final class RandomTests: XCTestCase {
    func testStreamsAreReproducibleAndDistinct() {
        var a = Rng(seed: 7), b = Rng(seed: 7), c = Rng(seed: 8)
        let xa = (0..<5).map { _ in a.nextUInt64() }, xb = (0..<5).map { _ in b.nextUInt64() }
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, (0..<5).map { _ in c.nextUInt64() })
        // Changing any one coordinate changes the derived seed.
        let base = SeedMixer.derive(run: 1, step: 2, rank: 3, sample: 4)
        XCTAssertEqual(base, SeedMixer.derive(run: 1, step: 2, rank: 3, sample: 4))
        for other in [SeedMixer.derive(run: 2, step: 2, rank: 3, sample: 4), SeedMixer.derive(run: 1, step: 3, rank: 3, sample: 4),
                      SeedMixer.derive(run: 1, step: 2, rank: 4, sample: 4), SeedMixer.derive(run: 1, step: 2, rank: 3, sample: 5),
                      SeedMixer.derive(run: 1, step: 2, rank: 3, sample: 4, purpose: 1),
                      SeedMixer.derive(run: 1, step: 3, rank: 2, sample: 4)] {
            XCTAssertNotEqual(base, other)
        }
    }

    func testUniformAndNormalMoments() {
        var r = Rng(seed: 11)
        let n = 200_000
        var s = 0.0, s2 = 0.0
        for _ in 0..<n { let x = r.normal(); s += x; s2 += x * x }
        XCTAssertEqual(s / Double(n), 0, accuracy: 0.01)
        XCTAssertEqual(s2 / Double(n), 1, accuracy: 0.01)
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<50_000 { counts[r.below(5)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 400) }
    }
}
