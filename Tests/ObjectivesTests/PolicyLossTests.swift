import Foundation
import Layers
import Objectives
import Tensors
import XCTest

/// The clipped-surrogate policy loss: value against the Double oracle, dlogits
/// against its central finite differences, in every aggregation mode with every
/// KL estimator, clipping on both sides, dual clip, entropy bonus, weights and
/// masked rows; then the structural identities (ratio 1, learner split).
final class PolicyLossTests: XCTestCase {
    /// Value error ÷ the summed magnitudes of its terms. Measured ≤ 1.4e-8.
    static let valueTolerance = 1e-6
    /// dlogits, max error ÷ max |reference| (finite differences, h = 1e-5, or the
    /// closed form at ratio 1). Measured ≤ 1.1e-7 (FD), 1.6e-7 (ratio 1).
    static let gradientTolerance = 1e-6

    static let modes: [LossAggregation] = [.tokenMean, .seqMeanTokenMean, .seqMeanTokenSumNorm(maxLength: 7)]

    func testValueAndGradientEveryModeAndKLEstimator() {
        let c = PolicyCase()
        var worstValue = 0.0, worstGrad = 0.0
        for mode in Self.modes {
            for kl in KLEstimator.allCases {
                let config = PolicyLossConfig(klLossCoef: 0.3, klEstimator: kl, entropyCoeff: 0.2, aggregation: mode)
                let n = mode.localNormalizer(targets: c.inputs.targets, sequenceIds: c.inputs.sequenceIds)
                let (value, grad) = PolicyLossOracle.run(c.logits, vocab: PolicyCase.vocab, inputs: c.inputs,
                                                         config: config, normalizer: n)
                let ref = PolicyLossOracle.loss(c.logits.map(Double.init), vocab: PolicyCase.vocab,
                                                inputs: c.inputs, config: config, normalizer: n)
                // Relative to the sum of the terms' magnitudes: surrogate, KL and
                // entropy partly cancel, and the error is absolute (fp32 row sums).
                let size = PolicyLossOracle.loss(c.logits.map(Double.init), vocab: PolicyCase.vocab, inputs: c.inputs,
                                                 config: config, normalizer: n, magnitudes: true)
                let valueErr = abs(value - ref) / size
                let gradErr = PolicyLossOracle.gradientError(c.logits, grad: grad, vocab: PolicyCase.vocab,
                                                             inputs: c.inputs, config: config, normalizer: n)
                XCTAssertLessThan(valueErr, Self.valueTolerance, "\(mode.verlName) \(kl.rawValue) value")
                XCTAssertLessThan(gradErr, Self.gradientTolerance, "\(mode.verlName) \(kl.rawValue) dlogits")
                worstValue = max(worstValue, valueErr); worstGrad = max(worstGrad, gradErr)
                for r in PolicyCase.maskedRows {
                    XCTAssertTrue(grad[r * PolicyCase.vocab..<(r + 1) * PolicyCase.vocab].allSatisfy { $0 == 0 })
                }
            }
        }
        print("[objectives] policy loss (3 modes × 3 KL, entropy, weights) value \(worstValue) rel, dlogits \(worstGrad) rel")
    }

