import Foundation
import Objectives
import Optimization
import Tasks

/// Supervised warm-start settings of a job (`sft.*`; the flags `--sft-steps`,
/// `--sft-batch`, `--sft-lr` of `run` are aliases).
public struct WarmStart: Sendable {
    /// Optimizer steps (0 = none).
    public var steps: Int
    /// Sequences per step, over all learners.
    public var batchSize: Int
    /// Peak learning rate (warmup 5% + cosine to 10%).
    public var lr: Double

    /// Creates settings.
    public init(steps: Int, batchSize: Int, lr: Double) { self.steps = steps; self.batchSize = batchSize; self.lr = lr }
}

/// The supervised warm start on the learners: prompt → worked completion +
/// EOS, loss on completion tokens only, token-mean over the global batch,
/// ZeRO-1 over the learners. The `demo`, `sft` and `distill` pipelines run it
/// before their first evaluation.
struct WarmStartTrainer {
    let ctx: JobContext

    /// Runs `ctx.warmStart.steps` steps (nothing on ranks that are not learners).
    func run() throws {
        let warm = ctx.warmStart, model = ctx.model, codec = ctx.codec
        guard warm.steps > 0, ctx.isLearner, let lc = ctx.learnerComm else { return }
        let opt = ShardedOptimizer(model: model, comm: lc, config: AdamWConfig(lr: warm.lr, weightDecay: 0.01))
        let schedule = LRSchedule(peak: warm.lr, warmupSteps: max(1, warm.steps / 20), totalSteps: warm.steps, minRatio: 0.1)
        let B = warm.batchSize
        for step in 0..<warm.steps {
            let t = Date()
            // The whole global batch is known to every learner: the normaliser is global.
            var all: [(prompt: [Int32], completion: [Int32])] = []
            for i in 0..<B {
                let (item, completion) = ctx.data.item(step: step, index: i, purpose: SeedPurpose.warmStartData.rawValue)
                guard var completion else { throw JobError("SFT needs worked solutions; \(item.dataSource) has none") }
                if DirectAnswer.isDirect(step: step, index: i, fraction: ctx.config.sft.directAnswerFrac),
                   let direct = DirectAnswer.completion(from: completion) { completion = direct }
                all.append((try codec.encode(try codec.formatPrompt(item.prompt)), try codec.encode(completion) + [codec.eos]))
            }
            let normalizer = Double(all.map(\.completion.count).reduce(0, +))
            let mine = stride(from: lc.rank, to: B, by: lc.size).map { all[$0] }
            let (batch, targets) = CompletionBatch.make(mine, maxSeqLen: model.config.maxSeqLen, pad: codec.pad)
            model.zeroGradients()
            let loss = model.forwardBackward(batch: batch, loss: CrossEntropy.loss(targets: targets, normalizer: normalizer))
            let lr = schedule.lr(at: step)
            let norm = try opt.step(lr: lr, maxNorm: 1.0)
            let total = try lc.allreduceSum([loss])[0]
            if ctx.isLeader && (step % 25 == 0 || step == warm.steps - 1) {
                ctx.logger?.logWarmStart(step: step + 1, of: warm.steps,
                                         ["sft/loss": total, "sft/grad_norm": norm, "sft/lr": lr,
                                          "timing_s/sft_step": Date().timeIntervalSince(t)])
            }
        }
    }
}
