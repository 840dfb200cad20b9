import Objectives
import XCTest

final class MotabPremiseSummaryTests: XCTestCase {
    func m(_ h: Double, _ ok: Bool) -> PremiseMeasure {
        PremiseMeasure(stepEntropy: h / 2, stepNLL: h, nextEntropy: h, continuationEntropy: h, correct: ok)
    }

    func testBinsByDepthWithMeansAndStandardErrors() {
        let records = [
            PremiseRecord(family: "chain:4", depth: 2, wrong: m(1, false), reference: m(0.1, true)),
            PremiseRecord(family: "chain:4", depth: 0, wrong: m(0.5, true), reference: m(0.2, true)),
            PremiseRecord(family: "chain:4", depth: 2, wrong: m(3, true), reference: m(0.3, false)),
        ]
        let rows = MotabPremiseSummary.rows(records)
        XCTAssertEqual(rows.map(\.depth), [0, 2])
        XCTAssertEqual(rows.map(\.count), [1, 2])
        XCTAssertEqual(rows[1].wrong.nextEntropy.mean, 2, accuracy: 1e-12)
        // s = √2 for {1, 3}; se = s/√2 = 1.
        XCTAssertEqual(rows[1].wrong.nextEntropy.se, 1, accuracy: 1e-12)
        XCTAssertEqual(rows[1].wrong.accuracy.mean, 0.5, accuracy: 1e-12)
        XCTAssertEqual(rows[1].reference.stepEntropy.mean, 0.1, accuracy: 1e-12)
        XCTAssertEqual(rows[0].wrong.nextEntropy.se, 0)
    }

    func testSpanMeanClampsToTheValues() {
        XCTAssertEqual(MotabPremiseSummary.spanMean([1, 2, 3, 4], 1..<3), 2.5, accuracy: 1e-12)
        XCTAssertEqual(MotabPremiseSummary.spanMean([1, 2], 1..<5), 2, accuracy: 1e-12)
        XCTAssertEqual(MotabPremiseSummary.spanMean([1, 2], 3..<5), 0)
    }
}