    /// Surrogate alone, no dual clip: the ρ = 4.5, Â < 0 row now has a gradient;
    /// the ratio-clipped rows still have none.
    func testPureSurrogateWithoutDualClip() {
        let c = PolicyCase(seed: 11)
        let plain = PolicyLossInputs(targets: c.inputs.targets, oldLogProbs: c.inputs.oldLogProbs,
                                     advantages: c.inputs.advantages)
        let V = PolicyCase.vocab
        for dual in [3.0, nil] as [Double?] {
            let config = PolicyLossConfig(clipRatioC: dual)
            let n = config.aggregation.localNormalizer(targets: plain.targets, sequenceIds: nil)
            let (value, grad) = PolicyLossOracle.run(c.logits, vocab: V, inputs: plain, config: config, normalizer: n)
            let ref = PolicyLossOracle.loss(c.logits.map(Double.init), vocab: V, inputs: plain, config: config, normalizer: n)
            XCTAssertEqual(value, ref, accuracy: Self.valueTolerance * abs(ref))
            XCTAssertLessThan(PolicyLossOracle.gradientError(c.logits, grad: grad, vocab: V, inputs: plain,
                                                             config: config, normalizer: n), Self.gradientTolerance)
            let zeroRows = PolicyCase.clippedRows + (dual == nil ? [] : PolicyCase.dualRows) + PolicyCase.maskedRows
            for r in 0..<plain.targets.count {
                let rowIsZero = grad[r * V..<(r + 1) * V].allSatisfy { $0 == 0 }
                XCTAssertEqual(rowIsZero, zeroRows.contains(r), "row \(r), dual clip \(String(describing: dual))")
            }
        }
    }

    /// With π_old = π_θ the ratio is 1, nothing clips, and the gradient is the
    /// policy gradient −Â (onehot − p) / n.
    func testRatioOneGivesAdvantageWeightedLogSoftmaxGradient() {
        let c = PolicyCase(seed: 3), V = PolicyCase.vocab, rows = c.inputs.targets.count
        var logits = c.logits
        let (old, _) = logits.withUnsafeMutableBufferPointer {
            PolicyLoss.targetLogProbs(LogitsBlock(rows: rows, vocab: V, data: $0.baseAddress!), targets: c.inputs.targets)
        }
        let inputs = PolicyLossInputs(targets: c.inputs.targets, oldLogProbs: old, advantages: c.inputs.advantages)
        let n = 11.0
        let metrics = PolicyLossMetrics()
        let (value, grad) = PolicyLossOracle.run(logits, vocab: V, inputs: inputs, config: PolicyLossConfig(),
                                                 normalizer: n, metrics: metrics)
        var expectedValue = 0.0, scale = 0.0, maxErr = 0.0, maxRef = 0.0
        for r in 0..<rows where inputs.targets[r] >= 0 {
            let row = logits[r * V..<(r + 1) * V].map(Double.init), m = row.max()!
            let z = row.map { exp($0 - m) }.reduce(0, +)
            let a = Double(inputs.advantages[r])
            expectedValue += -a / n; scale += abs(a) / n
            for v in 0..<V {
                let expected = -a * ((v == Int(inputs.targets[r]) ? 1 : 0) - exp(row[v] - m) / z) / n
                maxErr = max(maxErr, abs(Double(grad[r * V + v]) - expected)); maxRef = max(maxRef, abs(expected))
            }
        }
        print("[objectives] ratio-1 gradient vs −Â(onehot − p)/n: \(maxErr / maxRef) relative")
        XCTAssertLessThan(maxErr / maxRef, Self.gradientTolerance)
        // −Σ Â/n nearly cancels; old log-probs are fp32 (ρ − 1 ~ 1e-7), so
        // compare against the size of the terms. Measured 8e-8 of Σ|Â|/n.
        XCTAssertEqual(value, expectedValue, accuracy: 1e-6 * scale)
        XCTAssertEqual(metrics.values["actor/pg_clipfrac"], 0)
        XCTAssertEqual(metrics.values["actor/ratio_mean"]!, 1, accuracy: 1e-6)
        XCTAssertEqual(metrics.values["actor/ppo_kl"]!, 0, accuracy: 1e-6)
        XCTAssertEqual(logits, c.logits, "targetLogProbs must leave the logits untouched")
    }

