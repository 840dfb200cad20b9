import Comm
import Foundation
import Merging
import Objectives
import Tensors
import Transformer

/// MoT's mechanism measurements after a round's branch training (issue #18,
/// `merge.probe_prompts` > 0): each branch's greedy accuracy per validation
/// family before the merge, and the loss barrier on the line between
/// branches 0 and 1 (`LossBarrier`) on held-back traces of every teacher.
/// Runs on the branch ranks; the merged model's accuracy, and forgetting on
/// the warm-start family (list it in `data.val_files`), are the evaluator's.
struct MoTProbe {
    let ctx: JobContext
    /// Validation prompts per family, and traces per teacher for the barrier.
    let count: Int

    /// This branch's accuracy per family: `mot/branch_<k>/acc/<family>`.
    func branchAccuracy(branch k: Int) throws -> [String: Double] {
        let byFamily = Dictionary(grouping: ctx.validation, by: \.dataSource)
        let items = byFamily.keys.sorted().flatMap { Array(byFamily[$0]!.prefix(count)) }
        var engine = RolloutEngine(codec: ctx.codec, verify: ctx.verify, generator: SamplingGenerator(model: ctx.model))
        let config = ctx.config
        let options = SamplingOptions(greedy: true, maxNewTokens: config.rollout.maxNewTokens ?? config.data.maxResponseLength)
        var out: [String: Double] = [:]
        var lo = 0, samples: [RolloutSample] = []
        while lo < items.count {  // chunks bound one generate call's KV cache
            let hi = min(items.count, lo + 64)
            samples += try engine.rollout(items: Array(items[lo..<hi]), indices: Array(lo..<hi), groupSize: 1, options: options,
                                          runSeed: ctx.runSeed, step: 0, purpose: .evaluation)
            lo = hi
        }
        for (family, group) in Dictionary(grouping: samples, by: \.dataSource) {
            out["mot/branch_\(k)/acc/\(family)"] = group.map(\.outcome).reduce(0, +) / Double(group.count)
        }
        return out
    }

    /// Collective over the branch ranks: branch 1's parameters go to every
    /// branch rank; branch 0 measures the mean cross-entropy at α ∈ {0, ¼, ½, ¾, 1}
    /// on the last `count` traces of every teacher and restores its own parameters.
    /// `mot/barrier/loss_<α>` and `mot/barrier/height` on branch 0, nothing elsewhere.
    func barrier(branch k: Int, comm: Communicator, traces: [[MoTTrace]]) throws -> [String: Double] {
        guard comm.size >= 2 else { return [:] }
        let model = ctx.model, P = model.parameters.count
        let other = FlatBuffer(count: P)
        other.pointer.update(from: model.parameters.pointer, count: P)
        try comm.broadcast(other.buffer, root: 1)
        guard k == 0 else { return [:] }
        let own = model.parameters.toArray()
        defer { model.parameters.write(own) }
        let held = traces.flatMap { $0.suffix(count) }
        let alphas = LossBarrier.grid(4)
        var losses: [Double] = []
        for a in alphas {
            own.withUnsafeBufferPointer { LossBarrier.interpolate($0.baseAddress!, other.pointer, count: P, alpha: a,
                                                                  into: model.parameters.pointer) }
            losses.append(try meanLoss(held))
        }
        var out = ["mot/barrier/height": LossBarrier.height(alphas: alphas, losses: losses)]
        for (a, l) in zip(alphas, losses) { out[String(format: "mot/barrier/loss_%.2f", a)] = l }
        return out
    }

    /// Token-mean cross-entropy of the model on `examples` (completion + EOS), in batches of 32.
    func meanLoss(_ examples: [MoTTrace]) throws -> Double {
        let model = ctx.model, codec = ctx.codec
        let encoded = try examples.map { ex -> (prompt: [Int32], completion: [Int32]) in
            (try codec.encode(try codec.formatPrompt(ex.prompt)), try codec.encode(ex.completion) + [codec.eos])
        }
        var total = 0.0, tokens = 0.0
        for lo in stride(from: 0, to: encoded.count, by: 32) {
            let batch = Array(encoded[lo..<min(encoded.count, lo + 32)])
            let n = Double(batch.map(\.completion.count).reduce(0, +))
            let (t, targets) = CompletionBatch.make(batch, maxSeqLen: model.config.maxSeqLen, pad: codec.pad)
            model.zeroGradients()
            total += n * model.forwardBackward(batch: t, loss: CrossEntropy.loss(targets: targets, normalizer: n))
            tokens += n
        }
        model.zeroGradients()
        return tokens > 0 ? total / tokens : 0
    }
}
