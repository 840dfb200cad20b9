import Foundation
import Layers
import Objectives
import Transformer

/// The GRPO-family loss of an RL update as a trainer objective: micro-batched
/// forward/backward with `PolicyLoss`, the optional KL reference, the
/// learner-vs-rollout log-prob check on the first mini-batch, and ISPO's
/// equal-outcome-group gradient norm.
final class PolicyObjective: MicroBatchObjective {
    let model: Model
    /// Frozen reference for the KL term (nil: no KL).
    let reference: Model?
    let optimizer: ShardedOptimizer
    let lossConfig: PolicyLossConfig
    let microBatchSize: Int
    let pad: Int32
    /// Groups whose outcomes are all equal: their samples go first in each share.
    let equalGroups: Set<Int>
    /// Whether their gradient norm is measured on its own (ISPO's diagnostic).
    let measuresEqualGroups: Bool
    /// ‖g‖ of the equal-outcome groups' samples at each optimizer step (same on every learner).
    private(set) var equalGroupNorms: [Double] = []

    init(model: Model, reference: Model?, optimizer: ShardedOptimizer, lossConfig: PolicyLossConfig,
         microBatchSize: Int, pad: Int32, equalGroups: Set<Int>, measuresEqualGroups: Bool) {
        self.model = model; self.reference = reference; self.optimizer = optimizer; self.lossConfig = lossConfig
        self.microBatchSize = max(1, microBatchSize); self.pad = pad; self.equalGroups = equalGroups
        self.measuresEqualGroups = measuresEqualGroups
    }

    /// Response tokens for token-mean, sequences with a response for the seq-mean modes.
    static func globalNormalizer(_ samples: [RolloutSample], aggregation: LossAggregation) -> Double {
        switch aggregation {
        case .tokenMean: return Double(samples.map(\.responseTokens.count).reduce(0, +))
        case .seqMeanTokenMean, .seqMeanTokenSumNorm: return Double(samples.filter { !$0.responseTokens.isEmpty }.count)
        }
    }

    func normalizer(_ mini: [RolloutSample]) -> Double { Self.globalNormalizer(mini, aggregation: lossConfig.aggregation) }

    /// Samples of equal-outcome groups first, so their gradient norm can be measured on its own.
    func order(_ share: [Int], of mini: [RolloutSample]) -> [Int] {
        let isEqual = { (k: Int) in self.equalGroups.contains(mini[k].groupId) }
        return share.filter(isEqual) + share.filter { !isEqual($0) }
    }

    func accumulate(samples: [RolloutSample], advantages: [Double], normalizer: Double, first: Bool) throws -> MetricSums {
        let metrics = PolicyLossMetrics()
        var absDiff = 0.0, diffTokens = 0
        // With the equal-group measurement, those samples get micro-batches of their own.
        let lead = measuresEqualGroups ? samples.filter { equalGroups.contains($0.groupId) }.count : nil
        var leadingNorm: Double?
        var start = 0
        while start < samples.count || (lead != nil && leadingNorm == nil) {
            if let lead, leadingNorm == nil, start >= lead {
                leadingNorm = try optimizer.accumulatedNorm()
                if start >= samples.count { break }
            }
            let limit = lead.map { start < $0 ? $0 : samples.count } ?? samples.count
            let end = min(limit, start + microBatchSize)
            let packed = PackedBatch(samples: Array(samples[start..<end]), advantages: Array(advantages[start..<end]), pad: pad)
            var refLogProbs: [Float]?
            if let reference, lossConfig.klLossCoef != 0 {
                refLogProbs = PolicyLoss.targetLogProbs(reference.forward(packed.batch), targets: packed.targets).logProbs
            }
            let inputs = PolicyLossInputs(targets: packed.targets, oldLogProbs: packed.oldLogProbs, advantages: packed.advantages,
                                          refLogProbs: refLogProbs, sequenceIds: packed.sequenceIndex.map(Int.init))
            let part = PolicyLossMetrics()
            let policy = PolicyLoss.loss(inputs, config: lossConfig, normalizer: normalizer, metrics: part)
            model.forwardBackward(batch: packed.batch) { block in
                if first {
                    let now = PolicyLoss.targetLogProbs(block, targets: packed.targets).logProbs
                    for r in 0..<packed.targets.count where packed.targets[r] >= 0 {
                        absDiff += Double(abs(now[r] - packed.oldLogProbs[r])); diffTokens += 1
                    }
                }
                return policy(block)
            }
            metrics.merge(part)
            start = end
        }
        if let leadingNorm { equalGroupNorms.append(leadingNorm) }
        var sums = Self.sums(metrics)
        if first {
            sums.add(Self.logProbDiffKey, absDiff)
            sums.add(Self.logProbTokensKey, Double(diffTokens))
        }
        return sums
    }

    static let logProbDiffKey = "rollout/logprob_abs_diff_sum", logProbTokensKey = "rollout/logprob_tokens"

    /// `PolicyLossMetrics` as named sums (the minimum ratio as the maximum of −ρ).
    static func sums(_ m: PolicyLossMetrics) -> MetricSums {
        var s = MetricSums()
        for (k, v) in [("tokens", m.tokens), ("pg_loss", m.pgLoss), ("kl_loss", m.klLoss), ("entropy_loss", m.entropyLoss),
                       ("clipped", m.clippedTokens), ("dual_clipped", m.dualClippedTokens), ("log_ratio", m.logRatioSum),
                       ("entropy", m.entropySum), ("ratio", m.ratioSum), ("has_kl", m.hasKL ? 1 : 0)] {
            s.add("policy/" + k, v)
        }
        s.raise("policy/ratio_max", m.ratioMax)
        s.raise("policy/neg_ratio_min", -m.ratioMin)
        return s
    }

    /// The named sums back as `PolicyLossMetrics` (for its verl-named `values`).
    static func metrics(_ s: MetricSums) -> PolicyLossMetrics {
        let m = PolicyLossMetrics()
        m.tokens = s["policy/tokens"]; m.pgLoss = s["policy/pg_loss"]; m.klLoss = s["policy/kl_loss"]
        m.entropyLoss = s["policy/entropy_loss"]; m.clippedTokens = s["policy/clipped"]
        m.dualClippedTokens = s["policy/dual_clipped"]; m.logRatioSum = s["policy/log_ratio"]
        m.entropySum = s["policy/entropy"]; m.ratioSum = s["policy/ratio"]; m.hasKL = s["policy/has_kl"] > 0
        m.ratioMax = s.maxima["policy/ratio_max"] ?? -.infinity
        m.ratioMin = -(s.maxima["policy/neg_ratio_min"] ?? -.infinity)
        return m
    }
}
