import Foundation
import Layers
import Objectives
import Transformer

/// One optimizer step of the policy on a learner: micro-batched
/// forward/backward with the GRPO-family loss, then the ZeRO-1 update.
public struct LearnerUpdate {
    /// The policy.
    public let model: Model
    /// Frozen reference for the KL term (nil: no KL).
    public let reference: Model?
    /// The sharded optimizer over the learners' communicator.
    public let optimizer: ShardedOptimizer
    /// Clipping, KL, entropy and aggregation settings.
    public let lossConfig: PolicyLossConfig
    /// Sequences per forward pass on this learner.
    public let microBatchSize: Int
    /// Global gradient-norm clip (≤ 0: off).
    public let gradClip: Double
    /// Padding id.
    public let pad: Int32

    /// Creates an update.
    public init(model: Model, reference: Model? = nil, optimizer: ShardedOptimizer, lossConfig: PolicyLossConfig, microBatchSize: Int,
                gradClip: Double, pad: Int32) {
        self.model = model; self.reference = reference; self.optimizer = optimizer; self.lossConfig = lossConfig
        self.microBatchSize = max(1, microBatchSize); self.gradClip = gradClip; self.pad = pad
    }

    /// The loss normaliser of a whole mini-batch (all learners): response
    /// tokens for token-mean, sequences with a response for the seq-mean modes.
    public static func globalNormalizer(_ samples: [RolloutSample], aggregation: LossAggregation) -> Double {
        switch aggregation {
        case .tokenMean: return Double(samples.map(\.responseTokens.count).reduce(0, +))
        case .seqMeanTokenMean, .seqMeanTokenSumNorm: return Double(samples.filter { !$0.responseTokens.isEmpty }.count)
        }
    }

    /// What one learner measured during a step; the sums add up across learners.
    public struct Outcome {
        /// Loss diagnostics (sums; merge across learners with `UpdateOutcomeReduction`).
        public var loss: PolicyLossMetrics
        /// Σ |log π_learner − log π_rollout| over response tokens, and their count.
        public var logProbAbsDiff: Double, logProbTokens: Double
        /// Global gradient norm before clipping (same on every learner).
        public var gradNorm: Double
        /// Global norm of the gradient of the leading samples alone (see `step`).
        public var leadingGradNorm: Double?
    }

    /// Accumulates gradients over this learner's `samples` in micro-batches and
    /// applies one optimizer step. `normalizer` is the whole mini-batch's.
    /// With `measureLeading` = n, the first n samples get micro-batches of
    /// their own and the global norm of their gradient contribution is measured
    /// before the rest is added (ISPO's equal-outcome-group diagnostic; every
    /// learner must pass a value, possibly 0, or every learner nil).
    public func step(samples: [RolloutSample], advantages: [Double], normalizer: Double, lr: Double,
                     measureLogProbDiff: Bool, measureLeading: Int? = nil) throws -> Outcome {
        model.zeroGradients()
        let metrics = PolicyLossMetrics()
        var absDiff = 0.0, diffTokens = 0
        var start = 0
        var leadingNorm: Double?
        let lead = measureLeading.map { min(max(0, $0), samples.count) }
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
                if measureLogProbDiff {
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
        let norm = try optimizer.step(lr: lr, maxNorm: gradClip)
        return Outcome(loss: metrics, logProbAbsDiff: absDiff, logProbTokens: Double(diffTokens), gradNorm: norm,
                       leadingGradNorm: leadingNorm)
    }
}
