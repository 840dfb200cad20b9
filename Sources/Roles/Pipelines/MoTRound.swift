import Comm
import Configs
import Foundation
import Merging
import Objectives
import Optimization
import Tensors
import Transformer

/// What a teacher rank held at one merge (test hook, `JobObserver.didMerge`).
struct MoTRoundRecord {
    /// Round, 1-based.
    var round: Int
    /// θ̄ at the start of the round (the branches' base).
    var base: [Float]
    /// This rank's branch after its training, before the merge.
    var branch: [Float]
    /// The `merge` config the round merged with (DARE's seed differs per round).
    var merge: MergeConfig
    /// The merged parameters on this rank right after the allreduce.
    var merged: [Float]
}

/// One MoT round on this rank: train the branch (or a baseline) on its
/// teacher's traces, then merge the branches by allreduce.
struct MoTRound {
    let ctx: JobContext
    /// Every teacher's correct traces.
    let traces: [[MoTTrace]]
    /// Optimizer steps of each branch per round.
    let branchSteps: [Int]
    /// The `most_traces` baseline's teacher (the most correct traces).
    let mostTraces: Int
    /// This rank's branch (teacher ranks only).
    let myBranch: Int?
    /// The branch ranks' communicator.
    let branchComm: Communicator?

    /// Runs round `round`; returns this rank's metrics: a branch's
    /// `mot/branch_<k>/loss` (its mean training loss over the round's steps, not
    /// the merged student's loss), a baseline's `mot/train_loss` (the same for
    /// the baseline run), and with `merge.probe_prompts` > 0 the `MoTProbe` measurements.
    func run(_ round: Int) throws -> [String: Double] {
        let mc = ctx.config.merge, model = ctx.model
        var metrics: [String: Double] = [:]
        switch mc.baseline {
        case .none:
            guard let k = myBranch, let bc = branchComm else { return metrics }
            let base = model.parameters.toArray()
            // The batch order depends on the round only: branches on identical traces stay identical.
            metrics["mot/branch_\(k)/loss"] = try MoTBranchTraining(ctx: ctx).train(
                traces[k], steps: branchSteps[k],
                seed: SeedMixer.derive(run: ctx.runSeed, step: UInt64(round), purpose: SeedPurpose.motBranchOrder.rawValue))
            if mc.probePrompts > 0 {
                let probe = MoTProbe(ctx: ctx, count: mc.probePrompts)
                metrics.merge(try probe.branchAccuracy(branch: k)) { $1 }
                metrics.merge(try probe.barrier(branch: k, comm: bc, traces: traces)) { $1 }
            }
            let observer = (ctx.observer?.recordsMerges ?? false) ? ctx.observer : nil
            let branch = observer != nil ? model.parameters.toArray() : []
            var roundConfig = mc
            // DARE draws a new mask each round (the same on every rank).
            roundConfig.seed = (mc.seed ?? ctx.config.trainer.seed) &+ (round - 1)
            let plan = try MergePlan(config: roundConfig, branchCount: bc.size, defaultSeed: ctx.config.trainer.seed)
            try base.withUnsafeBufferPointer { bp in
                // Segments = tensors: TIES trims each tensor separately, as mergekit does.
                try allreduceMerge(branch: model.parameters.buffer, base: bp, comm: bc, recipe: plan.recipe,
                                   segments: model.layout.entries.map(\.range))
            }
            observer?.didMerge(MoTRoundRecord(round: round, base: base, branch: branch, merge: roundConfig,
                                              merged: model.parameters.toArray()))
        case .teacher, .mostTraces, .union:
            if myBranch == 0 {
                let examples = baselineExamples(mc)
                metrics["mot/train_loss"] = try MoTBranchTraining(ctx: ctx).train(
                    examples, steps: baselineSteps(mc, examples: examples.count),
                    seed: SeedMixer.derive(run: ctx.runSeed, step: UInt64(round), purpose: SeedPurpose.motBaselineOrder.rawValue))
            }
        }
        return metrics
    }

    /// A baseline's traces: teacher `teacher_index`'s, the most-traces teacher's, or all pooled.
    func baselineExamples(_ mc: MergeConfig) -> [MoTTrace] {
        switch mc.baseline {
        case .teacher: return traces[mc.teacherIndex]
        case .mostTraces: return traces[mostTraces]
        default: return traces.flatMap { $0 }
        }
    }

    /// A baseline's steps per round: all branches' steps together (`baseline_budget=steps`)
    /// or E epochs over its own traces (`epochs`).
    func baselineSteps(_ mc: MergeConfig, examples: Int) -> Int {
        mc.baselineBudget == .steps ? branchSteps.reduce(0, +)
            : mc.epochsPerRound * MoTData.stepsPerEpoch(examples, batch: ctx.warmStart.batchSize)
    }
}

/// A MoT branch's (or baseline's) training: this rank's model alone, no
/// communication, `sft.batch_size` sequences per AdamW step over seeded epoch
/// permutations; cross-entropy on completion tokens + EOS, token mean per batch.
struct MoTBranchTraining {
    let ctx: JobContext

