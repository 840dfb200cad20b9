import Comm
import Configs
import Foundation
import Transformer

/// What a trainer step adds up on one learner: the gradient of its share of
/// a mini-batch, in micro-batches, and the sums behind the step's metrics.
protocol MicroBatchObjective: AnyObject {
    /// The loss normaliser of a whole mini-batch (all learners together).
    func normalizer(_ mini: [RolloutSample]) -> Double
    /// The order in which this learner processes its share (indices into the mini-batch).
    func order(_ share: [Int], of mini: [RolloutSample]) -> [Int]
    /// Accumulates the gradient of `samples` (the learner's share) into the
    /// model's gradients, which the trainer zeroed, and returns the sums of
    /// its metrics. `first` marks the first mini-batch of the first epoch.
    /// Every learner must return the same keys.
    func accumulate(samples: [RolloutSample], advantages: [Double], normalizer: Double, first: Bool) throws -> MetricSums
}

extension MicroBatchObjective {
    func order(_ share: [Int], of mini: [RolloutSample]) -> [Int] { share }
}

/// The one learner loop of every pipeline that trains on samples (RL,
/// distillation): `actor.ppo_epochs` epochs of mini-batches, this learner's
/// strided share of each, one ZeRO-1 step per mini-batch, the NaN policy
/// (`checkpoint.nan_policy`), and the metric sums reduced over the learners.
struct Trainer {
    let ctx: JobContext
    let optimizer: ShardedOptimizer
    /// The learners' communicator.
    let learners: Communicator

    /// What a whole update measured.
    struct Outcome {
        /// The mini-batches' sums, each reduced over the learners, added up.
        var sums = MetricSums()
        /// The sums of the first mini-batch of the first epoch alone.
        var first = MetricSums()
        /// Global gradient norm of the last optimizer step, before clipping.
        var gradNorm = 0.0
        /// Optimizer steps taken, and skipped for a non-finite gradient.
        var updates = 0, skipped = 0
    }

    /// Trains on `samples` (advantages aligned; zeros where a loss has none) at `lr`, RL or distill step `step`.
    func train(_ samples: [RolloutSample], advantages: [Double], lr: Double, step: Int,
               objective: MicroBatchObjective) throws -> Outcome {
        let a = ctx.config.actor
        let miniSize = max(1, a.ppoMiniBatchSize * ctx.config.rollout.n)
        let lc = learners
        var out = Outcome()
        for epoch in 0..<max(1, a.ppoEpochs) {
            var start = 0
            while start < samples.count {
                let end = min(samples.count, start + miniSize)
                let mini = Array(samples[start..<end]), miniAdv = Array(advantages[start..<end])
                let norm = objective.normalizer(mini)
                let share = objective.order(Array(stride(from: lc.rank, to: mini.count, by: lc.size)), of: mini)
                let first = epoch == 0 && start == 0
                if first && lc.rank == 0 && (ctx.observer?.shouldInjectNaNGradient(step: step) ?? false) {
                    optimizer.injectNonFiniteGradient = true
                }
                ctx.model.zeroGradients()
                let local = try objective.accumulate(samples: share.map { mini[$0] }, advantages: share.map { miniAdv[$0] },
                                                     normalizer: norm, first: first)
                let gradNorm = try optimizer.step(lr: lr, maxNorm: a.gradClip)
                let merged = try local.allreduced(over: lc)
                out.sums.merge(merged)
                if first { out.first = merged }
                out.gradNorm = gradNorm
                out.updates += 1
                if gradNorm.isFinite {
                    try ctx.checkParametersFinite(step: step)
                } else {
                    try applyNaNPolicy(gradNorm: gradNorm, step: step)
                    out.skipped += 1
                }
                start = end
            }
        }
        return out
    }

    /// A non-finite gradient norm: the optimizer left the parameters untouched
    /// on every learner (the norm is global); stop or go on per `checkpoint.nan_policy`.
    private func applyNaNPolicy(gradNorm: Double, step: Int) throws {
        if ctx.config.checkpoint.nanPolicy == .stop {
            throw JobError("step \(step): non-finite gradient norm (\(gradNorm)); the optimizer step was not applied and "
                           + "the run stops (checkpoint.nan_policy=stop). Resume from the last checkpoint "
                           + "(checkpoint.resume_mode=auto) with a lower actor.optim.lr, or set checkpoint.nan_policy=skip.")
        }
        if ctx.isLeader {
            print("ispo-cluster: step \(step): non-finite gradient norm (\(gradNorm)); optimizer step skipped (checkpoint.nan_policy=skip)")
        }
    }
}
