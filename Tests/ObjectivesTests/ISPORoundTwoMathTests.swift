import Foundation
import Objectives
import XCTest

/// The round-two ISPO math: the centred sequence signal and I's spread, the
/// jitter control's variance and noise, and Spearman's rank correlation.
final class ISPORoundTwoMathTests: XCTestCase {
    func testCentredSequenceReward() {
        XCTAssertEqual(SequenceSignal.centredReward(information: 5.6, correct: true, centre: 5.5, scale: 0.2), tanh(0.5),
                       accuracy: 1e-12)
        XCTAssertEqual(SequenceSignal.centredReward(information: 5.6, correct: false, centre: 5.5, scale: 0.2), -tanh(0.5),
                       accuracy: 1e-12)
        // Below the running mean a correct rollout is ranked down.
        XCTAssertLessThan(SequenceSignal.centredReward(information: 5.4, correct: true, centre: 5.5, scale: 0.2), 0)
        // Centre 0 is the round-one (uncentred) reward.
        XCTAssertEqual(SequenceSignal.centredReward(information: 0.3, correct: true, centre: 0, scale: 0.5),
                       ISPOSignals.sequenceReward(information: 0.3, correct: true, scale: 0.5))
    }

    func testMeanWithinGroupStd() {
        // g0 {1, 3}: std √2; g1 one value: skipped; g2 {2, 2, 2}: 0.
        let s = SequenceSignal.meanWithinGroupStd([1, 5, 3, 2, 2, 2], groupIds: [0, 1, 0, 2, 2, 2])
        XCTAssertEqual(s, 2.0.squareRoot() / 2, accuracy: 1e-12)
        XCTAssertEqual(SequenceSignal.meanWithinGroupStd([1], groupIds: [0]), 0)
    }

    func testPooledWithinGroupVariance() {
        // g0 {1, 3}: SS 2, dof 1; g1 {0, 0, 3}: mean 1, SS 6, dof 2 → 8/3.
        XCTAssertEqual(RewardJitter.pooledWithinGroupVariance([1, 0, 3, 0, 3], groupIds: [0, 1, 0, 1, 1]), 8.0 / 3,
                       accuracy: 1e-12)
        XCTAssertEqual(RewardJitter.pooledWithinGroupVariance([], groupIds: []), 0)
    }

    func testNoiseIsSeededAndStandardNormal() {
        let a = RewardJitter.standardNormal(seed: 7, step: 3, index: 11)
        XCTAssertEqual(a, RewardJitter.standardNormal(seed: 7, step: 3, index: 11))
        XCTAssertNotEqual(a, RewardJitter.standardNormal(seed: 7, step: 3, index: 12))
        XCTAssertNotEqual(a, RewardJitter.standardNormal(seed: 8, step: 3, index: 11))
        XCTAssertNotEqual(a, RewardJitter.standardNormal(seed: 7, step: 4, index: 11))
        let n = 40_000
        let z = (0..<n).map { RewardJitter.standardNormal(seed: 1, step: $0 / 128, index: $0 % 128) }
        let mean = z.reduce(0, +) / Double(n)
        let variance = z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
        XCTAssertEqual(mean, 0, accuracy: 0.02)        // 4 standard errors
        XCTAssertEqual(variance, 1, accuracy: 0.03)    // ≈ 4 standard errors (√(2/n) = 0.007)
        // Variance 0 leaves the rewards bit-identical; otherwise R + √v·z.
        let r = [1.0, 0, 0, 1]
        XCTAssertEqual(RewardJitter.jittered(rewards: r, variance: 0, seed: 1, step: 2), r)
        let j = RewardJitter.jittered(rewards: r, variance: 0.04, seed: 1, step: 2)
        for i in r.indices {
            XCTAssertEqual(j[i], r[i] + 0.2 * RewardJitter.standardNormal(seed: 1, step: 2, index: i), accuracy: 1e-15)
        }
    }

    func testSpearman() {
        XCTAssertEqual(Spearman.ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1])
        XCTAssertEqual(Spearman.correlation([1, 2, 3], [10, 20, 30])!, 1, accuracy: 1e-12)
        XCTAssertEqual(Spearman.correlation([1, 2, 3], [3, 2, 1])!, -1, accuracy: 1e-12)
        // d² = 0 + 1 + 1 + 0 → ρ = 1 − 6·2 / (4·15) = 0.8.
        XCTAssertEqual(Spearman.correlation([1, 2, 3, 4], [1, 3, 2, 4])!, 0.8, accuracy: 1e-12)
        XCTAssertNil(Spearman.correlation([1, 2, 3], [4, 4, 4]))
        XCTAssertNil(Spearman.correlation([1], [2]))
        // Groups: g0 ρ = 1, g1 ρ = −1, g2 constant (undefined, skipped).
        let r = Spearman.meanWithinGroups([1, 2, 1, 2, 1, 2], [5, 6, 6, 5, 0, 0], groupIds: [0, 0, 1, 1, 2, 2])
        XCTAssertEqual(r.mean!, 0, accuracy: 1e-12)
        XCTAssertEqual(r.groups, 2)
    }
}
