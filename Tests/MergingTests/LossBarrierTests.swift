import Merging
import XCTest

final class LossBarrierTests: XCTestCase {
    func testHeightAboveTheChord() {
        let alphas = LossBarrier.grid(4)
        XCTAssertEqual(alphas, [0, 0.25, 0.5, 0.75, 1])
        // Ends 1 and 3; the chord at 0.5 is 2; a bump to 5 there is a barrier of 3.
        XCTAssertEqual(LossBarrier.height(alphas: alphas, losses: [1, 1.5, 5, 2.5, 3]), 3, accuracy: 1e-12)
        // Linear (or convex) along the line: no barrier.
        XCTAssertEqual(LossBarrier.height(alphas: alphas, losses: [1, 1.5, 2, 2.5, 3]), 0, accuracy: 1e-12)
        XCTAssertEqual(LossBarrier.height(alphas: alphas, losses: [1, 1, 1, 2, 3]), 0, accuracy: 1e-12, "the ends are on the chord")
    }

    func testInterpolation() {
        let a: [Float] = [0, 2, -4], b: [Float] = [4, 2, 4]
        var out = [Float](repeating: 0, count: 3)
        LossBarrier.interpolate(a, b, count: 3, alpha: 0.25, into: &out)
        XCTAssertEqual(out, [1, 2, -2])
    }
}
