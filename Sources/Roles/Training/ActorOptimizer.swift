import Checkpoint
import Comm
import Configs
import Optimization
import Transformer

/// The actor's sharded AdamW (`actor.optim`), its learning-rate schedule and
/// its checkpoint shards: shared by the pipelines whose learners train the
/// policy on samples (RL, distill).
enum ActorOptimizer {
    /// A ZeRO-1 AdamW over the learners from `actor.optim`.
    static func make(model: Model, learners: Communicator, config: Config) -> ShardedOptimizer {
        let o = config.actor.optim
        let adam = AdamWConfig(lr: o.lr, beta1: o.betas.first ?? 0.9, beta2: o.betas.count > 1 ? o.betas[1] : 0.999,
                               eps: o.eps, weightDecay: o.weightDecay)
        return ShardedOptimizer(model: model, comm: learners, config: adam)
    }

    /// Learning rate of step `step` (1-based) from `actor.optim` over `trainer.total_steps`.
    static func lr(step: Int, config: Config) -> Double {
        let o = config.actor.optim, total = max(1, config.trainer.totalSteps ?? 1)
        let warm = o.lrWarmupSteps > 0 ? o.lrWarmupSteps : Int(o.lrWarmupStepsRatio * Double(total))
        let schedule = LRSchedule(peak: o.lr, warmupSteps: warm, totalSteps: total,
                                  minRatio: o.lrSchedulerType == .cosine ? o.minLrRatio : 1)
        return schedule.lr(at: step - 1)
    }

    /// This learner's moments as shard `optim/rank_<learner>`.
    static func writeShard(_ opt: ShardedOptimizer, files: ShardFiles) throws -> ShardSummary {
        let o = try files.store.shardWriter(step: files.step, group: "optim", rank: opt.comm.rank, options: files.options)
        try o.add("m", floats: UnsafeBufferPointer(start: opt.adam.m.pointer, count: opt.adam.m.count))
        try o.add("v", floats: UnsafeBufferPointer(start: opt.adam.v.pointer, count: opt.adam.v.count))
        return try o.finish()
    }

    /// Reads this learner's slice of the saved moments (resharded when the
    /// learner count changed) and sets the step count.
    static func restore(_ opt: ShardedOptimizer, from path: String, adamStep: Int) throws {
        let lc = opt.comm
        do {
            let reader = try CheckpointReader(directory: path)
            for (name, buffer) in [("m", opt.adam.m), ("v", opt.adam.v)] {
                let values = try reader.resharded(tensor: name, group: "optim", rank: lc.rank, parts: lc.size)
                guard values.count == buffer.count else {
                    throw JobError("\(path)/optim: learner \(lc.rank) of \(lc.size) expected \(buffer.count) floats of \(name), found \(values.count)")
                }
                values.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: values.count) }
            }
            opt.adam.restore(stepCount: adamStep)
        } catch {
            throw JobError("cannot resume the optimizer from \(path) on learner \(lc.rank): \(error). "
                           + "Every learner reads the checkpoint directory: it must be on a file system all nodes share.")
        }
    }
}