    /// Two learners holding halves of the batch, each with the global
    /// normalizer, sum to the one-learner loss and gradient. Each row's gradient
    /// depends only on its row, its sequence and n, so the rows match exactly.
    func testSplitAcrossLearnersMatchesOneLearner() {
        let c = PolicyCase(seed: 5), V = PolicyCase.vocab
        let split = 5   // the boundary between sequences 0 and 1
        func part(_ range: Range<Int>) -> PolicyLossInputs {
            PolicyLossInputs(targets: Array(c.inputs.targets[range]), oldLogProbs: Array(c.inputs.oldLogProbs[range]),
                             advantages: Array(c.inputs.advantages[range]), refLogProbs: Array(c.inputs.refLogProbs![range]),
                             sequenceIds: Array(c.inputs.sequenceIds![range]), weights: Array(c.inputs.weights![range]))
        }
        let halves = [part(0..<split), part(split..<c.inputs.targets.count)]
        for mode in Self.modes {
            let config = PolicyLossConfig(klLossCoef: 0.1, entropyCoeff: 0.05, aggregation: mode)
            let global = halves.map { mode.localNormalizer(targets: $0.targets, sequenceIds: $0.sequenceIds) }.reduce(0, +)
            XCTAssertEqual(global, mode.localNormalizer(targets: c.inputs.targets, sequenceIds: c.inputs.sequenceIds))
            let whole = PolicyLossOracle.run(c.logits, vocab: V, inputs: c.inputs, config: config, normalizer: global)
            let first = PolicyLossOracle.run(Array(c.logits[0..<split * V]), vocab: V, inputs: halves[0],
                                             config: config, normalizer: global)
            let second = PolicyLossOracle.run(Array(c.logits[(split * V)...]), vocab: V, inputs: halves[1],
                                              config: config, normalizer: global)
            XCTAssertEqual(first.0 + second.0, whole.0, accuracy: 1e-12 * abs(whole.0), mode.verlName)
            XCTAssertEqual(first.1 + second.1, whole.1, mode.verlName)
        }
    }

    func testMetricsCountClipsAndMatchTheLossParts() {
        let c = PolicyCase()
        let config = PolicyLossConfig(klLossCoef: 0.3, klEstimator: .k1, entropyCoeff: 0.2)
        let metrics = PolicyLossMetrics()
        let (value, _) = PolicyLossOracle.run(c.logits, vocab: PolicyCase.vocab, inputs: c.inputs, config: config,
                                              normalizer: 11, metrics: metrics)
        let m = metrics.values
        XCTAssertEqual(metrics.tokens, 11)
        XCTAssertEqual(m["actor/pg_clipfrac"]!, 3.0 / 11, accuracy: 1e-12)
        XCTAssertEqual(m["actor/pg_clipfrac_lower"]!, 1.0 / 11, accuracy: 1e-12)
        XCTAssertEqual(m["actor/ratio_max"]!, 4.5, accuracy: 1e-5)
        XCTAssertEqual(m["actor/ratio_min"]!, 0.6, accuracy: 1e-5)
        let logRatios = PolicyCase.layout.filter { !$0.masked }.map { log($0.ratio) }
        XCTAssertEqual(m["actor/ppo_kl"]!, -logRatios.reduce(0, +) / 11, accuracy: 1e-5)
        // The loss is exactly its reported parts.
        XCTAssertEqual(m["actor/pg_loss"]! + 0.3 * m["actor/kl_loss"]! - 0.2 * m["actor/entropy"]!, value, accuracy: 1e-12)
        XCTAssertEqual(m["actor/entropy"]!, m["actor/entropy_token_mean"]!, accuracy: 1e-12)
        // Parts with only the surrogate (no KL, no entropy) match the oracle.
        let pgOnly = PolicyLossConfig(klEstimator: .k1)
        XCTAssertEqual(m["actor/pg_loss"]!, PolicyLossOracle.loss(c.logits.map(Double.init), vocab: PolicyCase.vocab,
                                                                 inputs: c.inputs, config: pgOnly, normalizer: 11),
                       accuracy: 1e-6)
        // Merging two calls adds sums and keeps extremes.
        let twice = PolicyLossMetrics()
        twice.merge(metrics); twice.merge(metrics)
        XCTAssertEqual(twice.values["actor/pg_loss"]!, 2 * m["actor/pg_loss"]!, accuracy: 1e-12)
        XCTAssertEqual(twice.values["actor/pg_clipfrac"]!, m["actor/pg_clipfrac"]!, accuracy: 1e-12)
        XCTAssertNil(PolicyLossMetrics().values["actor/pg_loss"])
    }

