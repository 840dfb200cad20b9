import Foundation
@testable import Roles
import XCTest

/// The `distill` pipeline with MOTAB's teacher-side trigger, as a whole job
/// over the loopback communicator (`DistillPipelineTests.runJob`: the same
/// tiny student, twitchy monitor and synthetic additions). The teacher is a
/// frozen copy of the student, so at step 1 its entropy on the student's
/// prefix is the student's own and the monitor fires as often.
final class TeacherTriggerPipelineTests: XCTestCase {
    static let motab = ["distillation.mode=motab", "distillation.teacher_models=[student]"]

    /// Every step logs the MOTAB metrics, whichever trigger ran.
    static let stepKeys = ["motab/interventions_per_rollout", "motab/rollback_depth", "motab/teacher_token_frac",
                           "motab/intervened_rollout_frac", "motab/teacher_triggered_frac",
                           "motab/teacher_monitor_tokens_per_rollout", "motab/teacher_requests", "actor/loss", "motab/reverse_kl"]

    func testTeacherTriggerWithTwoClientsOfARemoteTeacher() throws {
        // The older boolean spelling selects the teacher trigger.
        let layout = try RankLayout(roles: [[.learner], [.rollout], [.rollout], [.teacher]])
        let r = try DistillPipelineTests.runJob(layout: layout, Self.motab + ["distillation.teacher_trigger=true"])
        defer { try? FileManager.default.removeItem(atPath: r.directory) }
        XCTAssertEqual(Set(r.steps.keys), [1, 2])
        for step in [1, 2] {
            let m = try XCTUnwrap(r.steps[step])
            for key in Self.stepKeys { XCTAssertNotNil(m[key], "step \(step) lacks \(key)") }
            // Only the teacher monitor runs: every intervention is its, and it saw the responses.
            XCTAssertGreaterThan(m["motab/teacher_monitor_tokens_per_rollout"]!, 0, "step \(step)")
            if m["motab/interventions_per_rollout"]! > 0 { XCTAssertEqual(m["motab/teacher_triggered_frac"], 1, "step \(step)") }
        }
        let m1 = try XCTUnwrap(r.steps[1])
        XCTAssertGreaterThan(m1["motab/interventions_per_rollout"]!, 0, "the teacher monitor fires on the untrained student")
        XCTAssertGreaterThan(m1["motab/teacher_token_frac"]!, 0)
        XCTAssertGreaterThan(m1["motab/rollback_depth"]!, 0)
        XCTAssertNotNil(m1["motab/trigger_precision"], "teacher-triggered interventions on a synthetic family are scored")
        XCTAssertNotNil(m1["motab/teacher_ce"])
        print("[motab] teacher trigger, step 1: " + Self.stepKeys.prefix(6).map { "\($0)=\(m1[$0]!)" }.joined(separator: " "))
    }

    func testEitherTriggerWithALocalAndAServingTeacher() throws {
        // Rank 1 asks its own teacher; rank 2 asks rank 0's.
        let layout = try RankLayout(roles: [[.learner, .teacher], [.rollout, .teacher], [.rollout]])
        let r = try DistillPipelineTests.runJob(layout: layout, Self.motab + ["distillation.trigger=either"])
        defer { try? FileManager.default.removeItem(atPath: r.directory) }
        let m1 = try XCTUnwrap(r.steps[1])
        for key in Self.stepKeys { XCTAssertNotNil(m1[key], "step 1 lacks \(key)") }
        XCTAssertGreaterThan(m1["motab/interventions_per_rollout"]!, 0)
        XCTAssertGreaterThan(m1["motab/teacher_monitor_tokens_per_rollout"]!, 0)
        let byTeacher = try XCTUnwrap(m1["motab/teacher_triggered_frac"])
        XCTAssertTrue((0...1).contains(byTeacher))
        print("[motab] either trigger, step 1: " + Self.stepKeys.prefix(6).map { "\($0)=\(m1[$0]!)" }.joined(separator: " "))
    }
}
