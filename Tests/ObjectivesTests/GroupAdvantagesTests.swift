import Foundation
import Objectives
import XCTest

/// Group advantages (GRPO / Dr.GRPO), zero-std diagnostics, DAPO overlong
/// shaping and dynamic sampling, all checked against values worked by hand.
final class GroupAdvantagesTests: XCTestCase {
    /// Hand-computed values are exact up to a few Double roundings.
    static let tolerance = 1e-12

    // Group 0: {1, 0, 0, 1}, mean ½, unbiased std √(4·¼ / 3) = 1/√3.
    // Group 1: all equal. Group 7: {0.5, 2, −1}, mean ½, std √((0 + 2.25 + 2.25) / 2) = 1.5.
    let rewards: [Double] = [1, 0, 0, 1, 1, 1, 1, 1, 0.5, 2, -1]
    let groups = [0, 0, 0, 0, 1, 1, 1, 1, 7, 7, 7]

    func testGRPOAdvantagesUseUnbiasedStd() {
        let adv = GroupAdvantages.compute(rewards: rewards, groupIds: groups, normalizeByStd: true)
        let s0 = 1 / 3.0.squareRoot() + 1e-6, s7 = 1.5 + 1e-6
        let expected = [0.5 / s0, -0.5 / s0, -0.5 / s0, 0.5 / s0, 0, 0, 0, 0, 0, 1.5 / s7, -1.5 / s7]
        for (a, e) in zip(adv, expected) { XCTAssertEqual(a, e, accuracy: Self.tolerance) }
        // An all-equal group is exactly zero, not merely small.
        XCTAssertTrue(adv[4..<8].allSatisfy { $0 == 0 })
    }

    func testDrGRPOOnlyCentres() {
        let adv = GroupAdvantages.compute(rewards: rewards, groupIds: groups, normalizeByStd: false)
        let expected = [0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0, 0, 1.5, -1.5]
        for (a, e) in zip(adv, expected) { XCTAssertEqual(a, e, accuracy: Self.tolerance) }
    }

    /// σ_min = 0 (the default) is the old formula to the bit: (R − mean) / (std + ε).
    func testStdFloorZeroIsBitIdenticalToPlainGRPO() {
        let noisy: [Double] = [0.013, 0.002, 0.0071, 0.0, 1.0, 0.2, 0.9, 0.3, 0.5, 2, -1]
        let stats = GroupAdvantages.groupStats(rewards: noisy, groupIds: groups)
        let byId = Dictionary(uniqueKeysWithValues: stats.map { ($0.groupId, $0) })
        let old = noisy.indices.map { i in (noisy[i] - byId[groups[i]]!.mean) / (byId[groups[i]]!.std + 1e-6) }
        let plain = GroupAdvantages.compute(rewards: noisy, groupIds: groups, normalizeByStd: true)
        let floored = GroupAdvantages.compute(rewards: noisy, groupIds: groups, normalizeByStd: true, stdFloor: 0)
        XCTAssertEqual(plain.map(\.bitPattern), old.map(\.bitPattern))
        XCTAssertEqual(floored.map(\.bitPattern), old.map(\.bitPattern))
    }

    /// A group whose std is below σ_min is divided by σ_min; one above it is untouched.
    func testStdFloorKeepsSmallDifferencesSmall() {
        // Group 0: {0.02, 0, 0, 0.02}: mean 0.01, std √(4·1e-4 / 3) = 0.011547 < 0.1.
        // Group 7: {0.5, 2, −1}: std 1.5 > 0.1, unchanged.
        let r: [Double] = [0.02, 0, 0, 0.02, 0.5, 2, -1]
        let g = [0, 0, 0, 0, 7, 7, 7]
        let adv = GroupAdvantages.compute(rewards: r, groupIds: g, normalizeByStd: true, stdFloor: 0.1)
        let d0 = 0.1 + 1e-6, d7 = 1.5 + 1e-6
        let expected = [0.01 / d0, -0.01 / d0, -0.01 / d0, 0.01 / d0, 0, 1.5 / d7, -1.5 / d7]
        for (a, e) in zip(adv, expected) { XCTAssertEqual(a, e, accuracy: Self.tolerance) }
        // Without the floor the same 0.02 spread becomes a unit-size advantage (≈ ±0.866).
        let plain = GroupAdvantages.compute(rewards: r, groupIds: g, normalizeByStd: true)
        XCTAssertEqual(plain[0], 0.01 / (0.0004 / 3).squareRoot(), accuracy: 1e-4)
        // Dr.GRPO ignores the floor: it never divides.
        XCTAssertEqual(GroupAdvantages.compute(rewards: r, groupIds: g, normalizeByStd: false, stdFloor: 0.1)[0], 0.01,
                       accuracy: Self.tolerance)
    }

