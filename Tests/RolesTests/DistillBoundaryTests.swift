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

    /// A frozen copy of the student agrees with it on every token at step 1, so
    /// the log-ratios folded after step 1 are rounding (the student decodes on
    /// packed weights, the teacher scores through its prefix cache: measured
    /// |τ| printed, about 1e-6); the teacher's entropies there would be ~1–3 nats.
    static let frozenCopyLogRatioBound = 1e-3

    func testLogRatioTriggerKeepsStatisticsOfTheLogRatio() throws {
        let r = try DistillPipelineTests.runJob(layout: layout, ["distillation.mode=motab", "distillation.teacher_models=[student]",
                                                                 "distillation.trigger=teacher_logratio", "distillation.boundary=family"])
        defer { try? FileManager.default.removeItem(atPath: r.directory) }
        let m1 = try XCTUnwrap(r.steps[1]), m2 = try XCTUnwrap(r.steps[2])
        XCTAssertEqual(m1["motab/interventions_per_rollout"], 0, "no statistics before the first rollouts end")
        XCTAssertGreaterThan(try XCTUnwrap(m1["motab/teacher_monitor_tokens_per_rollout"]), 0, "the log-ratio was scored")
        let tau = try XCTUnwrap(m1["motab/boundary_teacher_tau"])
        print("[motab] teacher_logratio, frozen-copy teacher: step-1 boundary τ = \(tau)")
        XCTAssertLessThan(abs(tau), Self.frozenCopyLogRatioBound)
        XCTAssertNotNil(m2["motab/boundary_teacher_tau"])
        XCTAssertNotNil(m2["motab/interventions_per_rollout"])
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
