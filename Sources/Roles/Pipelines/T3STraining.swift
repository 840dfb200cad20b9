import Configs
import Foundation
import Objectives
import Optimization
import Tasks
import Tensors
import Transformer

/// One supervised example of a t3s run: the prompt and its trace, encoded.
struct T3SExample {
    var item: PromptItem
    var prompt: [Int32]
    /// The trace's tokens and EOS.
    var completion: [Int32]
}

/// The supervised loop of a t3s run: seeded epochs over the examples,
/// `sft.batch_size` per step split over the learners (ZeRO-1), cross-entropy
/// on the completion tokens with optional per-token weights, and the
/// training-accuracy probe.
struct T3STraining {
    let ctx: JobContext
    let examples: [T3SExample]

    /// The first `count` examples of the training stream, with their traces.
    static func examples(ctx: JobContext, count: Int) throws -> [T3SExample] {
        try (0..<count).map { i in
            let (item, completion) = ctx.data.item(step: 0, index: i, purpose: SeedPurpose.warmStartData.rawValue)
            guard let completion else { throw JobError("t3s trains on worked solutions; \(item.dataSource) has none") }
            return T3SExample(item: item, prompt: try ctx.codec.encode(try ctx.codec.formatPrompt(item.prompt)),
                              completion: try ctx.codec.encode(completion) + [ctx.codec.eos])
        }
    }

    /// The example indices of step `k` (0-based) of a run.
    func batch(_ k: Int) -> [Int] {
        let n = examples.count, B = ctx.warmStart.batchSize
        return (0..<B).map { j in
            let flat = k * B + j, epoch = flat / n
            let order = MoTData.permutation(n, seed: SeedMixer.derive(run: ctx.runSeed, step: UInt64(epoch),
                                                                      purpose: SeedPurpose.t3sOrder.rawValue))
            return order[flat % n]
        }
    }

    /// Trains `sft.steps` steps from the model's current parameters (a fresh
    /// optimizer), numbering them from `firstStep`. `weights[i]` weighs example
    /// i's completion tokens (nil: all 1). After each step, on every rank,
    /// `after(step)` may probe and returns true to stop. Returns the last step.
    func train(weights: [[Float]]?, firstStep: Int, after: (Int) throws -> Bool) throws -> Int {
        let warm = ctx.warmStart, model = ctx.model
        let optimizer = ctx.learnerComm.map { ShardedOptimizer(model: model, comm: $0, config: AdamWConfig(lr: warm.lr, weightDecay: 0.01)) }
        let schedule = LRSchedule(peak: warm.lr, warmupSteps: max(1, warm.steps / 20), totalSteps: warm.steps, minRatio: 0.1)
        var step = firstStep - 1
        for k in 0..<warm.steps {
            step = firstStep + k
            if let lc = ctx.learnerComm, let optimizer {
                let ids = batch(k)
                let normalizer = max(1, ids.map { i in weights.map { Double($0[i].reduce(0, +)) } ?? Double(examples[i].completion.count) }
                    .reduce(0, +))
                let mine = stride(from: lc.rank, to: ids.count, by: lc.size).map { ids[$0] }
                model.zeroGradients()
                let loss = forwardBackward(mine, weights: weights, normalizer: normalizer)
                let lr = schedule.lr(at: k)
                let norm = try optimizer.step(lr: lr, maxNorm: 1.0)
                let total = try lc.allreduceSum([loss])[0]
                if ctx.isLeader && (k % 25 == 0 || k == warm.steps - 1) {
                    ctx.logger?.logWarmStart(step: step, of: firstStep + warm.steps - 1, ["t3s/loss": total, "t3s/grad_norm": norm, "t3s/lr": lr])
                }
            }
            if try after(step) { break }
        }
        return step
    }

    /// Accumulates the gradient of examples `ids`; returns their loss.
    func forwardBackward(_ ids: [Int], weights: [[Float]]?, normalizer: Double) -> Double {
        guard !ids.isEmpty else { return 0 }
        let model = ctx.model
        let pairs = ids.map { (prompt: examples[$0].prompt, completion: examples[$0].completion) }
        let (tokens, targets) = CompletionBatch.make(pairs, maxSeqLen: model.config.maxSeqLen, pad: ctx.codec.pad)
        var rowWeights: [Float]?
        if let weights {
            var w = [Float](repeating: 0, count: targets.count)
            let T = tokens.seqLen
            for (b, i) in ids.enumerated() {
                for t in 0..<T where targets[b * T + t] >= 0 { w[b * T + t] = weights[i][t + 1 - examples[i].prompt.count] }
            }
            rowWeights = w
        }
        return model.forwardBackward(batch: tokens, loss: CrossEntropy.loss(targets: targets, weights: rowWeights, normalizer: normalizer))
    }

    /// Collective: greedy accuracy on the first `prompts` training prompts (the rollout ranks answer).
    func trainingAccuracy(prompts: Int) throws -> Double {
        _ = try ctx.syncWeights()
        let items = examples.prefix(prompts).map(\.item)
        var mine: [RolloutSample] = []
        if let r = ctx.rolloutRanks.firstIndex(of: ctx.world.rank) {
            let idx = Array(stride(from: r, to: items.count, by: ctx.rolloutRanks.count))
            var engine = RolloutEngine(codec: ctx.codec, verify: ctx.verify, generator: SamplingGenerator(model: ctx.model))
            let options = SamplingOptions(greedy: true, maxNewTokens: ctx.config.rollout.maxNewTokens ?? ctx.config.data.maxResponseLength)
            mine = try engine.rollout(items: idx.map { items[$0] }, indices: idx, groupSize: 1, options: options,
                                      runSeed: ctx.runSeed, step: 0, purpose: .evaluation)
        }
        let all = try Evaluator(ctx: ctx).gatherSamples(mine)
        return all.map(\.outcome).reduce(0, +) / Double(max(1, all.count))
    }

    /// The leader's split of the first batch's gradient at the current
    /// parameters into the anchors' part and the rest's (same normaliser):
    /// their norm ratio, the per-token ratio and their cosine.
    func gradientSplit(anchors: [[Bool]]) -> [String: Double] {
        guard ctx.isLeader else { return [:] }
        let ids = batch(0), model = ctx.model
        let total = Double(ids.map { examples[$0].completion.count }.reduce(0, +))
        var parts: [[Float]] = []
        for keepAnchors in [true, false] {
            let w = examples.indices.map { i in anchors[i].map { $0 == keepAnchors ? Float(1) : 0 } }
            model.zeroGradients()
            _ = forwardBackward(ids, weights: w, normalizer: max(1, total))
            parts.append(model.gradients.toArray())
        }
        model.zeroGradients()
        let g = GradientComparison(parts[0], parts[1])
        let nAnchor = Double(ids.map { anchors[$0].filter { $0 }.count }.reduce(0, +))
        return ["t3s/anchor_grad_norm_ratio": g.normRatio, "t3s/anchor_grad_cosine": g.cosine,
                "t3s/anchor_grad_norm_ratio_per_token": nAnchor > 0 && total > nAnchor ? g.normRatio * (total - nAnchor) / nAnchor : 0]
    }
}
