import Checkpoint
import Comm
import Configs
import Foundation
import Objectives
import Optimization
import Tensors
import Transformer

/// `trainer.pipeline=t3s`: Training-Trajectory-Aware Token Selection (METHODS §4).
///
/// 1. Pre-run: plain SFT of the student θ_0 on `t3s.examples` traces for
///    `sft.steps` steps (ZeRO-1 over the learners), probing training accuracy
///    (greedy answers to `t3s.probe_prompts` training prompts on the rollout
///    ranks) every `t3s.probe_freq` steps. θ_b is the probe with the lowest
///    accuracy (`online`: the pre-run stops once accuracy has risen
///    `t3s.online_rise` above that minimum); θ_f is where the pre-run ended.
/// 2. The token ledger: per-token log-probs of every example at θ_0 and θ_b
///    (`<run>/t3s-ledger.tl`, read by `ispo-cluster ledger`); Δc = c(θ_b) − c(θ_0),
///    anchors A = {Δc > 0}.
/// 3. The arm (`t3s.arm`): `sft` keeps θ_f; `t3s`, `anti` and `random` restart
///    from θ_0 and train `sft.steps` steps with cross-entropy weighted by their
///    mask; `rrt` takes θ_0 + (θ_f − θ_b).
/// Steps are numbered on: the pre-run's 1…S_A, then the arm's S_A+1…; the
/// validation set is evaluated at 0 (`trainer.val_before_train`), at the end of the pre-run and at the end.
/// A t3s run does not resume mid-way; with `checkpoint.save_freq` > 0 its final
/// model is saved.
final class T3SPipeline: JobPipeline {
    let ctx: JobContext
    let settings: T3SConfig

    init(ctx: JobContext) {
        self.ctx = ctx
        settings = ctx.config.t3s
    }

    func run(resumed: ResumedRun?) throws -> JobStop? {
        try SupervisedRun.refuseContinuation(resumed, pipeline: "t3s", start: "the student θ_0")
        let model = ctx.model, evaluator = Evaluator(ctx: ctx)
        let examples = try T3STraining.examples(ctx: ctx, count: settings.examples)
        if ctx.config.trainer.valBeforeTrain { try evaluator.evaluate(step: 0) }
        let theta0 = model.parameters.toArray()
        let trainer = T3STraining(ctx: ctx, examples: examples)

        // 1. The pre-run, with training-accuracy probes. Only the lowest probe's
        // parameters are kept (the first of equals): a copy per probe would hold
        // gigabytes on a real model.
        var probes: [(step: Int, accuracy: Double)] = []
        var bottleneck: (step: Int, accuracy: Double, parameters: [Float])?
        let preSteps = try trainer.train(weights: nil, firstStep: 1) { step in
            guard step % self.settings.probeFreq == 0 || step == 1 else { return false }
            let accuracy = try trainer.trainingAccuracy(prompts: self.settings.probePrompts)
            ctx.logStep(step, ["t3s/train_acc": accuracy, "t3s/phase": 0])
            probes.append((step, accuracy))
            if accuracy < bottleneck?.accuracy ?? .infinity { bottleneck = (step, accuracy, model.parameters.toArray()) }
            let low = probes.map(\.accuracy).min()!
            return self.settings.variant == .online && accuracy >= low + self.settings.onlineRise
        }
        guard let bottleneck else { throw JobError("t3s: the pre-run made no training-accuracy probe") }
        try evaluator.evaluate(step: preSteps)
        guard settings.arm != .sft else { return try finish(step: preSteps) }
        let thetaF = model.parameters.toArray()

        // 2. Ledger and anchors.
        let selection = try T3SAnchors.build(ctx: ctx, examples: examples, theta0: theta0, thetaB: bottleneck.parameters)
        var m = selection.metrics
        m["t3s/bottleneck_step"] = Double(bottleneck.step)
        m["t3s/bottleneck_train_acc"] = bottleneck.accuracy
        m["t3s/final_train_acc"] = probes.last!.accuracy

        // 3. The arm.
        switch settings.arm {
        case .rrt:
            let merged = zip(theta0, zip(thetaF, bottleneck.parameters)).map { $0 + ($1.0 - $1.1) }
            model.parameters.write(merged)
            ctx.logStep(preSteps + 1, m)
            try evaluator.evaluate(step: preSteps + 1)
            return try finish(step: preSteps + 1)
        case .t3s, .anti, .random:
            model.parameters.write(theta0)
            m.merge(trainer.gradientSplit(anchors: selection.anchors)) { $1 }
            ctx.logStep(preSteps + 1, m)
            let weights = selection.weights(arm: settings.arm, seed: SeedMixer.derive(run: ctx.runSeed,
                                                                                         purpose: SeedPurpose.t3sRandomMask.rawValue))
            let last = try trainer.train(weights: weights, firstStep: preSteps + 1) { step in
                if step % self.settings.probeFreq == 0 {
                    ctx.logStep(step, ["t3s/train_acc": try trainer.trainingAccuracy(prompts: self.settings.probePrompts),
                                       "t3s/phase": 1])
                }
                return false
            }
            try evaluator.evaluate(step: last)
            return try finish(step: last)
        case .sft:
            return try finish(step: preSteps)
        }
    }

    /// Saves the final model when `checkpoint.save_freq` > 0.
    private func finish(step: Int) throws -> JobStop? {
        try saveFinalModel(ctx: ctx, step: step)
        return nil
    }
}
