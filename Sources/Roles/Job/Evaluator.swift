import Foundation
import Tasks
import Transformer

/// Greedy (or `rollout.val_kwargs`) generation on the validation prompts,
/// sharded over the rollout ranks; the leader logs per-source accuracy,
/// keeps it in `JobContext.evaluations` and, with `trainer.dump_rollouts`,
/// writes every generation to `<run>/generations/<step>.jsonl`.
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
        let validation = ctx.validation
        var mine: [RolloutSample] = []
        if let r = ctx.rolloutRanks.firstIndex(of: ctx.world.rank) {
            let idx = Array(stride(from: r, to: validation.count, by: ctx.rolloutRanks.count))
            var engine = RolloutEngine(codec: ctx.codec, verify: ctx.verify,
                                       generator: SamplingGenerator(model: ctx.model, flagDepth: ctx.flag?.depth), flag: ctx.flag)
            let opts = SamplingOptions(temperature: Float(vk.temperature), topP: Float(vk.topP), greedy: vk.greedy,
                                       maxNewTokens: config.rollout.maxNewTokens ?? config.data.maxResponseLength)
            mine = try engine.rollout(items: idx.map { validation[$0] }, indices: idx, groupSize: max(1, vk.n),
                                      options: opts, runSeed: ctx.runSeed, step: step, purpose: .evaluation)
        }
        let all = try gatherSamples(mine)
        guard ctx.isLeader else { return }
        // avg@k, unbiased pass@k and maj@k per source (greedy pass@1 when n = 1);
        // majority voting needs each answer's normalised key, re-extracted here.
        var extracted: [String?] = []
        let evalSamples = all.map { s -> EvalSample in
            let r = ctx.verifier.verify(response: s.response, groundTruth: s.groundTruth, source: s.dataSource)
            extracted.append(r.extracted)
            let key = r.extracted.map { AnswerVerifier.answerKey($0, format: AnswerFormat.forSource(s.dataSource)) }
            return EvalSample(dataSource: s.dataSource, problemID: "\(s.groupId)", correct: s.outcome > 0, answerKey: key)
        }
        // Every validation generation, for reading what the model answered (trainer.dump_rollouts).
        if ctx.config.trainer.dumpRollouts, let dir = ctx.runDirectory {
            try GenerationDump.write(all, extracted: extracted, codec: ctx.codec, step: step, directory: dir)
        }
        var metrics = EvalMetrics.perSource(evalSamples)
        let n = max(1, vk.n)
        metrics["val-core/all/acc/mean@\(n)"] = all.map(\.outcome).reduce(0, +) / Double(max(all.count, 1))
        metrics.merge(FLaGStage(config: config.flag).metrics(all, prefix: "val-flag")) { $1 }
        let references = try ReferenceLoss(ctx: ctx).items()
        metrics.merge(ReferenceLoss.metrics(references)) { $1 }
        if !references.isEmpty, ctx.config.trainer.dumpRollouts, let dir = ctx.runDirectory {
            try ReferenceLoss.write(references, step: step, directory: dir)
        }
        ctx.evaluations.append((step, metrics))
        ctx.logger?.log(step: step, metrics)
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
