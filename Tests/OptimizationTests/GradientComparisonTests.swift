import Optimization
import XCTest

/// The anchors-vs-rest gradient diagnostic on vectors with known geometry.
final class GradientComparisonTests: XCTestCase {
    /// Cosines of small integer vectors in Double. Measured 1.1e-16 (one ulp near 0.7).
    static let tolerance = 1e-15

    func testGradientComparison() {
        let c = GradientComparison([3, 4], [-6, -8])
        XCTAssertEqual(c.normA, 5); XCTAssertEqual(c.normB, 10)
        XCTAssertEqual(c.normRatio, 0.5)
        XCTAssertEqual(c.cosine, -1, accuracy: Self.tolerance)
        let diagonal = GradientComparison([1, 1], [1, 0]).cosine
        print("[optimization] gradient cosine errors \(abs(c.cosine + 1)), \(abs(diagonal - 0.5.squareRoot()))")
        XCTAssertEqual(GradientComparison([1, 0], [0, 2]).cosine, 0)
        XCTAssertEqual(GradientComparison([1, 1], [1, 0]).cosine, 0.5.squareRoot(), accuracy: Self.tolerance)
        XCTAssertEqual(GradientComparison([0, 0], [1, 0]).cosine, 0)
        XCTAssertEqual(GradientComparison([0, 0], [0, 0]).normRatio, 0)
        XCTAssertEqual(GradientComparison([1, 0], [0, 0]).normRatio, .infinity)
    }
}
