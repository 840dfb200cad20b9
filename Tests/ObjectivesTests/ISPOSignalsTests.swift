import Foundation
@testable import Objectives
import Tensors
import XCTest

/// ISPO's signals against values computed by hand (METHODS §1).
final class ISPOSignalsTests: XCTestCase {
    /// Float log/exp round trips in these small sums stay below 1e-6.
    static let handTolerance = 1e-6

    func testTopFractionKeepsCeilOfRhoTimesNWithEarlierTokensWinningTies() {
        XCTAssertEqual(ISPOSignals.topFraction([0.1, 0.9, 0.5, 0.9, 0.2], fraction: 0.4), [1, 3])
        XCTAssertEqual(ISPOSignals.topFraction([0.1, 0.9, 0.5, 0.9, 0.2], fraction: 0.5), [1, 3, 2])  // ceil(2.5) = 3
        XCTAssertEqual(ISPOSignals.topFraction([3, 3, 3], fraction: 0.2), [0])  // at least one, ties → first
        XCTAssertEqual(ISPOSignals.topFraction([], fraction: 0.2), [])
    }

    func testCriticalSetIsTheIntersectionOrUnionAndFallsBackToTheEntropySet() {
        let H: [Float] = [2.0, 0.1, 1.5, 0.2, 1.0, 0.3, 0.4, 0.5, 0.6, 0.7]   // top 20%: {0, 2}
        let d: [Float] = [0.9, 0.0, 0.0, 0.0, 0.8, 0.0, 0.0, 0.0, 0.0, 0.0]   // top 20%: {0, 4}
        var s = ISPOSignals.Settings()
        XCTAssertEqual(ISPOSignals.criticalTokens(entropies: H, drifts: d, settings: s), [0])
        s.intersect = false
        XCTAssertEqual(ISPOSignals.criticalTokens(entropies: H, drifts: d, settings: s), [0, 2, 4])
        s.intersect = true
        let disjoint: [Float] = [0, 0, 0, 0, 0.8, 0, 0, 0.9, 0, 0]          // top 20%: {4, 7}
        XCTAssertEqual(ISPOSignals.criticalTokens(entropies: H, drifts: disjoint, settings: s), [0, 2])
        // Drift within rounding error of zero is no drift: the entropy set alone, in both modes.
        let noise: [Float] = [1e-7, 0, 3e-6, 0, 2e-7, 0, 0, 0, 5e-5, 0]
        XCTAssertEqual(ISPOSignals.criticalTokens(entropies: H, drifts: noise, settings: s), [0, 2])
        s.intersect = false
        XCTAssertEqual(ISPOSignals.criticalTokens(entropies: H, drifts: noise, settings: s), [0, 2])
    }

    func testDirectionalTokenRewardByHand() {
        let lp: [Float] = [log(0.5), log(0.8), log(0.95), log(0.5)]
        let H: [Float] = [3, 3, 1, 2]
        let s = ISPOSignals.Settings()  // κ = 0.7, γ = 1
        // Correct: exp(mean log π) over C = {0, 1} = √(0.5·0.8).
        let correct = ISPOSignals.tokenReward(correct: true, logProbs: lp, entropies: H, critical: [0, 1], vocabSize: 16, settings: s)
        XCTAssertEqual(correct, 0.4.squareRoot(), accuracy: Self.handTolerance)
        // Wrong over C = {2, 3}: mean(H/log 16) − mean(max(0, π − 0.7)) = (1 + 2)/(2·2.7725887) − (0.25 + 0)/2.
        let wrong = ISPOSignals.tokenReward(correct: false, logProbs: lp, entropies: H, critical: [2, 3], vocabSize: 16, settings: s)
        XCTAssertEqual(wrong, 3 / (2 * log(16.0)) - 0.125, accuracy: Self.handTolerance)
        var noHinge = s
        noHinge.hinge = false
        let wrongNoHinge = ISPOSignals.tokenReward(correct: false, logProbs: lp, entropies: H, critical: [2, 3],
                                                   vocabSize: 16, settings: noHinge)
        XCTAssertEqual(wrongNoHinge, 3 / (2 * log(16.0)), accuracy: Self.handTolerance)
        var symmetric = s
        symmetric.asymmetric = false
        let wrongSym = ISPOSignals.tokenReward(correct: false, logProbs: lp, entropies: H, critical: [2, 3],
                                               vocabSize: 16, settings: symmetric)
        XCTAssertEqual(wrongSym, -(0.95 * 0.5).squareRoot() - 0.125, accuracy: Self.handTolerance)
        XCTAssertEqual(ISPOSignals.tokenReward(correct: true, logProbs: lp, entropies: H, critical: [], vocabSize: 16, settings: s), 0)
    }

