import Foundation
import Layers
import Objectives
import Tensors
import XCTest

/// The policy loss against verl's formulas in float64 PyTorch
/// (Tests/Fixtures/make_grpo_fixtures.py): three configurations, each with
/// clip-higher, dual clip, KL, entropy bonus, weights and masked positions.
final class PolicyLossFixtureTests: XCTestCase {
    /// Loss relative, metrics relative to max(1, |value|). Measured ≤ 1.7e-8 (loss), 1.3e-8 (metrics).
    static let valueTolerance = 1e-6
    /// dlogits, max error ÷ max |reference|. Measured ≤ 1.1e-7.
    static let gradientTolerance = 1e-6

    struct Case: Decodable {
        struct Config: Decodable {
            let clipLow, clipHigh, clipC, entropyCoeff, klCoef: Double
            let aggregation, klType: String
        }
        let config: Config
        let rows, vocab: Int
        let logits: [Float]
        let targets: [Int32]
        let sequenceIds: [Int]
        let oldLogProbs, advantages, refLogProbs, weights: [Float]
        let loss: Double
        let dlogits: [Double]
        let metrics: [String: Double]
    }
    struct File: Decodable { let generator: String; let cases: [Case] }

    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/grpo_policy_loss.json")

    func testAgainstVerlFormulasInPyTorch() throws {
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: Self.path))
        XCTAssertEqual(file.cases.count, 3)
        var worstValue = 0.0, worstGrad = 0.0, worstMetric = 0.0
        for c in file.cases {
            let T = c.rows / (c.sequenceIds.last! + 1)   // verl's response_length: the max-length divisor
            let mode = try XCTUnwrap(LossAggregation(verlName: c.config.aggregation, maxLength: T))
            let config = PolicyLossConfig(clipRatioLow: c.config.clipLow, clipRatioHigh: c.config.clipHigh,
                                          clipRatioC: c.config.clipC, klLossCoef: c.config.klCoef,
                                          klEstimator: try XCTUnwrap(KLEstimator(verlName: c.config.klType)),
                                          entropyCoeff: c.config.entropyCoeff, aggregation: mode)
            let inputs = PolicyLossInputs(targets: c.targets, oldLogProbs: c.oldLogProbs, advantages: c.advantages,
                                          refLogProbs: c.refLogProbs, sequenceIds: c.sequenceIds, weights: c.weights)
            // Everything local: verl's agg_loss is our loss with the local
            // normalizer, except seq-mean-token-sum-norm, which verl does not
            // divide by the sequence count (n = 1).
            let n: Double
            if case .seqMeanTokenSumNorm = mode { n = 1 } else {
                n = mode.localNormalizer(targets: c.targets, sequenceIds: c.sequenceIds)
            }
            let metrics = PolicyLossMetrics()
            let (value, grad) = PolicyLossOracle.run(c.logits, vocab: c.vocab, inputs: inputs, config: config,
                                                     normalizer: n, metrics: metrics)
            let valueErr = abs(value - c.loss) / abs(c.loss)
            XCTAssertLessThan(valueErr, Self.valueTolerance, c.config.aggregation)
            let maxRef = c.dlogits.map(abs).max()!
            let gradErr = zip(grad, c.dlogits).map { abs(Double($0) - $1) }.max()! / maxRef
            XCTAssertLessThan(gradErr, Self.gradientTolerance, c.config.aggregation)
            for (name, expected) in c.metrics {
                let got = try XCTUnwrap(metrics.values[name], name)
                let err = abs(got - expected) / max(1, abs(expected))
                XCTAssertLessThan(err, Self.valueTolerance, "\(c.config.aggregation) \(name)")
                worstMetric = max(worstMetric, err)
            }
            worstValue = max(worstValue, valueErr); worstGrad = max(worstGrad, gradErr)
        }
        print("[reference] GRPO policy loss vs PyTorch (verl formulas): value \(worstValue) rel, dlogits \(worstGrad) rel, metrics \(worstMetric)")
    }
}
