import Foundation
@testable import Roles
import XCTest

/// Round two of MoT (issue #18): single-teacher runs per teacher, the
/// equal-epochs budget, and the per-round mechanism probes.
extension MoTPipelineTests {

    func testSingleTeacherRunsTrainOnTheirTeacherAndTheEpochsBudgetTakesFewerSteps() throws {
        // 12 traces per teacher in batches of 4: 3 steps per branch; `steps` gives a baseline 6, `epochs` 3.
        let t0 = try runMoT(["merge.baseline=teacher", "merge.teacher_index=0"])
        let t1 = try runMoT(["merge.baseline=teacher", "merge.teacher_index=1"])
        XCTAssertFalse(t0.parameters[0] == t1.parameters[0], "different teachers' traces give different students")
        XCTAssertTrue(t0.parameters[0] == t0.parameters[1], "every rank ends on the baseline's student")
        let most = try runMoT(["merge.baseline=single"])  // the older name of most_traces
        XCTAssertTrue(most.metricsLines.contains { $0.contains("\"mot/most_traces_teacher\"") })
        // The union of both teachers' 24 traces: one epoch is 6 steps, as many as both branches together.
        let steps = try runMoT(["merge.baseline=union"]), epochs = try runMoT(["merge.baseline=union", "merge.baseline_budget=epochs"])
        XCTAssertTrue(steps.parameters[0] == epochs.parameters[0], "one epoch of the union is the branches' total steps")
        let oneTeacherEpochs = try runMoT(["merge.baseline=teacher", "merge.teacher_index=0", "merge.baseline_budget=epochs"])
        XCTAssertFalse(oneTeacherEpochs.parameters[0] == t0.parameters[0], "3 steps per round instead of 6")
        XCTAssertThrowsError(try runMoT(["merge.baseline=teacher", "merge.teacher_index=2"])) { error in
            XCTAssertTrue("\(error)".contains("merge.teacher_index (2)"), "\(error)")
        }
    }

    func testProbesReportBranchAccuracyAndTheBarrierEveryRoundWithoutChangingTheMerge() throws {
        let plain = try runMoT([])
        let probed = try runMoT(["merge.probe_prompts=4"])
        XCTAssertTrue(plain.parameters[0] == probed.parameters[0], "probing restores each branch before the merge")
        let rounds = probed.metricsLines.filter { $0.contains("\"mot/round\"") }
        XCTAssertEqual(rounds.count, 2)
        for line in rounds {
            for key in ["mot/barrier/height", "mot/barrier/loss_0.50", "mot/branch_0/acc/addition:1", "mot/branch_1/acc/addition:1",
                        "mot/branch_0/loss"] {
                XCTAssertTrue(line.contains("\"\(key)\""), "\(key) missing in \(line)")
            }
        }
    }
}
