import Foundation
@testable import Roles
import XCTest

/// The distill pipeline with round two's trigger options (#18): the boundary
/// kept across steps, and the random control.
final class DistillBoundaryTests: XCTestCase {
    let layout = { try! RankLayout(roles: [[.learner], [.rollout], [.rollout], [.teacher]]) }()

    func testFamilyBoundaryStartsEmptyThenCarriesOverSteps() throws {
        // The twitchy monitor of DistillPipelineTests fires at step 1 with a per-rollout boundary;
        // a persistent one has no statistics before the first rollouts end, so step 1 cannot fire.
        let r = try DistillPipelineTests.runJob(layout: layout, ["distillation.mode=motab", "distillation.teacher_models=[student]",
                                                                 "distillation.boundary=family"])
        defer { try? FileManager.default.removeItem(atPath: r.directory) }
        let m1 = try XCTUnwrap(r.steps[1]), m2 = try XCTUnwrap(r.steps[2])
        XCTAssertEqual(m1["motab/interventions_per_rollout"], 0)
        XCTAssertNotNil(m1["motab/boundary_student_tau"], "the statistics after step 1's rollouts")
        XCTAssertNotNil(m2["motab/boundary_student_tau"])
        XCTAssertNil(m1["motab/boundary_teacher_tau"], "the student trigger keeps no teacher statistics")
        XCTAssertNotNil(m1["motab/base_error_rate"])
    }

    func testRandomTriggerAtRateOneIntervenesWithoutAMonitor() throws {
        let r = try DistillPipelineTests.runJob(layout: layout, ["distillation.mode=motab", "distillation.teacher_models=[student]",
                                                                 "distillation.trigger=random", "distillation.random_rate=1",
                                                                 "distillation.max_interventions=1"])
        defer { try? FileManager.default.removeItem(atPath: r.directory) }
        let m1 = try XCTUnwrap(r.steps[1])
        XCTAssertEqual(try XCTUnwrap(m1["motab/interventions_per_rollout"]), 1, accuracy: 1e-12)
        XCTAssertEqual(m1["motab/teacher_triggered_frac"], 0)
        XCTAssertEqual(m1["motab/teacher_monitor_tokens_per_rollout"], 0)
        XCTAssertNil(m1["motab/boundary_student_tau"], "boundary=rollout keeps nothing")
    }
}
