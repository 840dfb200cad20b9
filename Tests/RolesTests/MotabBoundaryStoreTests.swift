import Configs
import Objectives
@testable import Roles
import XCTest

/// What the persistent boundary statistics are made of: the kept student
/// tokens' entropies, and on the teacher side the teacher's entropies or, for
/// `teacher_logratio`, log π_S − log π_T of those tokens.
final class MotabBoundaryStoreTests: XCTestCase {
    /// Three tokens: two student tokens (the second's teacher log-prob unknown: NaN) and one teacher token.
    static let completion = MotabCompletion(tokens: [5, 6, 7, 8], logProbs: [-1, -2, -0.5, -0.25], entropies: [0.3, 0.7, 0.9, 0.1],
                                            provenance: [0, 0, 1, 0], teacherLogProbs: [-1.5, .nan, -0.4, -3],
                                            interventions: [], finishReason: .stop)

    /// The values as the store sees them: Float, widened to Double.
    static func widened(_ xs: [Float]) -> [Double] { xs.map(Double.init) }

    func testLogRatioStatisticsAreOfTheKeptStudentTokens() throws {
        let store = try XCTUnwrap(MotabBoundaryStore(mode: .global, decay: 0.9, teacherLogRatio: true))
        var c = Self.completion
        c.teacherEntropies = [9, 9, 9, 9]  // ignored for the log-ratio
        store.fold([c], keys: [store.key("chain:4")])
        var student = PersistentBoundary(decay: 0.9), teacher = PersistentBoundary(decay: 0.9)
        student.fold(Self.widened([0.3, 0.7, 0.1]), key: "all")
        teacher.fold(Self.widened([0.5, 2.75]), key: "all")  // tokens 0 and 3; token 1 has no teacher log-prob, token 2 is the teacher's
        XCTAssertEqual(store.student, student)
        XCTAssertEqual(store.teacher, teacher)
    }

    func testEntropyStatisticsUseTheTeachersEntropies() throws {
        let store = try XCTUnwrap(MotabBoundaryStore(mode: .family, decay: 0.9))
        var c = Self.completion
        c.teacherEntropies = [0.2, 0.4, 0.6, 0.8]
        store.fold([c, Self.completion], keys: ["chain:4", "chain:6"])  // the second has no teacher entropies
        var teacher = PersistentBoundary(decay: 0.9)
        teacher.fold(Self.widened([0.2, 0.4, 0.8]), key: "chain:4")
        XCTAssertEqual(store.teacher, teacher)
        XCTAssertEqual(Set(store.student.statistics.keys), ["chain:4", "chain:6"])
        XCTAssertNil(MotabBoundaryStore(mode: .rollout, decay: 0.9), "nothing persists per rollout")
    }
}
