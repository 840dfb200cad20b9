@testable import Roles
import XCTest

/// The report printed at the end of `ispo-cluster run`.
final class FinalReportTests: XCTestCase {
    func testGreedyAtOneStandsNextToTheSampledMetrics() {
        let first: [String: Double] = ["val-core/addition:2/acc/mean@8": 0.25, "val-core/addition:2/acc/pass@8": 0.5,
                                       "val-core/addition:2/acc/greedy@1": 0.375, "val-core/all/ref_loss": 1.25,
                                       "actor/pg_loss": 3]
        var last = first
        last["val-core/addition:2/acc/greedy@1"] = 0.5
        let lines = FinalReport.lines([(0, first), (30, last)], runDirectory: "runs/x")
        XCTAssertEqual(lines, [
            "",
            "final report (validation on held-out prompts; metrics in runs/x/metrics.jsonl)",
            "  val-core/addition:2/acc/greedy@1: step 0 37.5% → step 30 50.0%",
            "  val-core/addition:2/acc/mean@8: step 0 25.0% → step 30 25.0%",
            "  val-core/addition:2/acc/pass@8: step 0 50.0% → step 30 50.0%",
            "  val-core/all/ref_loss: step 0 1.2500 → step 30 1.2500",
        ])
    }

    func testOneEvaluationAndNone() {
        let m: [String: Double] = ["val-core/all/acc/greedy@1": 0.125]
        XCTAssertEqual(FinalReport.lines([(4, m)], runDirectory: "r").last, "  val-core/all/acc/greedy@1: step 4 12.5%")
        XCTAssertEqual(FinalReport.lines([], runDirectory: "r"), [])
    }
}
