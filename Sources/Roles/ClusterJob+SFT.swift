import Comm
import Foundation
import Objectives
import Optimization
import Tensors
import Transformer

extension ClusterJob {
    /// Supervised warm start on the learners: prompt → worked completion + EOS,
    /// loss on completion tokens only, token-mean over the global batch.
    func supervisedWarmStart() throws {
        guard warmStart.steps > 0, isLearner, let lc = learnerComm else { return }
        let opt = ShardedOptimizer(model: model, comm: lc, config: AdamWConfig(lr: warmStart.lr, weightDecay: 0.01))
        let schedule = LRSchedule(peak: warmStart.lr, warmupSteps: max(1, warmStart.steps / 20),
                                  totalSteps: warmStart.steps, minRatio: 0.1)
        let B = warmStart.batchSize
        for step in 0..<warmStart.steps {
            let t = Date()
            // The whole global batch is known to every learner: the normaliser is global.
            var all: [(prompt: [Int32], completion: [Int32])] = []
            for i in 0..<B {
                let (item, completion) = data.item(step: step, index: i, purpose: 7)
                guard let completion else { throw JobError("SFT needs worked solutions; \(item.dataSource) has none") }
                all.append((try codec.encode(codec.formatPrompt(item.prompt)), try codec.encode(completion) + [codec.eos]))
            }
            let normalizer = Double(all.map(\.completion.count).reduce(0, +))
            let mine = stride(from: lc.rank, to: B, by: lc.size).map { all[$0] }
            let (batch, targets) = completionBatch(mine)
            model.zeroGradients()
            let loss = model.forwardBackward(batch: batch, loss: CrossEntropy.loss(targets: targets, normalizer: normalizer))
            let lr = schedule.lr(at: step)
            let norm = try opt.step(lr: lr, maxNorm: 1.0)
            let total = try lc.allreduceSum([loss])[0]
            if isLeader && (step % 25 == 0 || step == warmStart.steps - 1) {
                logger?.logWarmStart(step: step + 1, of: warmStart.steps,
                                     ["sft/loss": total, "sft/grad_norm": norm, "sft/lr": lr,
                                      "timing_s/sft_step": Date().timeIntervalSince(t)])
            }
        }
    }

    /// Prompt + completion sequences as one padded batch (cut to the model's
    /// length) with next-token targets on the completion tokens only (-1 elsewhere).
    func completionBatch(_ examples: [(prompt: [Int32], completion: [Int32])]) -> (TokenBatch, targets: [Int32]) {
        let T = min(model.config.maxSeqLen, examples.map { $0.prompt.count + $0.completion.count - 1 }.max() ?? 1)
        var tokens = [Int32](repeating: codec.pad, count: examples.count * T)
        var targets = [Int32](repeating: -1, count: examples.count * T)
        for (b, ex) in examples.enumerated() {
            let full = Array((ex.prompt + ex.completion).prefix(T + 1))
            for t in 0..<(full.count - 1) {
                tokens[b * T + t] = full[t]
                if t + 1 >= ex.prompt.count { targets[b * T + t] = full[t + 1] }
            }
        }
        return (TokenBatch(batchSize: examples.count, seqLen: T, tokens: tokens), targets)
    }
}
