import Comm
import Configs
import Foundation
import Objectives
import Optimization
import Transformer

/// P2D's selection steps (METHODS §6), run on the learners: head scores from
/// a proxy fine-tune, and the pool's data scores through the selected heads.
struct P2DSelection {
    let ctx: JobContext
    let settings: P2DConfig
    /// The candidate pool.
    let pool: [T3SExample]
    /// The probe set the data scores are measured on.
    let probe: [T3SExample]

    /// Proxy fine-tune of the pool's first `p2d.proxy_examples` for
    /// `p2d.proxy_steps` steps from `theta0`, then every head's score
    /// (W1 of its Q/K/V weights, base vs proxy). Leaves the model at `theta0`.
    func headScores(theta0: [Float]) throws -> [Double] {
        var proxy = T3STraining(ctx: ctx, examples: Array(pool.prefix(settings.proxyExamples)))
        proxy.prefix = "p2d/proxy"
        _ = try proxy.train(weights: nil, firstStep: 1, steps: settings.proxySteps) { _ in false }
        let tuned = ctx.model.parameters.toArray(), layout = ctx.model.layout
        ctx.model.parameters.write(theta0)
        return P2DHeadScores.scores(base: theta0, proxy: tuned, headRanges: layout.attentionHeads.map(layout.headWeightRanges))
    }

    /// Every pool sample's score through `heads` (`p2d.data_score`), split over
    /// the learners and summed by `comm`. Leaves the model as it found it.
    func dataScores(heads: [AttentionHead], comm: Communicator) throws -> [Double] {
        let mine = Array(stride(from: comm.rank, to: pool.count, by: comm.size))
        var scores = [Double](repeating: 0, count: pool.count)
        let local = settings.dataScore == .icl ? try iclScores(mine, heads: heads) : gradientScores(mine, heads: heads)
        for (i, s) in zip(mine, local) { scores[i] = s }
        return try comm.allreduceSum(scores)
    }

    /// Every pool sample's full-model gradient norm (the reference ranking of
    /// `p2d/overlap_with_full_gradient`), split over the learners.
    func gradientNorms(comm: Communicator) throws -> [Double] {
        let mine = Array(stride(from: comm.rank, to: pool.count, by: comm.size))
        let trainer = T3STraining(ctx: ctx, examples: pool)
        var norms = [Double](repeating: 0, count: pool.count)
        for i in mine {
            ctx.model.zeroGradients()
            _ = trainer.forwardBackward([i], weights: nil, normalizer: Double(max(1, pool[i].completion.count)))
            norms[i] = ctx.model.gradients.toArray().reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        }
        ctx.model.zeroGradients()
        return try comm.allreduceSum(norms)
    }

    /// cos(∇ℓ(z), ∇ℓ(probe)) restricted to `heads`' parameters.
    private func gradientScores(_ ids: [Int], heads: [AttentionHead]) -> [Double] {
        let ranges = ctx.model.layout.headRanges(heads)
        let trainer = T3STraining(ctx: ctx, examples: pool + probe)
        func restricted(_ ids: [Int], tokens: Int) -> [Float] {
            ctx.model.zeroGradients()
            _ = trainer.forwardBackward(ids, weights: nil, normalizer: Double(max(1, tokens)))
            let g = ctx.model.gradients.toArray()
            return ranges.flatMap { g[$0] }
        }
        let probeIDs = Array(pool.count..<(pool.count + probe.count))
        let target = restricted(probeIDs, tokens: probe.map(\.completion.count).reduce(0, +))
        let out = ids.map { GradientComparison(restricted([$0], tokens: pool[$0].completion.count), target).cosine }
        ctx.model.zeroGradients()
        return out
    }

    /// [ours] ICL gain of z on the probe set with the model as it is, minus the
    /// gain with `heads` ablated (their O-projection columns zeroed).
    private func iclScores(_ ids: [Int], heads: [AttentionHead]) throws -> [Double] {
        let model = ctx.model, saved = model.parameters.toArray()
        var ablated = saved
        for r in oColumns(heads) { for j in r { ablated[j] = 0 } }
        var gains: [[Double]] = []
        for parameters in [saved, ablated] {
            model.parameters.write(parameters)
            let alone = probeLoss(demonstration: [])
            gains.append(ids.map { alone - probeLoss(demonstration: pool[$0].prompt + pool[$0].completion.dropLast()) })
        }
        model.parameters.write(saved)
        return zip(gains[0], gains[1]).map { $0 - $1 }
    }

    /// The O-projection column runs of `heads` (zeroing them removes the heads' outputs).
    func oColumns(_ heads: [AttentionHead]) -> [Range<Int>] {
        let layout = ctx.model.layout
        return heads.flatMap { h in
            let o = layout["model.layers.\(h.layer).self_attn.o_proj.weight"].range
            return layout.headRanges(h).filter { o.contains($0.lowerBound) }
        }
    }

    /// Mean per-token loss of the probe completions with `demonstration`
    /// before each probe prompt, its oldest tokens cut to fit the context.
    private func probeLoss(demonstration: [Int32]) -> Double {
        let window = ctx.model.config.maxSeqLen + 1
        let rows = probe.map { p -> T3SExample in
            var e = p
            e.prompt = Array(demonstration.suffix(max(0, window - p.prompt.count - p.completion.count))) + p.prompt
            return e
        }
        let lp = CompletionBatch.logProbs(model: ctx.model, pad: ctx.codec.pad, examples: rows, chunk: ctx.scoringChunk).flatMap { $0 }
        return -lp.reduce(0.0) { $0 + Double($1) } / Double(max(1, lp.count))
    }
}