    func testTargetLogProbsAndEntropiesMatchDouble() {
        let c = PolicyCase(seed: 9), V = PolicyCase.vocab, rows = c.inputs.targets.count
        var logits = c.logits
        let (lp, ent) = logits.withUnsafeMutableBufferPointer {
            PolicyLoss.targetLogProbs(LogitsBlock(rows: rows, vocab: V, data: $0.baseAddress!), targets: c.inputs.targets)
        }
        XCTAssertEqual(logits, c.logits)
        var maxErr = 0.0
        for r in 0..<rows {
            guard c.inputs.targets[r] >= 0 else { XCTAssertEqual(lp[r], 0); XCTAssertEqual(ent[r], 0); continue }
            let row = logits[r * V..<(r + 1) * V].map(Double.init), m = row.max()!
            let logp = row.map { $0 - m - log(row.map { exp($0 - m) }.reduce(0, +)) }
            maxErr = max(maxErr, abs(Double(lp[r]) - logp[Int(c.inputs.targets[r])]))
            maxErr = max(maxErr, abs(Double(ent[r]) + logp.map { exp($0) * $0 }.reduce(0, +)))
        }
        print("[objectives] target log-probs and entropies: \(maxErr) abs")
        XCTAssertLessThan(maxErr, 1e-6)   // measured 1.9e-7: fp32 outputs of size ~3
    }

    func testBlockWithoutResponseRowsIsZero() {
        var logits: [Float] = [1, 2, 3, 4, 5, 6]
        let inputs = PolicyLossInputs(targets: [-1, -1], oldLogProbs: [0, 0], advantages: [1, 1])
        let value = logits.withUnsafeMutableBufferPointer {
            PolicyLoss.loss(inputs, config: PolicyLossConfig(), normalizer: 0)(LogitsBlock(rows: 2, vocab: 3, data: $0.baseAddress!))
        }
        XCTAssertEqual(value, 0)
        XCTAssertEqual(logits, [0, 0, 0, 0, 0, 0])
    }

    func testExtremeLogitsStayFinite() {
        var row: [Float] = [1000, -1000, 0, 50, 3, 2, 1, 0, -5, 7]
        let inputs = PolicyLossInputs(targets: [1], oldLogProbs: [-2000], advantages: [-1], refLogProbs: [0])
        let config = PolicyLossConfig(klLossCoef: 0.1, entropyCoeff: 0.1)
        let v = row.withUnsafeMutableBufferPointer {
            PolicyLoss.loss(inputs, config: config, normalizer: 1)(LogitsBlock(rows: 1, vocab: 10, data: $0.baseAddress!))
        }
        XCTAssertTrue(v.isFinite)
        XCTAssertTrue(row.allSatisfy { $0.isFinite })
    }

    func testVerlNamesRoundTrip() {
        for mode in Self.modes { XCTAssertEqual(LossAggregation(verlName: mode.verlName, maxLength: 7), mode) }
        XCTAssertNil(LossAggregation(verlName: "seq-mean-token-sum", maxLength: 7))
        XCTAssertEqual(KLEstimator(verlName: "k3"), .k3)
        XCTAssertEqual(KLEstimator(verlName: "low_var_kl"), .k3)
        XCTAssertEqual(KLEstimator(verlName: "mse"), .k2)
        XCTAssertEqual(KLEstimator(verlName: "kl"), .k1)
        XCTAssertNil(KLEstimator(verlName: "full"))
    }
}
