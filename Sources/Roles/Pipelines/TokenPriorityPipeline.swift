import Checkpoint
import Comm
import Configs
import Foundation
import Objectives
import Tasks

/// `trainer.pipeline=priority`: SFT as distribution reshaping with per-token
/// priorities Φ (METHODS §5), L = Σ_{Φ>0} Φ·(−log π) + Σ_{Φ<0} |Φ|·(−log(1 − π)).
///
/// 1. The traces: the first `priority.examples` of the stream, a seeded share
///    corrupted by `priority.testbed` ([ours]): `noise` inserts junk tokens,
///    `toxic` writes a systematically wrong answer. The testbed knows which
///    tokens it touched (the oracle the `hard` and `signed` modes use).
/// 2. Φ by `priority.mode`: `uniform`, `hard`, `rho1` / `soft` (excess loss
///    against `priority.reference`, recomputed every `priority.refresh`
///    steps), `signed`. `<run>/priority-tokens.json` holds every trace's
///    tokens, marks and starting Φ.
/// 3. `sft.steps` steps of weighted SFT from the student (ZeRO-1 over the
///    learners), probing training accuracy every `priority.probe_freq` steps;
///    the validation set is evaluated at step 0 (`trainer.val_before_train`) and at the end.
/// A priority run does not resume mid-way; with `checkpoint.save_freq` > 0 its
/// final model is saved.
final class TokenPriorityPipeline: JobPipeline {
    let ctx: JobContext
    let settings: PriorityConfig

    /// Name of the token file in the run directory.
    static let tokenFile = "priority-tokens.json"

    init(ctx: JobContext) {
        self.ctx = ctx
        settings = ctx.config.priority
    }

    func run(resumed: ResumedRun?) throws -> JobStop? {
        try SupervisedRun.refuseContinuation(resumed, pipeline: "priority", start: "the student")
        let ctx = self.ctx, evaluator = Evaluator(ctx: ctx), pad = ctx.codec.pad
        let traces = try TokenPriorityTraces.build(ctx: ctx, settings: settings)
        if ctx.config.trainer.valBeforeTrain { try evaluator.evaluate(step: 0) }
        try logToxicRate(step: 0, examples: traces.examples)
        let weighter = try TokenPriorityWeights.make(ctx: ctx, settings: settings, traces: traces)
        let comparesReference = TokenPriorityWeights.needsReference(settings.mode)
        func studentLogProbs() -> [[Float]]? {
            comparesReference ? CompletionBatch.logProbs(model: ctx.model, pad: pad, examples: traces.examples, chunk: ctx.scoringChunk) : nil
        }
        let weights = weighter.weights(student: studentLogProbs())
        if ctx.isLeader, let dir = ctx.runDirectory {
            try writeTokens(traces: traces, weights: weights, to: (dir as NSString).appendingPathComponent(Self.tokenFile))
        }
        ctx.logStep(0, weighter.metrics(weights))

        var trainer = T3STraining(ctx: ctx, examples: traces.examples)
        trainer.prefix = "priority"
        let refresh = settings.refresh
        let reweigh: ((Int) throws -> [[Float]]?)? = comparesReference && refresh > 0 ? { k in
            guard k > 0 && k % refresh == 0 else { return nil }
            let fresh = weighter.weights(student: studentLogProbs())
            ctx.logStep(k + 1, weighter.metrics(fresh))
            return fresh
        } : nil
        let last = try trainer.train(weights: weights, firstStep: 1, reweigh: reweigh) { step in
            if step % self.settings.probeFreq == 0 || step == 1 {
                ctx.logStep(step, ["priority/train_acc": try trainer.trainingAccuracy(prompts: self.settings.probePrompts)])
            }
            return false
        }
        try evaluator.evaluate(step: last)
        try logToxicRate(step: last, examples: traces.examples)
        try saveFinalModel(ctx: ctx, step: last)
        return nil
    }

    /// `toxic` testbed, collective: `priority/val_toxic_rate`, the share of
    /// greedy answers to the first `priority.probe_prompts` validation prompts
    /// that are the toxic mode's answer (true answer + 1).
    private func logToxicRate(step: Int, examples: [T3SExample]) throws {
        guard settings.testbed == .toxic else { return }
        let samples = try T3STraining(ctx: ctx, examples: examples).greedySamples(Array(ctx.validation.prefix(settings.probePrompts)))
        let toxic = samples.filter { s in
            extractFinalAnswer(s.response).map { $0 == TokenPriorityTraces.toxicAnswer(s.groundTruth) } ?? false
        }
        ctx.logStep(step, ["priority/val_toxic_rate": Double(toxic.count) / Double(max(1, samples.count))])
    }

    /// Writes every trace's completion tokens, its noise and toxic marks and its starting Φ as JSON.
    private func writeTokens(traces: TokenPriorityTraces, weights: [[Float]], to path: String) throws {
        let rows: [[String: Any]] = traces.examples.indices.map { i in
            ["tokens": traces.examples[i].completion.map(Int.init), "noise": traces.noise[i], "toxic": traces.toxic[i],
             "weights": weights[i].map(Double.init)]
        }
        let data = try JSONSerialization.data(withJSONObject: ["mode": settings.mode.rawValue, "testbed": settings.testbed.rawValue,
                                                               "examples": rows])
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