    /// Trains for `steps` steps on `examples`; returns the mean loss over the steps.
    func train(_ examples: [MoTTrace], steps: Int, seed: UInt64) throws -> Double {
        guard steps > 0, !examples.isEmpty else { return 0 }
        let model = ctx.model, codec = ctx.codec, warm = ctx.warmStart
        let P = model.parameters.count
        let adam = AdamW(config: AdamWConfig(lr: warm.lr, weightDecay: 0.01), shard: 0..<P,
                         segments: model.layout.entries.map { DecaySegment(range: $0.range, decays: $0.decays) })
        let schedule = LRSchedule(peak: warm.lr, warmupSteps: max(1, steps / 20), totalSteps: steps, minRatio: 0.1)
        let encoded = try examples.map { ex -> (prompt: [Int32], completion: [Int32]) in
            (try codec.encode(try codec.formatPrompt(ex.prompt)), try codec.encode(ex.completion) + [codec.eos])
        }
        let n = encoded.count, B = min(warm.batchSize, n)
        var order: [Int] = [], cursor = 0, epoch = 0
        var lossSum = 0.0
        for step in 0..<steps {
            var batch: [(prompt: [Int32], completion: [Int32])] = []
            while batch.count < B {
                if cursor == order.count {
                    order = MoTData.permutation(n, seed: SeedMixer.derive(run: seed, step: UInt64(epoch),
                                                                          purpose: SeedPurpose.motEpochPermutation.rawValue))
                    cursor = 0; epoch += 1
                }
                batch.append(encoded[order[cursor]]); cursor += 1
            }
            let normalizer = Double(batch.map(\.completion.count).reduce(0, +))
            let (tokens, targets) = CompletionBatch.make(batch, maxSeqLen: model.config.maxSeqLen, pad: codec.pad)
            model.zeroGradients()
            let loss = model.forwardBackward(batch: tokens, loss: CrossEntropy.loss(targets: targets, normalizer: normalizer))
            let norm = GradientClipping.clip(model.gradients.pointer, count: P, maxNorm: 1.0)
            guard norm.isFinite else { continue }
            adam.step(parameters: model.parameters.pointer, gradients: model.gradients.pointer, lr: schedule.lr(at: step))
            lossSum += loss
        }
        return lossSum / Double(steps)
    }
}

/// A MoT teacher's traces for the first `count` training prompts (the same
/// prompts on every teacher rank), greedy, with the correct ones kept (every
/// one with `merge.keep_wrong_traces`).
struct MoTTraceWriter {
    let ctx: JobContext

    /// What a teacher wrote.
    struct Written {
        /// The kept traces.
        var traces: [MoTTrace]
        /// Traces written (one per prompt) and how many of them verify.
        var written: Int, correct: Int
    }

    /// The kept traces, how many were written and how many were correct.
    func traces(source: MoTTeacherSource, count: Int) throws -> Written {
        let data = ctx.data, model = ctx.model, config = ctx.config
        let keepWrong = config.merge.keepWrongTraces
        let items = (0..<count).map { data.item(step: 0, index: $0, purpose: SeedPurpose.motTraces.rawValue).item }
        var out: [MoTTrace] = []
        var correct = 0
        switch source {
        case .reference(let style):
            for (i, item) in items.enumerated() {
                let completion = try MoTData.referenceCompletion(item, style: style)
                let right = ctx.verify(completion, item).correct
                if right { correct += 1 }
                if right || keepWrong { out.append(MoTTrace(index: i, prompt: item.prompt, completion: completion)) }
            }
        case .model(let path):
            let teacher = try ModelSource.load(path, maxSeqLen: model.config.maxSeqLen)
            guard teacher.config.vocabSize == model.config.vocabSize else {
                throw JobError("teacher \(path) has a vocabulary of \(teacher.config.vocabSize) tokens, the student "
                               + "\(model.config.vocabSize); MoT trains on the teacher's text, so both must use the same tokenizer")
            }
            var engine = RolloutEngine(codec: ctx.codec, verify: ctx.verify, generator: SamplingGenerator(model: teacher))
            let options = SamplingOptions(greedy: true, maxNewTokens: config.rollout.maxNewTokens ?? config.data.maxResponseLength)
            // Chunks bound the KV cache of one generate call.
            var lo = 0
            while lo < items.count {
                let hi = min(items.count, lo + 64)
                let samples = try engine.rollout(items: Array(items[lo..<hi]), indices: Array(lo..<hi), groupSize: 1,
                                                 options: options, runSeed: ctx.runSeed, step: 0, purpose: .motTraces)
                for s in samples {
                    if s.outcome > 0 { correct += 1 }
                    if s.outcome > 0 || keepWrong { out.append(MoTTrace(index: s.groupId, prompt: s.prompt, completion: s.response)) }
                }
                lo = hi
            }
        }
        return Written(traces: out, written: items.count, correct: correct)
    }
}
