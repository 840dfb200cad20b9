import Checkpoint
import Comm
import Configs
import Foundation
import Merging
import Objectives
import Optimization
import Tasks
import Tensors
import Transformer

/// What a teacher rank held at one merge (test hook, `JobMoTHooks.record`).
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

/// Test hooks of the MoT pipeline.
struct JobMoTHooks {
    /// Record `MoTRoundRecord`s on teacher ranks.
    var record = false
    /// The records, in round order (teacher ranks only).
    var rounds: [MoTRoundRecord] = []
    /// The correct traces of every teacher, on every rank, after collection.
    var traces: [[MoTTrace]] = []
}

/// What a teacher rank reports after writing its traces (an error travels
/// to every rank, so that all of them throw together).
private struct MoTTraceReport: Codable {
    var traces: [MoTTrace] = []
    var written = 0
    var error: String?
}

extension ClusterJob {
    /// `trainer.pipeline=mot`: Merge-of-Thought (METHODS §3).
    ///
    /// 1. Teacher rank k loads `distillation.teacher_models[k]` and writes greedy traces
    ///    for the same `merge.trace_prompts` training prompts; only those whose answer
    ///    verifies are kept; every rank receives every teacher's traces.
    /// 2. Round t = 1…T (`merge.rounds`): teacher rank k trains branch k, a copy of the
    ///    student θ̄, on teacher k's traces for E epochs (`merge.epochs_per_round`;
    ///    batch and peak lr from the SFT settings, fresh AdamW each round, cross-entropy
    ///    on completion tokens); the branches merge with `merge.merge_method` by an
    ///    allreduce over the teacher ranks (`allreduceMerge`), the first teacher rank
    ///    broadcasts θ̄ to every rank, and θ̄ is evaluated.
    /// 3. Baselines (`merge.baseline`): `single` trains θ̄ on the traces of the teacher
    ///    with the most correct traces, `union` on all traces pooled, each for as many
    ///    optimizer steps per round as all MoT branches together take, on the first
    ///    teacher rank.
    ///
    /// Resume: a checkpoint is saved after a round (`checkpoint.save_freq` counts
    /// rounds), and a rerun continues after the last saved round k: `run()`
    /// restores θ̄, rounds 1…k are skipped, rounds k+1…T run. The traces are
    /// regenerated rather than saved: they are a pure function of the teachers
    /// and the seed (the same prompts, greedy decoding or the reference writer),
    /// cost one greedy pass per teacher, and the job state keeps their CRC-32C
    /// (`motTraceCRC`), so a changed teacher is refused instead of silently
    /// training on other traces. Nothing else spans rounds: each round starts a
    /// fresh AdamW and an lr schedule of its own, its batch order and DARE mask
    /// are seeded by the round number, and its base is θ̄. A run resumed after
    /// round k ends on the uninterrupted run's θ̄ bit for bit (`MoTResumeTests`).
    func runMergeOfThought(resumed: JobState?) throws {
        let teachers = layout.ranks(.teacher)
        let K = teachers.count
        let mc = config.merge
        let specs = config.distillation.teacherModels
        guard K >= 1 else { throw JobError("trainer.pipeline=mot needs teacher ranks; the layout has none (\(layout.describe()))") }
        guard specs.count == K else {
            throw JobError("trainer.pipeline=mot: distillation.teacher_models lists \(specs.count) model(s) but the layout "
                           + "has \(K) teacher rank(s) (\(layout.describe())); list one teacher per teacher rank "
                           + "(a checkpoint directory, a model file or reference@styleN)")
        }
        guard mc.tracePrompts >= 1 else { throw JobError("merge.trace_prompts (\(mc.tracePrompts)) must be ≥ 1") }
        guard warmStart.batchSize >= 1, warmStart.lr > 0 else {
            throw JobError("trainer.pipeline=mot trains branches with the SFT settings: --sft-batch (\(warmStart.batchSize)) "
                           + "must be ≥ 1 and --sft-lr (\(warmStart.lr)) > 0")
        }
        let myBranch = teachers.firstIndex(of: world.rank)

        // 1. Traces.
        let tTraces = Date()
        var report = MoTTraceReport()
        if let k = myBranch {
            do {
                let source = try MoTTeacherSource.parse(specs[k])
                (report.traces, report.written) = try writeTraces(source: source, count: mc.tracePrompts)
            } catch { report.error = "teacher rank \(world.rank) (\(specs[k])): \(error)" }
        }
        let reports = try world.allgatherBytes(Array(try JSONEncoder().encode(report)))
            .map { try JSONDecoder().decode(MoTTraceReport.self, from: Data($0)) }
        if let e = reports.compactMap({ $0.error }).first { throw JobError("mot traces: \(e)") }
        let traces = teachers.map { reports[$0].traces }
        motHooks.traces = traces
        let traceCRC = CRC32C.checksum(try JSONCoding.encode(traces))
        motTraceCRC = traceCRC
        if let state = resumed, state.step > 0 {
            if let saved = state.motTraceCRC, saved != traceCRC {
                throw JobError("mot: the regenerated teacher traces differ from those rounds 1…\(state.step) trained on (CRC "
                               + "\(CRC32C.hex(traceCRC)), the checkpoint expects \(CRC32C.hex(saved))): distillation.teacher_models, "
                               + "merge.trace_prompts or a teacher's weights changed. Resume with the original teachers, or "
                               + "checkpoint.resume_mode=disable to start over.")
            } else if state.motTraceCRC == nil && isLeader {
                print("ispo-cluster: note: the checkpoint of round \(state.step) records no trace CRC; the regenerated traces are not checked")
            }
        }
        var traceMetrics: [String: Double] = ["timing_s/mot_traces": Date().timeIntervalSince(tTraces)]
        for (k, t) in traces.enumerated() {
            traceMetrics["mot/teacher_\(k)/traces"] = Double(t.count)
            traceMetrics["mot/teacher_\(k)/trace_acc"] = Double(t.count) / Double(max(1, reports[teachers[k]].written))
        }

        // Steps: branch k takes E epochs over its traces per round; a baseline takes their sum.
        let B = warmStart.batchSize, E = mc.epochsPerRound
        let branchSteps = traces.map { E * MoTData.stepsPerEpoch($0.count, batch: B) }
        let roundSteps = branchSteps.reduce(0, +)
        guard roundSteps > 0 else {
            throw JobError("mot: no teacher wrote a correct trace for the \(mc.tracePrompts) prompts; train stronger "
                           + "teachers (Launch/mot-teachers.sh) or check distillation.teacher_models")
        }
        // The best single teacher: most correct traces, ties to the lower index.
        let best = traces.indices.max { (traces[$0].count, -$0) < (traces[$1].count, -$1) }!
        traceMetrics["mot/best_teacher"] = Double(best)
        traceMetrics["mot/steps_per_round"] = Double(roundSteps)
        if isLeader {
            let counts = traces.enumerated().map { "teacher \($0.offset): \($0.element.count)" }.joined(separator: ", ")
            print("mot: \(mc.baseline == .none ? "merge-of-thought (\(mc.mergeMethod.rawValue))" : "baseline \(mc.baseline.rawValue)"), "
                  + "\(K) teacher(s), correct traces of \(mc.tracePrompts) prompts: \(counts); \(mc.rounds) round(s) of "
                  + "\(roundSteps) optimizer step(s) in all")
            if let state = resumed, state.step > 0 { print("mot: rounds 1…\(state.step) done (checkpoint), continuing") }
            fflush(stdout)
        }
        let branchComm = try world.split(color: myBranch == nil ? nil : 0, key: world.rank)

        // Evaluation and checkpoints after every round (`runSteps`).
        try runSteps(resumed: resumed, total: mc.rounds, testFreq: 1) { round in
            let t = Date()
            var losses = [Double](repeating: 0, count: K)
            switch mc.baseline {
            case .none:
                if let k = myBranch, let bc = branchComm {
                    let base = model.parameters.toArray()
                    // The batch order depends on the round only: branches on identical traces stay identical.
                    losses[k] = try trainOnTraces(traces[k], steps: branchSteps[k],
                                                  seed: SeedMixer.derive(run: runSeed, step: UInt64(round), purpose: 31))
                    let branch = motHooks.record ? model.parameters.toArray() : []
                    var roundConfig = mc
                    // DARE draws a new mask each round (the same on every rank).
                    roundConfig.seed = (mc.seed ?? config.trainer.seed) &+ (round - 1)
                    try base.withUnsafeBufferPointer { bp in
                        // Segments = tensors: TIES trims each tensor separately, as mergekit does.
                        _ = try allreduceMerge(branch: model.parameters.buffer, base: bp, comm: bc,
                                               config: roundConfig, runSeed: config.trainer.seed,
                                               segments: model.layout.entries.map(\.range))
                    }
                    if motHooks.record {
                        motHooks.rounds.append(MoTRoundRecord(round: round, base: base, branch: branch, merge: roundConfig,
                                                              merged: model.parameters.toArray()))
                    }
                }
            case .single, .union:
                if myBranch == 0 {
                    let examples = mc.baseline == .single ? traces[best] : traces.flatMap { $0 }
                    losses[0] = try trainOnTraces(examples, steps: roundSteps,
                                                  seed: SeedMixer.derive(run: runSeed, step: UInt64(round), purpose: 32))
                }
            }
            try world.broadcast(model.parameters.buffer, root: teachers[0])
            let allLosses = try world.allreduceSum(losses)
            if isLeader {
                var m = round == 1 ? traceMetrics : [:]
                m["mot/round"] = Double(round)
                m["timing_s/mot_round"] = Date().timeIntervalSince(t)
                if mc.baseline == .none {
                    for k in 0..<K { m["mot/branch_\(k)/loss"] = allLosses[k] }
                    m["mot/branch_loss/mean"] = allLosses.reduce(0, +) / Double(K)
                } else {
                    m["mot/train_loss"] = allLosses[0]
                }
                lastStepMetrics = m
                logger?.log(step: round, m)
            }
        }
    }

