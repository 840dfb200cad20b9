import Foundation
import Objectives
import XCTest

/// FLaG's live rules on hand values: p(wrong), the flag, the penalty, the filter, the metrics.
final class FLaGLiveRulesTests: XCTestCase {
    func testProbabilityWrongIsSigmoidOfMinusScore() {
        XCTAssertEqual(FLaGLiveRules.probabilityWrong(score: 0), 0.5, accuracy: 1e-15)
        XCTAssertEqual(FLaGLiveRules.probabilityWrong(score: log(3)), 0.25, accuracy: 1e-15)   // odds 3:1 for correct
        XCTAssertEqual(FLaGLiveRules.probabilityWrong(score: -log(3)), 0.75, accuracy: 1e-15)
        XCTAssertEqual(FLaGLiveRules.probabilityWrong(score: 800), 0, accuracy: 1e-300)          // no overflow
        XCTAssertEqual(FLaGLiveRules.probabilityWrong(score: -800), 1, accuracy: 1e-15)
    }

    func testPenaltyChangesOnlyScoredRewardsByLambdaTimesPWrong() {
        XCTAssertEqual(FLaGLiveRules.penalised(reward: 1, score: -log(3), lambda: 0.4), 1 - 0.4 * 0.75, accuracy: 1e-15)
        XCTAssertEqual(FLaGLiveRules.penalised(reward: 0, score: log(3), lambda: 2), -0.5, accuracy: 1e-15)
        XCTAssertEqual(FLaGLiveRules.penalised(reward: 0.7, score: nil, lambda: 2), 0.7)        // unscored: untouched
        XCTAssertEqual(FLaGLiveRules.penalised(reward: 0.7, score: -5, lambda: 0), 0.7)         // λ = 0: off
    }

    func testFilterDropsExactlyTheFlagged() {
        // p(wrong): 0.75, 0.25, unscored, 0.5 (not above 0.5), ≈0.993.
        let scores: [Double?] = [-log(3), log(3), nil, 0, -5]
        let oneGroup = [7, 7, 7, 7, 7]
        XCTAssertEqual(FLaGLiveRules.kept(scores: scores, groupIds: oneGroup, threshold: 0.5), [1, 2, 3])
        XCTAssertEqual(FLaGLiveRules.kept(scores: scores, groupIds: oneGroup, threshold: 0.8), [0, 1, 2, 3])
        // Only the unscored one survives: alone in its group, it goes too.
        XCTAssertEqual(FLaGLiveRules.kept(scores: scores, groupIds: oneGroup, threshold: 0.2), [])
        // Groups {0, 1} and {2, 3, 4}: group 0 keeps only index 1 (dropped, alone); group 1 keeps 2 and 3.
        XCTAssertEqual(FLaGLiveRules.kept(scores: scores, groupIds: [0, 0, 1, 1, 1], threshold: 0.5), [2, 3])
    }

    func testMetricsOnHandValues() {
        let scores: [Double?] = [2, 1, -1, nil, 0.5, -2]
        let outcomes: [Double] = [1, 0, 0, 1, 1, 0]
        let m = FLaGLiveRules.metrics(scores: scores, outcomes: outcomes, threshold: 0.5)
        XCTAssertEqual(m["flag/scored_frac"]!, 5.0 / 6, accuracy: 1e-15)
        XCTAssertEqual(m["flag/score_mean_correct"]!, 1.25, accuracy: 1e-15)
        XCTAssertEqual(m["flag/score_mean_wrong"]!, -2.0 / 3, accuracy: 1e-15)
        // Pairs (correct, wrong): 2 > {1, −1, −2}; 0.5 > {−1, −2}, < 1: 5 of 6.
        XCTAssertEqual(m["flag/auroc"]!, 5.0 / 6, accuracy: 1e-15)
        XCTAssertEqual(m["flag/frac_flagged"]!, 2.0 / 5, accuracy: 1e-15)   // S = −1, −2
        let pw = [2.0, 1, -1, 0.5, -2].map { 1 / (1 + exp($0)) }.reduce(0, +) / 5
        XCTAssertEqual(m["flag/p_wrong_mean"]!, pw, accuracy: 1e-15)
        // One class only: no AUROC; nothing scored: only the scored fraction.
        XCTAssertNil(FLaGLiveRules.metrics(scores: [1, 2], outcomes: [1, 1], threshold: 0.5)["flag/auroc"])
        XCTAssertEqual(FLaGLiveRules.metrics(scores: [nil], outcomes: [0], threshold: 0.5, prefix: "val-flag"), ["val-flag/scored_frac": 0])
    }
}
