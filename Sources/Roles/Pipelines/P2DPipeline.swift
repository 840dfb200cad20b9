import Configs
import Foundation
import Objectives
import Optimization
import Tensors
import Transformer

/// `trainer.pipeline=p2d`: From Parameters to Data (METHODS §6).
///
/// 1. Proxy fine-tune of the pool's first `p2d.proxy_examples` examples for
///    `p2d.proxy_steps` steps; every attention head's score is the W1 distance
///    of its Q/K/V weights before and after; the top `p2d.head_fraction` heads.
/// 2. Back at θ_0, every pool example's score through those heads
///    (`p2d.data_score`: [ours] ICL gain minus the gain with the heads
///    ablated, or gradient cosine on the heads); the top `p2d.data_fraction`.
/// 3. Training from θ_0 on the chosen data, only the chosen heads' parameters
///    trainable (`ParameterMask` in AdamW, frozen gradients zeroed).
/// `p2d.arm` swaps parts for controls (`full`, `random_data`,
/// `p2d_heads_random_data`, `random_heads_p2d_data`). Logged: `p2d/select_s`
/// (of which `p2d/heads_s`: proxy and head scores, `p2d/data_score_s`),
/// `p2d/train_s`, `p2d/full_sft_s` (the `full` arm: the AER denominator),
/// the heads (`p2d/head_score/LxHy`, `p2d/head_selected/LxHy`) and
/// `p2d/overlap_with_full_gradient`; `<run>/p2d-selection.json` holds every
/// score and both selections. The validation set is evaluated at 0 (`trainer.val_before_train`) and at the end.
final class P2DPipeline: JobPipeline {
    let ctx: JobContext
    let settings: P2DConfig

    /// Name of the selection file in the run directory.
    static let selectionFile = "p2d-selection.json"

    init(ctx: JobContext) {
        self.ctx = ctx
        settings = ctx.config.p2d
    }

    func run(resumed: ResumedRun?) throws -> JobStop? {
        try SupervisedRun.refuseContinuation(resumed, pipeline: "p2d", start: "the base model")
        let evaluator = Evaluator(ctx: ctx), model = ctx.model, layout = model.layout
        let all = try T3STraining.examples(ctx: ctx, count: settings.pool + settings.probeExamples)
        let pool = Array(all.prefix(settings.pool)), heads = layout.attentionHeads
        let selection = P2DSelection(ctx: ctx, settings: settings, pool: pool, probe: Array(all.dropFirst(settings.pool)))
        if ctx.config.trainer.valBeforeTrain { try evaluator.evaluate(step: 0) }
        let theta0 = model.parameters.toArray()
        var rng = Rng(seed: SeedMixer.derive(run: ctx.runSeed, purpose: SeedPurpose.p2dRandomControl.rawValue))
        let nData = TopFraction.count(fraction: settings.dataFraction, of: pool.count)
        let nHeads = TopFraction.count(fraction: settings.headFraction, of: heads.count)
        let arm = settings.arm
        let randomData = Array(MoTData.permutation(pool.count, seed: rng.nextUInt64()).prefix(nData)).sorted()
        let randomHeads = Array(MoTData.permutation(heads.count, seed: rng.nextUInt64()).prefix(nHeads)).sorted()

        // Selection (learners only; the other ranks wait at the next evaluation).
        let start = Date()
        var headScores: [Double] = [], p2dHeads: [Int] = [], dataScores: [Double] = [], p2dData: [Int] = []
        var m: [String: Double] = [:]
        if let lc = ctx.learnerComm, arm != .full && arm != .randomData {
            headScores = try selection.headScores(theta0: theta0)
            p2dHeads = P2DHeadScores.select(scores: headScores, fraction: settings.headFraction)
            m["p2d/heads_s"] = Date().timeIntervalSince(start)
            if arm != .p2dHeadsRandomData {
                let scoring = Date()
                dataScores = try selection.dataScores(heads: p2dHeads.map { heads[$0] }, comm: lc)
                p2dData = TopFraction.select(scores: dataScores, fraction: settings.dataFraction)
                m["p2d/data_score_s"] = Date().timeIntervalSince(scoring)
            }
        }
        let selectS = Date().timeIntervalSince(start)
        let trainHeads: [Int]? = arm == .full || arm == .randomData ? nil : arm == .randomHeadsP2DData ? randomHeads : p2dHeads
        let trainData: [Int] = arm == .full ? Array(pool.indices)
            : arm == .randomData || arm == .p2dHeadsRandomData ? randomData : p2dData
        if let lc = ctx.learnerComm, !p2dData.isEmpty {
            let norms = try selection.gradientNorms(comm: lc)
            let top = Set(TopFraction.select(scores: norms, fraction: settings.dataFraction))
            m["p2d/overlap_with_full_gradient"] = Double(p2dData.filter(top.contains).count) / Double(max(1, nData))
        }

        // Training from θ_0.
        model.parameters.write(theta0)
        let mask = trainHeads.map { ParameterMask.only(layout.headRanges($0.map { heads[$0] }), totalCount: layout.totalCount) }
        let steps = arm == .full ? ctx.warmStart.steps
            : settings.subsetSteps > 0 ? settings.subsetSteps : max(1, Int((Double(ctx.warmStart.steps) * settings.dataFraction).rounded()))
        var trainer = T3STraining(ctx: ctx, examples: ctx.learnerComm == nil ? pool : trainData.map { pool[$0] })
        trainer.prefix = "p2d"
        let trainStart = Date()
        let last = try trainer.train(weights: nil, firstStep: 1, steps: steps, mask: mask) { _ in false }
        let trainS = Date().timeIntervalSince(trainStart)

        m["p2d/select_s"] = selectS; m["p2d/train_s"] = trainS; m["p2d/total_s"] = selectS + trainS
        if arm == .full { m["p2d/full_sft_s"] = trainS }
        m["p2d/train_steps"] = Double(steps); m["p2d/data_selected"] = Double(trainData.count)
        m["p2d/heads_trained"] = Double(trainHeads?.count ?? heads.count)
        m["p2d/trainable_frac"] = Double(mask?.selectedCount ?? layout.totalCount) / Double(max(1, layout.totalCount))
        for (h, s) in zip(heads, headScores) { m["p2d/head_score/\(h)"] = s }
        for h in trainHeads ?? [] { m["p2d/head_selected/\(heads[h])"] = 1 }
        ctx.logStep(last, m)
        if ctx.isLeader, let dir = ctx.runDirectory {
            let record: [String: Any] = [
                "arm": arm.rawValue, "heads": heads.map(\.description), "head_scores": headScores, "p2d_heads": p2dHeads,
                "trained_heads": trainHeads ?? Array(heads.indices), "data_scores": dataScores, "p2d_data": p2dData,
                "trained_data": trainData, "select_s": selectS, "train_s": trainS,
            ]
            try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
                .write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent(Self.selectionFile)), options: .atomic)
        }
        try evaluator.evaluate(step: last)
        try saveFinalModel(ctx: ctx, step: last)
        return nil
    }
}