    /// This teacher's traces for the first `count` training prompts (purpose 21: the
    /// same prompts on every teacher rank), greedy, with the correct ones kept.
    /// Returns the kept traces and how many were written.
    func writeTraces(source: MoTTeacherSource, count: Int) throws -> ([MoTTrace], Int) {
        let items = (0..<count).map { data.item(step: 0, index: $0, purpose: 21).item }
        var out: [MoTTrace] = []
        switch source {
        case .reference(let style):
            for (i, item) in items.enumerated() {
                let completion = try MoTData.referenceCompletion(item, style: style)
                if verify(completion, item).correct { out.append(MoTTrace(index: i, prompt: item.prompt, completion: completion)) }
            }
        case .model(let path):
            let teacher = try MoTTeacherLoading.load(path: path, maxSeqLen: model.config.maxSeqLen)
            guard teacher.config.vocabSize == model.config.vocabSize else {
                throw JobError("teacher \(path) has a vocabulary of \(teacher.config.vocabSize) tokens, the student "
                               + "\(model.config.vocabSize); MoT trains on the teacher's text, so both must use the same tokenizer")
            }
            var engine = RolloutEngine(model: teacher, codec: codec, verify: verify)
            let options = SamplingOptions(greedy: true, maxNewTokens: config.rollout.maxNewTokens ?? config.data.maxResponseLength)
            // Chunks bound the KV cache of one generate call.
            var lo = 0
            while lo < items.count {
                let hi = min(items.count, lo + 64)
                let samples = try engine.rollout(items: Array(items[lo..<hi]), indices: Array(lo..<hi), groupSize: 1,
                                                 options: options, runSeed: runSeed, step: 0, purpose: 21)
                for s in samples where s.outcome > 0 {
                    out.append(MoTTrace(index: s.groupId, prompt: s.prompt, completion: s.response))
                }
                lo = hi
            }
        }
        return (out, items.count)
    }

