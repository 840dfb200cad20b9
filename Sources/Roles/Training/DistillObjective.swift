import Foundation
import Layers
import Objectives
import Transformer

/// The learner side of a `distill` step as a trainer objective: MOTAB's loss
/// (reverse KL on student tokens + α·CE on teacher tokens), or plain
/// cross-entropy on teacher traces (the `sft` baseline), in micro-batches.
final class DistillObjective: MicroBatchObjective {
    let model: Model
    /// Reverse-KL estimator on student tokens.
    let estimator: DistillationEstimator
    /// α, weight of the cross-entropy on teacher tokens.
    let alpha: Double
    /// Cross-entropy on every response token instead (teacher traces).
    let crossEntropyOnly: Bool
    let microBatchSize: Int
    let pad: Int32
    /// Importance ratio against the sampler's log-probs (`sampled` estimator).
    let useOldLogProbs: Bool

    init(model: Model, estimator: DistillationEstimator, alpha: Double, crossEntropyOnly: Bool, microBatchSize: Int,
         pad: Int32, useOldLogProbs: Bool) {
        self.model = model; self.estimator = estimator; self.alpha = alpha; self.crossEntropyOnly = crossEntropyOnly
        self.microBatchSize = max(1, microBatchSize); self.pad = pad; self.useOldLogProbs = useOldLogProbs
    }

    /// Token-mean: the mini-batch's response tokens over all learners.
    func normalizer(_ mini: [RolloutSample]) -> Double { Double(max(1, mini.map(\.responseTokens.count).reduce(0, +))) }

    func accumulate(samples: [RolloutSample], advantages: [Double], normalizer: Double, first: Bool) throws -> MetricSums {
        var loss = 0.0
        let metrics = DistillationLossMetrics()
        let V = model.config.vocabSize
        var start = 0
        while start < samples.count {
            let part = Array(samples[start..<min(samples.count, start + microBatchSize)])
            let packed = PackedBatch(samples: part, advantages: [Double](repeating: 0, count: part.count), pad: pad)
            let tokenLoss: TokenLoss
            if crossEntropyOnly {
                tokenLoss = CrossEntropy.loss(targets: packed.targets, normalizer: normalizer)
            } else {
                let inputs = MotabLossBatch.inputs(packed: packed, samples: part,
                                                   teacherLogProbs: estimator == .sampled ? part.map(\.teacherLogProbs) : nil,
                                                   teacherRows: estimator == .full ? part.map(\.teacherRows) : nil,
                                                   vocab: V, useOldLogProbs: useOldLogProbs)
                tokenLoss = DistillationLoss.loss(inputs, estimator: estimator, alpha: alpha, normalizer: normalizer,
                                                  metrics: metrics)
            }
            let value = model.forwardBackward(batch: packed.batch, loss: tokenLoss)
            loss += value
            if crossEntropyOnly {
                metrics.teacherTokens += Double(packed.responseTokens)
                metrics.teacherCrossEntropySum += value * normalizer
            }
            start += microBatchSize
        }
        var s = MetricSums()
        s.add("distill/loss", loss)
        s.add("distill/student_tokens", metrics.studentTokens)
        s.add("distill/teacher_tokens", metrics.teacherTokens)
        s.add("distill/reverse_kl", metrics.reverseKLSum)
        s.add("distill/teacher_ce", metrics.teacherCrossEntropySum)
        return s
    }

    /// The named sums back as `DistillationLossMetrics` (for its `motab/…` values).
    static func metrics(_ s: MetricSums) -> DistillationLossMetrics {
        let m = DistillationLossMetrics()
        m.studentTokens = s["distill/student_tokens"]; m.teacherTokens = s["distill/teacher_tokens"]
        m.reverseKLSum = s["distill/reverse_kl"]; m.teacherCrossEntropySum = s["distill/teacher_ce"]
        return m
    }
}