    func testInterleavedGroupsAndCustomEpsilon() {
        let adv = GroupAdvantages.compute(rewards: [1, 4, 3, 8], groupIds: [3, 5, 3, 5], normalizeByStd: true, epsilon: 0)
        // Group 3: {1, 3}, mean 2, std √2; group 5: {4, 8}, mean 6, std √8.
        let expected = [-1 / 2.0.squareRoot(), -2 / 8.0.squareRoot(), 1 / 2.0.squareRoot(), 2 / 8.0.squareRoot()]
        for (a, e) in zip(adv, expected) { XCTAssertEqual(a, e, accuracy: Self.tolerance) }
    }

    func testGroupStatsAndZeroStdFraction() {
        let stats = GroupAdvantages.groupStats(rewards: rewards, groupIds: groups)
        XCTAssertEqual(stats.map(\.groupId), [0, 1, 7])
        XCTAssertEqual(stats.map(\.count), [4, 4, 3])
        XCTAssertEqual(stats[0].std, 1 / 3.0.squareRoot(), accuracy: Self.tolerance)
        XCTAssertEqual(stats[2].mean, 0.5, accuracy: Self.tolerance)
        XCTAssertEqual(GroupAdvantages.zeroStdFraction(rewards: rewards, groupIds: groups), 1.0 / 3, accuracy: Self.tolerance)
        // A spread below the threshold counts as zero; the threshold is a parameter.
        let near: [Double] = [1, 1 + 1e-9, 0, 1]
        XCTAssertEqual(GroupAdvantages.zeroStdFraction(rewards: near, groupIds: [0, 0, 1, 1]), 0.5)
        XCTAssertEqual(GroupAdvantages.zeroStdFraction(rewards: near, groupIds: [0, 0, 1, 1], threshold: 1e-12), 0)
        XCTAssertEqual(GroupAdvantages.zeroStdFraction(rewards: [], groupIds: []), 0)
    }

    func testOverlongPenaltyMatchesDAPO() {
        // Lmax 20, buffer 5: free up to 15, then −f·(L − 15)/5, −f from 20 on.
        let cases: [(Int, Double)] = [(10, 0), (15, 0), (16, -0.2), (18, -0.6), (20, -1), (25, -1)]
        for (length, expected) in cases {
            let p = OverlongShaping.penalty(responseLength: length, maxResponseLength: 20, bufferLength: 5, penaltyFactor: 1)
            XCTAssertEqual(p, expected, accuracy: Self.tolerance, "length \(length)")
            if length <= 20 {   // verl: min(−exceed_len / len · factor, 0)
                XCTAssertEqual(p, min(-Double(length - 15) / 5, 0), accuracy: Self.tolerance)
            }
        }
        let shaped = OverlongShaping.shape(rewards: [1, 1, 0], responseLengths: [12, 17, 20], maxResponseLength: 20,
                                           bufferLength: 5, penaltyFactor: 0.5)
        XCTAssertEqual(shaped[0], 1, accuracy: Self.tolerance)
        XCTAssertEqual(shaped[1], 0.8, accuracy: Self.tolerance)
        XCTAssertEqual(shaped[2], -0.5, accuracy: Self.tolerance)
    }

    func testDynamicSamplingDropsUniformGroups() {
        let values: [Double] = [1, 1, 1, 0, 1, 0, 0, 0, 2, 0.5, 0.25]
        let ids = [4, 4, 4, 1, 1, 1, 9, 9, 3, 6, 6]
        let sel = DynamicSampling.select(values: values, groupIds: ids)
        // 4 and 9 uniform → dropped; 1 and 6 vary; 3 is a single rollout, which verl keeps.
        XCTAssertEqual(sel.keptGroupIds, [1, 3, 6])
        XCTAssertEqual(sel.keptRows, [3, 4, 5, 8, 9, 10])
        XCTAssertEqual(sel.droppedGroups, 2)
        let none = DynamicSampling.select(values: [1, 1, 0, 0], groupIds: [0, 0, 1, 1])
        XCTAssertEqual(none.keptGroupIds, [])
        XCTAssertEqual(none.keptRows, [])
        XCTAssertEqual(none.droppedGroups, 2)
    }
}
