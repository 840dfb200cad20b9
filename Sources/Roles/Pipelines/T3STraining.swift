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
    /// Namespace of the loss lines (`<prefix>/loss`, …): the pipeline that trains.
    var prefix = "t3s"

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

    /// Trains `steps` steps (nil: `sft.steps`) from the model's current
    /// parameters (a fresh optimizer, frozen outside `mask` when given),
    /// numbering them from `firstStep`. `weights[i]` weighs example i's
    /// completion tokens (nil: all 1); on the learners, `reweigh(k)` may
    /// replace them before step k (0-based) and returns nil to keep them.
    /// After each step, on every rank, `after(step)` may probe and returns
    /// true to stop. Returns the last step.
    func train(weights initial: [[Float]]?, firstStep: Int, steps: Int? = nil, mask: ParameterMask? = nil,
               reweigh: ((Int) throws -> [[Float]]?)? = nil, after: (Int) throws -> Bool) throws -> Int {
        let warm = ctx.warmStart, model = ctx.model, total = steps ?? warm.steps
        let optimizer = ctx.learnerComm.map {
            ShardedOptimizer(model: model, comm: $0, config: AdamWConfig(lr: warm.lr, weightDecay: 0.01), trainable: mask)
        }
        let schedule = LRSchedule(peak: warm.lr, warmupSteps: max(1, total / 20), totalSteps: total, minRatio: 0.1)
        var step = firstStep - 1, weights = initial
        for k in 0..<total {
            step = firstStep + k
            if let lc = ctx.learnerComm, let optimizer {
                if let reweigh, let fresh = try reweigh(k) { weights = fresh }
                let ids = batch(k)
                // Σ|Φ|: a signed priority's unlikelihood tokens count by their magnitude.
                let normalizer = max(1, ids.map { i in
                    weights.map { Double($0[i].reduce(0) { $0 + abs($1) }) } ?? Double(examples[i].completion.count)
                }.reduce(0, +))
                let mine = stride(from: lc.rank, to: ids.count, by: lc.size).map { ids[$0] }
                model.zeroGradients()
                let loss = forwardBackward(mine, weights: weights, normalizer: normalizer)
                let lr = schedule.lr(at: k)
                let norm = try optimizer.step(lr: lr, maxNorm: 1.0)
                let sum = try lc.allreduceSum([loss])[0]
                if ctx.isLeader && (k % 25 == 0 || k == total - 1) {
                    ctx.logger?.logWarmStart(step: step, of: firstStep + total - 1,
                                             [prefix + "/loss": sum, prefix + "/grad_norm": norm, prefix + "/lr": lr])
                }
            }
            if try after(step) { break }
        }
        return step
    }

    /// Accumulates the gradient of examples `ids`, `sft.micro_batch_size` at a
    /// time (all at once when 0); returns their loss. The normalizer is the whole
    /// step's, so the chunks' losses and gradients add up to the batch's.
    func forwardBackward(_ ids: [Int], weights: [[Float]]?, normalizer: Double) -> Double {
        let micro = ctx.config.sft.microBatchSize > 0 ? ctx.config.sft.microBatchSize : max(1, ids.count)
        return stride(from: 0, to: ids.count, by: micro).reduce(0.0) { sum, lo in
            sum + forwardBackwardChunk(Array(ids[lo..<min(ids.count, lo + micro)]), weights: weights, normalizer: normalizer)
        }
    }

    private func forwardBackwardChunk(_ ids: [Int], weights: [[Float]]?, normalizer: Double) -> Double {
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
        // WeightedCrossEntropy is CrossEntropy for Φ ≥ 0 and adds the unlikelihood term for Φ < 0.
        return model.forwardBackward(batch: tokens, loss: WeightedCrossEntropy.loss(
            targets: targets, weights: rowWeights ?? [Float](repeating: 1, count: targets.count), normalizer: normalizer))
    }

    /// Collective: greedy accuracy on the first `prompts` training prompts (the rollout ranks answer).
    func trainingAccuracy(prompts: Int) throws -> Double {
        let all = try greedySamples(examples.prefix(prompts).map(\.item))
        return all.map(\.outcome).reduce(0, +) / Double(max(1, all.count))
    }

    /// Collective: greedy answers to `items` from the rollout ranks, gathered on every rank.
    func greedySamples(_ items: [PromptItem]) throws -> [RolloutSample] {
        _ = try ctx.syncWeights()
        var mine: [RolloutSample] = []
        if let r = ctx.rolloutRanks.firstIndex(of: ctx.world.rank) {
            let idx = Array(stride(from: r, to: items.count, by: ctx.rolloutRanks.count))
            var engine = RolloutEngine(codec: ctx.codec, verify: ctx.verify, generator: SamplingGenerator(model: ctx.model))
            let options = SamplingOptions(greedy: true, maxNewTokens: ctx.config.rollout.maxNewTokens ?? ctx.config.data.maxResponseLength)
            mine = try engine.rollout(items: idx.map { items[$0] }, indices: idx, groupSize: 1, options: options,
                                      runSeed: ctx.runSeed, step: 0, purpose: .evaluation)
        }
        return try Evaluator(ctx: ctx).gatherSamples(mine)
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
