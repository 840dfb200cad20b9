import Foundation
import Layers
import Objectives
import Tensors
import XCTest

/// ISPO's `token` credit: δ_i by hand, δ placed on the critical tokens only,
/// and the policy loss with those per-token advantages against its Double
/// oracle and central finite differences.
final class TokenCreditTests: XCTestCase {
    func testRolloutTermsAreLambdaTimesGroupCentredTokenReward() {
        // Group 0 mean 0.3, group 5 mean 0.3 (interleaved ids).
        let r = [0.5, 0.2, 0.3, 0.1, 0.4, 0.3]
        let g = [0, 5, 0, 0, 5, 0]
        let d = TokenCredit.rolloutTerms(tokenRewards: r, groupIds: g, lambda: 0.2)
        let expected = [0.04, -0.02, 0, -0.04, 0.02, 0]
        for (a, e) in zip(d, expected) { XCTAssertEqual(a, e, accuracy: 1e-15) }
        // An all-equal group gets exactly 0.
        XCTAssertEqual(TokenCredit.rolloutTerms(tokenRewards: [0.7, 0.7], groupIds: [1, 1], lambda: 0.2), [0, 0])
    }

    func testPerTokenTermIsOnCriticalTokensOnly() {
        XCTAssertEqual(TokenCredit.perToken(term: 0.04, critical: [1, 3], responseLength: 5), [0, 0.04, 0, 0.04, 0])
        XCTAssertEqual(TokenCredit.perToken(term: 0.04, critical: [], responseLength: 3), [0, 0, 0])
    }

    /// Two rollouts of one all-wrong group: Â = 0, so the only gradient is the
    /// token term, on the critical rows, with the sign of δ. At ratio 1 the
    /// token-mean gradient of a row is −A_t/n·(onehot(y) − p); elsewhere ratios
    /// ≠ 1 are checked against finite differences of the oracle.
    func testPolicyLossWithTokenCreditMatchesHandAndFiniteDifferences() {
        let V = 7, rows = 8
        var rng = Rng(seed: 3)
        let logits = (0..<rows * V).map { _ in Float(rng.uniform() * 6 - 3) }
        let targets: [Int32] = (0..<rows).map { _ in Int32(rng.below(V)) }
        let logp = PolicyLossOracle.logProbs(logits.map(Double.init), vocab: V, targets: targets)
        // Rollout 0 = rows 0..<4 (critical 1, 2), rollout 1 = rows 4..<8 (critical 3); r_tok 0.6 and 0.2.
        let delta = TokenCredit.rolloutTerms(tokenRewards: [0.6, 0.2], groupIds: [0, 0], lambda: 0.2)
        XCTAssertEqual(delta[0], 0.04, accuracy: 1e-15); XCTAssertEqual(delta[1], -0.04, accuracy: 1e-15)
        let adv = TokenCredit.perToken(term: delta[0], critical: [1, 2], responseLength: 4)
            + TokenCredit.perToken(term: delta[1], critical: [3], responseLength: 4)
        let config = PolicyLossConfig()
        let n = config.aggregation.localNormalizer(targets: targets, sequenceIds: nil)
        // Ratio 1 everywhere: the closed form.
        let atOne = PolicyLossInputs(targets: targets, oldLogProbs: logp.map(Float.init), advantages: adv)
        let (value, grad) = PolicyLossOracle.run(logits, vocab: V, inputs: atOne, config: config, normalizer: n)
        XCTAssertEqual(value, -(0.04 + 0.04 - 0.04) / Double(rows), accuracy: 1e-7)
        for r in 0..<rows {
            let row = Array(logits[r * V..<(r + 1) * V]).map(Double.init)
            let m = row.max()!, z = row.map { exp($0 - m) }.reduce(0, +)
            for j in 0..<V {
                let p = exp(row[j] - m) / z
                let expected = -Double(adv[r]) / Double(rows) * ((j == Int(targets[r]) ? 1 : 0) - p)
                XCTAssertEqual(Double(grad[r * V + j]), expected, accuracy: 1e-7, "row \(r) logit \(j)")
            }
            if adv[r] == 0 { XCTAssertTrue(grad[r * V..<(r + 1) * V].allSatisfy { $0 == 0 }, "row \(r) is not critical") }
        }
        // Ratios away from 1 (one clipped: ρ 1.5 with A > 0) on top of a non-zero Â: finite differences.
        let ratios = [1.1, 1.5, 0.9, 1.0, 0.85, 1.2, 1.0, 0.7]
        let seqAdv: [Float] = [0.5, 0.5, 0.5, 0.5, -0.5, -0.5, -0.5, -0.5]
        let combined = zip(seqAdv, adv).map { $0 + $1 }
        let off = PolicyLossInputs(targets: targets, oldLogProbs: (0..<rows).map { Float(logp[$0] - log(ratios[$0])) },
                                   advantages: combined)
        let (v2, g2) = PolicyLossOracle.run(logits, vocab: V, inputs: off, config: config, normalizer: n)
        let ref = PolicyLossOracle.loss(logits.map(Double.init), vocab: V, inputs: off, config: config, normalizer: n)
        XCTAssertEqual(v2, ref, accuracy: 1e-6)
        let err = PolicyLossOracle.gradientError(logits, grad: g2, vocab: V, inputs: off, config: config, normalizer: n)
        XCTAssertLessThan(err, 1e-6)
    }
}