    /// Trains this rank's `model` alone (no communication) on `examples` for `steps`
    /// AdamW steps of `warmStart.batchSize` sequences, walking seeded epoch
    /// permutations; cross-entropy on completion tokens + EOS, token mean per batch.
    /// Returns the mean loss over the steps.
    func trainOnTraces(_ examples: [MoTTrace], steps: Int, seed: UInt64) throws -> Double {
        guard steps > 0, !examples.isEmpty else { return 0 }
        let P = model.parameters.count
        let adam = AdamW(config: AdamWConfig(lr: warmStart.lr, weightDecay: 0.01), shard: 0..<P,
                         segments: model.layout.entries.map { DecaySegment(range: $0.range, decays: $0.decays) })
        let schedule = LRSchedule(peak: warmStart.lr, warmupSteps: max(1, steps / 20), totalSteps: steps, minRatio: 0.1)
        let encoded = try examples.map { ex -> (prompt: [Int32], completion: [Int32]) in
            (try codec.encode(codec.formatPrompt(ex.prompt)), try codec.encode(ex.completion) + [codec.eos])
        }
        let n = encoded.count, B = min(warmStart.batchSize, n)
        var order: [Int] = [], cursor = 0, epoch = 0
        var lossSum = 0.0
        for step in 0..<steps {
            var batch: [(prompt: [Int32], completion: [Int32])] = []
            while batch.count < B {
                if cursor == order.count {
                    order = MoTData.permutation(n, seed: SeedMixer.derive(run: seed, step: UInt64(epoch), purpose: 33))
                    cursor = 0; epoch += 1
                }
                batch.append(encoded[order[cursor]]); cursor += 1
            }
            let normalizer = Double(batch.map(\.completion.count).reduce(0, +))
            let (tokens, targets) = completionBatch(batch)
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
