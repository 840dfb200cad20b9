import Foundation
import Tasks
import Transformer

/// Generation with `rollout.val_kwargs` on the validation prompts (greedy by
/// default), sharded over the rollout ranks, plus with `greedy_pass` one greedy
/// answer per prompt; the leader logs per-source accuracy, keeps it in
/// `JobContext.evaluations` and, with `trainer.dump_rollouts`, writes every
/// generation to `<run>/generations/<step>.jsonl`.
struct Evaluator {
    let ctx: JobContext

    /// Collective: syncs the weights, evaluates and logs step `step`, under its own
    /// time limit (`trainer.step_timeout_s`), not counted in the step's.
    func evaluate(step: Int) throws {
        try ctx.inOwnPhase("evaluation at step \(step)", seconds: ctx.config.trainer.stepTimeoutS, key: "trainer.step_timeout_s") {
            try evaluateNow(step: step)
        }
    }

    private func evaluateNow(step: Int) throws {
        _ = try ctx.syncWeights()
        ctx.observer?.didEvaluate(step: step, parameters: ctx.model.parameters)
        let config = ctx.config
        let vk = config.rollout.valKwargs
        let n = max(1, vk.n)
        let all = try generate(greedy: vk.greedy, groupSize: n, step: step)
        // The greedy pass is exactly a greedy-only evaluation (one answer per prompt,
        // the same seeds; argmax draws none of them), so its greedy@1 is the mean@1
        // that evaluation would log. It runs after the sampled pass and leaves its
        // draws alone.
        let withGreedy = vk.greedyPass && !vk.greedy
        let greedy = withGreedy ? try generate(greedy: true, groupSize: 1, step: step) : []
        guard ctx.isLeader else { return }
        // avg@k, unbiased pass@k and maj@k per source (greedy pass@1 when n = 1);
        // majority voting needs each answer's normalised key, re-extracted here.
        let (evalSamples, extracted) = judge(all)
        let (greedySamples, greedyExtracted) = judge(greedy)
        // Every validation generation, for reading what the model answered (trainer.dump_rollouts).
        if ctx.config.trainer.dumpRollouts, let dir = ctx.runDirectory {
            let passes = !withGreedy ? nil
                : [String](repeating: "sampled", count: all.count) + [String](repeating: "greedy", count: greedy.count)
            try GenerationDump.write(all + greedy, extracted: extracted + greedyExtracted, passes: passes,
                                     codec: ctx.codec, step: step, directory: dir)
        }
        var metrics = EvalMetrics.perSource(evalSamples)
        metrics["val-core/all/acc/mean@\(n)"] = all.map(\.outcome).reduce(0, +) / Double(max(all.count, 1))
        if withGreedy { metrics.merge(EvalMetrics.greedy(greedySamples)) { $1 } }
        metrics.merge(FLaGStage(config: config.flag).metrics(all, prefix: "val-flag")) { $1 }
        let references = try ReferenceLoss(ctx: ctx).items()
        metrics.merge(ReferenceLoss.metrics(references)) { $1 }
        if !references.isEmpty, ctx.config.trainer.dumpRollouts, let dir = ctx.runDirectory {
            try ReferenceLoss.write(references, step: step, directory: dir)
        }
        ctx.evaluations.append((step, metrics))
        ctx.logger?.log(step: step, metrics)
    }

    /// Collective: `groupSize` answers per validation prompt, greedy or with
    /// `rollout.val_kwargs`' temperature and top_p, gathered at every rank.
    private func generate(greedy: Bool, groupSize: Int, step: Int) throws -> [RolloutSample] {
        let config = ctx.config, vk = config.rollout.valKwargs, validation = ctx.validation
        var mine: [RolloutSample] = []
        if let r = ctx.rolloutRanks.firstIndex(of: ctx.world.rank) {
            let idx = Array(stride(from: r, to: validation.count, by: ctx.rolloutRanks.count))
            var engine = RolloutEngine(codec: ctx.codec, verify: ctx.verify,
                                       generator: SamplingGenerator(model: ctx.model, flagDepth: ctx.flag?.depth), flag: ctx.flag)
            let opts = SamplingOptions(temperature: Float(vk.temperature), topP: Float(vk.topP), greedy: greedy,
                                       maxNewTokens: config.rollout.maxNewTokens ?? config.data.maxResponseLength)
            // Chunks of `max_batch` prompts bound the KV cache; each sample's seed
            // comes from its prompt index, so chunking leaves the draws alone.
            let chunk = vk.maxBatch > 0 ? vk.maxBatch : max(1, idx.count)
            for lo in stride(from: 0, to: idx.count, by: chunk) {
                let part = Array(idx[lo..<min(idx.count, lo + chunk)])
                mine += try engine.rollout(items: part.map { validation[$0] }, indices: part, groupSize: groupSize,
                                           options: opts, runSeed: ctx.runSeed, step: step, purpose: .evaluation)
            }
        }
        return try gatherSamples(mine)
    }

    /// Each sample's verdict and answer key for the metrics, and its extracted answer for the dump.
    private func judge(_ samples: [RolloutSample]) -> ([EvalSample], [String?]) {
        var extracted: [String?] = []
        let judged = samples.map { s -> EvalSample in
            let r = ctx.verifier.verify(response: s.response, groundTruth: s.groundTruth, source: s.dataSource)
            extracted.append(r.extracted)
            let key = r.extracted.map { AnswerVerifier.answerKey($0, format: AnswerFormat.forSource(s.dataSource)) }
            return EvalSample(dataSource: s.dataSource, problemID: "\(s.groupId)", correct: s.outcome > 0, answerKey: key)
        }
        return (judged, extracted)
    }

    /// Every rank's samples at every rank, in (group, rank) order.
    func gatherSamples(_ mine: [RolloutSample]) throws -> [RolloutSample] {
        let batch = RolloutBatch(weightVersion: ctx.weightVersion, step: 0, workerRank: ctx.world.rank, samples: mine)
        let parts = try ctx.world.allgatherBytes(batch.encoded())
        var all: [RolloutSample] = []
        for p in parts { all += try RolloutBatch(decoding: p).samples }
        // Stable order independent of which worker drew what: by group, then draw order.
        return all.enumerated().sorted { ($0.element.groupId, $0.offset) < ($1.element.groupId, $1.offset) }.map(\.element)
    }
}