    func testSequenceSignalByHand() {
        let info = ISPOSignals.sequenceInformation(withThinking: [-0.1, -0.2], withoutThinking: [-1.0, -2.2])
        XCTAssertEqual(info, 1.45, accuracy: Self.handTolerance)
        XCTAssertEqual(ISPOSignals.sequenceReward(information: info, correct: true, scale: 1), tanh(1.45), accuracy: Self.handTolerance)
        XCTAssertEqual(ISPOSignals.sequenceReward(information: info, correct: false, scale: 2), -tanh(0.725), accuracy: Self.handTolerance)
        XCTAssertEqual(ISPOSignals.composite(outcome: 1, sequenceReward: 0.5, tokenReward: -0.25, lambdaSeq: 0.2, lambdaTok: 0.2),
                       1 + 0.1 - 0.05, accuracy: 1e-12)
    }

    func testRunningScaleIsTheUnbiasedStdOfAllValuesSeen() {
        var r = RunningScale()
        XCTAssertEqual(r.value, 1)
        r.add([1, 2])
        r.add([3, 4, .nan])
        XCTAssertEqual(r.count, 4)
        XCTAssertEqual(r.value, (5.0 / 3).squareRoot(), accuracy: 1e-12)  // Σ(x − 2.5)² = 5, n − 1 = 3
    }

    func testAGroupWithEqualOutcomesGetsNonZeroAdvantages() {
        // Four wrong rollouts: GRPO gives exactly zero; ISPO's signals separate them.
        let outcomes = [0.0, 0.0, 0.0, 0.0], groups = [7, 7, 7, 7]
        XCTAssertEqual(GroupAdvantages.compute(rewards: outcomes, groupIds: groups, normalizeByStd: true), [0, 0, 0, 0])
        let rSeq = [-0.3, 0.1, -0.8, 0.4], rTok = [0.2, 0.5, -0.1, 0.3]
        let rewards = (0..<4).map { ISPOSignals.composite(outcome: outcomes[$0], sequenceReward: rSeq[$0], tokenReward: rTok[$0],
                                                           lambdaSeq: 0.2, lambdaTok: 0.2) }
        let adv = GroupAdvantages.compute(rewards: rewards, groupIds: groups, normalizeByStd: true)
        XCTAssertTrue(adv.allSatisfy { abs($0) > 0.1 }, "\(adv)")
        XCTAssertGreaterThan(GroupAdvantages.zeroStdFraction(rewards: outcomes, groupIds: groups), 0.99)
        XCTAssertEqual(GroupAdvantages.zeroStdFraction(rewards: rewards, groupIds: groups), 0)
    }

    /// With λ_s + λ_t ≤ 0.4 every correct rollout outranks every wrong one, for
    /// any signals the functions can produce (random rollouts, all ablations).
    func testEveryCorrectRolloutOutranksEveryWrongOneWithinItsGroup() {
        var rng = Rng(seed: 11)
        let lambdas: [(Double, Double)] = [(0.2, 0.2), (0.4, 0), (0, 0.4), (0.1, 0.3)]
        for trial in 0..<400 {
            var s = ISPOSignals.Settings()
            s.asymmetric = trial % 2 == 0
            s.hinge = trial % 3 != 0
            s.intersect = trial % 5 != 0
            let (ls, lt) = lambdas[trial % lambdas.count]
            var correct: [Double] = [], wrong: [Double] = []
            for k in 0..<8 {
                let n = 1 + rng.below(30)
                let lp = (0..<n).map { _ in Float(log(max(1e-6, rng.uniform()))) }
                let H = (0..<n).map { _ in Float(rng.uniform() * log(64.0)) }
                let d = (0..<n).map { _ in Float(rng.uniform()) }
                let C = ISPOSignals.criticalTokens(entropies: H, drifts: d, settings: s)
                let isCorrect = k % 2 == 0
                let rTok = ISPOSignals.tokenReward(correct: isCorrect, logProbs: lp, entropies: H, critical: C, vocabSize: 64, settings: s)
                let info = rng.uniform() * 20 - 10
                let rSeq = ISPOSignals.sequenceReward(information: info, correct: isCorrect, scale: rng.uniform() + 0.01)
                let R = ISPOSignals.composite(outcome: isCorrect ? 1 : 0, sequenceReward: rSeq, tokenReward: rTok,
                                              lambdaSeq: ls, lambdaTok: lt)
                if isCorrect { correct.append(R) } else { wrong.append(R) }
            }
            XCTAssertGreaterThan(correct.min()!, wrong.max()!, "trial \(trial)")
        }
    }
}
