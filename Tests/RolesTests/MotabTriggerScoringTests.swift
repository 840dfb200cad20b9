@testable import Roles
import Tasks
import XCTest

/// The trigger precision/recall definition of `MotabTriggerScoring` on
/// hand-made chain traces (Q:5,+3,*2,-4 → T:5+3=8;8*2=16;16-4=12 A:12), and
/// the batch metrics on hand-made completions.
final class MotabTriggerScoringTests: XCTestCase {
    let family = ChainTask(steps: 3)
    var problem: SyntheticProblem { family.problem(start: 5, ops: [.add(3), .mul(2), .sub(4)]) }

    /// One character per token, as with the char codec.
    func pieces(_ s: String) -> [String] { s.map { String($0) } }

    func judge(kept: String, discarded: String) throws -> Bool {
        let c = try MotabTriggerScoring.score(family: family, problem: problem, pieces: pieces(kept + "A:12\n"),
                                              provenance: [], interventions: [(kept.count, pieces(discarded))])
        return c.truePositives == 1
    }

    func testReferenceIsWhatWeThinkItIs() throws {
        XCTAssertEqual(problem.thinking, "T:5+3=8;8*2=16;16-4=12\n")
        XCTAssertNil(try MotabTriggerScoring.firstWrongOffset(family: family, problem: problem, text: problem.completion))
    }

    func testTruePositiveWhenTheWrongStepIsDiscarded() throws {
        // Backtrack to the start of step 1; the discarded text has 8*2=17.
        XCTAssertTrue(try judge(kept: "T:5+3=8;", discarded: "8*2=17;16"))
        // Backtracking further than needed still counts ("at or before").
        XCTAssertTrue(try judge(kept: "T:", discarded: "5+3=8;8*2=17"))
        // An unfinished step that is not a prefix of its reference is wrong.
        XCTAssertTrue(try judge(kept: "T:5+3=8;", discarded: "8*3"))
        // An answer line before the last step: the missing step is wrong at the A: line.
        XCTAssertTrue(try judge(kept: "T:5+3=8;8*2=16\n", discarded: "A:16\n"))
        // A step beyond the reference is wrong.
        XCTAssertTrue(try judge(kept: "T:5+3=8;8*2=16;16-4=12;", discarded: "12+1=13"))
    }

    func testFalsePositives() throws {
        // False alarm: the unfinished step is a prefix of the right one.
        XCTAssertFalse(try judge(kept: "T:5+3=8;", discarded: "8*2=1"))
        // False alarm: every discarded step is right.
        XCTAssertFalse(try judge(kept: "T:5+3=8;", discarded: "8*2=16;"))
        // The error is in the kept prefix, so the backtrack does not remove it.
        XCTAssertFalse(try judge(kept: "T:5+3=9;", discarded: "9*2=18;"))
    }

    func testMissesArePerRolloutAndAttributedByProvenance() throws {
        let final = "T:5+3=8;8*2=17;17-4=13\nA:13\n"
        let student = [Int32](repeating: 0, count: final.count)
        var c = try MotabTriggerScoring.score(family: family, problem: problem, pieces: pieces(final), provenance: student, interventions: [])
        XCTAssertEqual(c, MotabTriggerScoring.Counts(truePositives: 0, falsePositives: 0, misses: 1))
        // The same wrong step written by the teacher (offsets 8..<15) is not the student's miss.
        var teacher = student
        for i in 8..<15 { teacher[i] = 1 }
        c = try MotabTriggerScoring.score(family: family, problem: problem, pieces: pieces(final), provenance: teacher, interventions: [])
        XCTAssertEqual(c.misses, 0)
        // A correct final trace has no miss.
        c = try MotabTriggerScoring.score(family: family, problem: problem, pieces: pieces(problem.completion), provenance: [], interventions: [])
        XCTAssertEqual(c.misses, 0)
    }

    func testPrecisionAndRecallAddUp() throws {
        // Rollout 1: a true positive, then the spliced trace is right.
        let r1 = try MotabTriggerScoring.score(family: family, problem: problem, pieces: pieces(problem.completion), provenance: [],
                                               interventions: [(8, pieces("8*2=17;1"))])
        // Rollout 2: a false alarm, and later an error nobody caught.
        let final2 = "T:5+3=8;8*2=16;16-4=11\nA:11\n"
        let r2 = try MotabTriggerScoring.score(family: family, problem: problem, pieces: pieces(final2),
                                               provenance: [Int32](repeating: 0, count: final2.count),
                                               interventions: [(8, pieces("8*2"))])
        // Rollout 3: a true positive at the very start.
        let r3 = try MotabTriggerScoring.score(family: family, problem: problem, pieces: pieces(problem.completion), provenance: [],
                                               interventions: [(2, pieces("5+4=9;"))])
        let total = r1 + r2 + r3
        XCTAssertEqual(total, MotabTriggerScoring.Counts(truePositives: 2, falsePositives: 1, misses: 1))
        XCTAssertEqual(total.precision!, 2.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(total.recall!, 2.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(Set(total.values.keys), ["motab/trigger_precision", "motab/trigger_recall"])
        XCTAssertNil(MotabTriggerScoring.Counts().precision)
    }

    func testBatchMetrics() {
        func completion(_ prov: [Int32], _ discarded: [Int]) -> MotabCompletion {
            MotabCompletion(tokens: prov.map { _ in 3 }, logProbs: prov.map { _ in 0 }, entropies: prov.map { _ in 0 },
                            provenance: prov, teacherLogProbs: prov.map { _ in .nan },
                            interventions: discarded.map { MotabIntervention(position: 0, firstViolation: 0,
                                                                             discarded: [Int32](repeating: 4, count: $0), teacherTokens: 1) },
                            finishReason: .stop)
        }
        let m = MotabMetrics.batch([completion([0, 1, 1, 0], [3, 5]), completion([0, 0, 0, 0, 0, 0], []),
                                    completion([1, 0], [4])])
        XCTAssertEqual(m["motab/interventions_per_rollout"], 1)
        XCTAssertEqual(m["motab/rollback_depth"], 4)
        XCTAssertEqual(m["motab/teacher_token_frac"], 0.25)
        XCTAssertEqual(m["motab/intervened_rollout_frac"], 2.0 / 3)
    }
}
