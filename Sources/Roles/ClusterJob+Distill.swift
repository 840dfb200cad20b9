import Checkpoint
import Comm
import Configs
import Foundation
import Objectives
import Tasks
import Tensors
import Transformer

/// Per-rank state of a `distill` run, kept across its steps. Nothing in it
/// changes during the run, so a resumed run rebuilds it from the config (and
/// the checkpoint's `student` teacher) instead of saving it.
final class DistillationRun {
    /// `distillation.mode`.
    let mode: DistillationMode
    /// The reverse-KL estimator.
    let estimator: DistillationEstimator
    /// Monitor and intervention settings (monitor off for `on_policy`).
    let settings: MotabSettings
    /// Which teacher each rollout rank asks.
    let assignment: TeacherAssignment
    /// This rank's teacher network (teacher ranks only).
    /// (Each rollout's monitor starts empty and warms up over its first w tokens:
    /// a prior carried over from earlier rollouts, tried first, sets τ from the
    /// student's typical entropy and silenced the monitor after the first step.)
    let teacher: Model?

    init(mode: DistillationMode, estimator: DistillationEstimator, settings: MotabSettings,
         assignment: TeacherAssignment, teacher: Model?) {
        self.mode = mode; self.estimator = estimator; self.settings = settings
        self.assignment = assignment; self.teacher = teacher
    }
}

extension ClusterJob {
    /// `trainer.pipeline=distill`: MOTAB and its baselines in one loop (METHODS §2).
    ///
    /// Each step: weight sync → rollout ranks generate G samples per prompt
    /// (`motab`: with the entropy monitor and teacher backtracking;
    /// `on_policy`: the same without the monitor), have the teacher score
    /// them, and verify them; or (`sft`) teacher ranks write traces and keep
    /// the correct ones → allgather → learners minimise `DistillationLoss`
    /// (or cross-entropy on the traces) with ZeRO-1 → metrics. The student
    /// may be warm-started first (`--sft-steps`, by `run()`, before the step-0
    /// evaluation, so step 0 is the warm-started student); greedy evaluation
    /// every `trainer.test_freq` steps and at the end.
    ///
    /// Resume, as RL: `run()` restores the student and its AdamW moments from
    /// the checkpoint of step k and skips a finished warm start; the run
    /// continues at step k+1 (a step-0 checkpoint, e.g. an `sft` run's, starts
    /// it). Nothing else carries over from one step to the next: each
    /// rollout's monitor starts empty, a `TeacherServer` session and the
    /// `MotabRollout` generator last one step, the prompts (`data.batch`) and
    /// sampling seeds are functions of (seed, step), the learning rate of the
    /// step, and the teachers are reloaded from `distillation.teacher_models`,
    /// except a `student` teacher, the frozen starting student, which the
    /// checkpoint holds (`restoreStudentTeacher`). A stopped and resumed run
    /// ends on the uninterrupted run's parameters bit for bit
    /// (`DistillResumeTests`), provided the teacher files did not change.
    func runDistillation(resumed: JobState?) throws {
        let d = config.distillation
        guard let estimator = DistillationEstimator(rawValue: d.estimator) else {
            throw JobError("distillation.estimator=\(d.estimator): expected full or sampled")
        }
        let teacherRanks = layout.ranks(.teacher)
        guard !teacherRanks.isEmpty else {
            throw JobError("trainer.pipeline=distill needs a teacher rank; the layout has roles \(layout.describe())")
        }
        // A resumed run's `student` teacher is the student it started with, not the restored one.
        var savedStudentTeacher: FlatBuffer?
        if let state = resumed, let path = resumedCheckpoint, studentTeacherWriter != nil {
            savedStudentTeacher = try restoreStudentTeacher(path: path, step: state.step)
        }
        _ = try syncWeights()  // every rank holds the starting student (a `student` teacher copies it)

        let need = config.data.maxPromptLength + (config.rollout.maxNewTokens ?? config.data.maxResponseLength)
        var teacher: Model?
        if let index = teacherRanks.firstIndex(of: world.rank) {
            let spec = try DistillTeachers.spec(d.teacherModels, index: index, teacherRanks: teacherRanks.count)
            let maxSeqLen = min(need, model.config.maxSeqLen)
            if spec == DistillTeachers.studentSpec, let saved = savedStudentTeacher {
                let t = try Model(config: model.config)
                t.parameters.pointer.update(from: saved.pointer, count: saved.count)
                teacher = t
            } else {
                teacher = try DistillTeachers.load(spec, student: model, maxSeqLen: maxSeqLen)
            }
            if spec == DistillTeachers.studentSpec { frozenStudentTeacher = teacher }
        }
        let boundary = Set(try [";", "\n"].flatMap { try codec.encode($0) })
        let run = DistillationRun(mode: d.mode, estimator: estimator,
                                  settings: MotabSettings(config: d, boundaryTokens: boundary),
                                  assignment: try TeacherAssignment(layout: layout), teacher: teacher)
        if isLeader {
            let from = resumed.map { ", continuing after step \($0.step)" } ?? ""
            print("ispo-cluster: distill mode \(d.mode.rawValue), trigger \(d.trigger.rawValue), estimator \(estimator.rawValue), "
                  + "teachers on ranks \(teacherRanks) (\(d.teacherModels.joined(separator: ", ")))\(from)")
        }
        try runSteps(resumed: resumed, total: config.trainer.totalSteps ?? 0, testFreq: config.trainer.testFreq) { step in
            try distillStep(step, run)
        }
    }

    // MARK: Resume

    /// Checkpoint group of the frozen `student` teacher.
    static let studentTeacherGroup = "teacher"

    /// The rank that saves the frozen `student` teacher: the first teacher rank
    /// whose spec is `student` (nil: no such rank, or not a distill run). Computable on every rank.
    var studentTeacherWriter: Int? {
        guard config.trainer.pipeline == .distill else { return nil }
        let ranks = layout.ranks(.teacher), specs = config.distillation.teacherModels
        let index = ranks.indices.first { i in
            (try? DistillTeachers.spec(specs, index: i, teacherRanks: ranks.count)) == DistillTeachers.studentSpec
        }
        return index.map { ranks[$0] }
    }

    /// Collective, on resume from `path` (step `step`): the frozen `student`
    /// teacher the checkpoint holds, on every rank; nil when a step-0 checkpoint
    /// has none (its student is the starting student, which the teacher copies as usual).
    func restoreStudentTeacher(path: String, step: Int) throws -> FlatBuffer? {
        let group = Self.studentTeacherGroup
        let values = FlatBuffer(count: model.parameters.count)
        var readError: String?, found = false
        if isLeader {
            do {
                let reader = try CheckpointReader(directory: path)
                if !reader.manifest.shards(group: group).isEmpty {
                    let stored = try reader.concatenated(tensor: "parameters", group: group)
                    guard stored.count == values.count else {
                        throw JobError("\(path)/\(group): expected \(values.count) floats, found \(stored.count)")
                    }
                    stored.withUnsafeBufferPointer { values.pointer.update(from: $0.baseAddress!, count: stored.count) }
                    found = true
                } else if step > 0 {
                    throw JobError("\(path) is step \(step) of a distill run with a `student` teacher, but it holds no `\(group)` "
                                   + "group with that frozen starting student (expected \(group)/rank_00000.shard), so the teacher "
                                   + "cannot be rebuilt. Start from a step-0 checkpoint (checkpoint.resume_mode=<path>), or resume_mode=disable.")
                }
            } catch { readError = "\(error)" }
        }
        try agreeOrThrow(readError, what: "restoring the `student` teacher of \(path)")
        guard try world.allreduceMax([found ? 1 : 0])[0] > 0 else { return nil }
        try world.broadcast(values.buffer, root: leaderRank)
        return values
    }

    /// One distill step (see `runDistillation`).
    func distillStep(_ step: Int, _ run: DistillationRun) throws {
        let stepStart = Date()
        let syncSeconds = try syncWeights()
        let P = config.data.trainBatchSize, G = config.rollout.n
        // The step's prompts: the same stream as RL (step·64), so seeds compare across pipelines.
        let items = data.batch(step: step * 64, count: P)
        var mine = RolloutBatch(weightVersion: weightVersion, step: step, workerRank: world.rank, samples: [])
        var sums = MotabStepSums()
        var teacherSeconds = 0.0, served = 0.0
        if run.mode == .sft {
            if let t = layout.ranks(.teacher).firstIndex(of: world.rank), let teacher = run.teacher {
                let T = layout.ranks(.teacher).count
                let idx = Array(stride(from: t, to: items.count, by: T))
                var engine = RolloutEngine(model: teacher, codec: codec, verify: verify)
                let start = Date()
                mine.samples = try engine.rollout(items: idx.map { items[$0] }, indices: idx, groupSize: G, options: trainingSamplingOptions(),
                                                  runSeed: runSeed, step: step, purpose: 11)
                mine.rewardSeconds = engine.verifySeconds
                mine.generationSeconds = Date().timeIntervalSince(start) - engine.verifySeconds
                for i in mine.samples.indices {
                    mine.samples[i].provenance = [Int32](repeating: 1, count: mine.samples[i].responseTokens.count)
                    mine.samples[i].teacherLogProbs = mine.samples[i].logProbs
                }
            }
        } else {
            if let clients = run.assignment.clients[world.rank], let teacher = run.teacher {
                let t = Date()
                let stats = try TeacherServer(teacher: LocalTeacher(model: teacher), comm: world, clients: clients).serve()
                teacherSeconds = Date().timeIntervalSince(t)
                served = Double(stats.served)
            }
            if let r = rolloutRanks.firstIndex(of: world.rank) {
                let idx = Array(stride(from: r, to: items.count, by: rolloutRanks.count))
                let out = try motabRollout(items: idx.map { items[$0] }, indices: idx, step: step, run: run, sums: &sums)
                mine.samples = out.samples
                mine.generationSeconds = out.generationSeconds
                mine.rewardSeconds = out.rewardSeconds
                mine.signalSeconds = out.teacherScoreSeconds
            }
        }
        let batches = try world.allgatherBytes(mine.encoded()).map { try RolloutBatch(decoding: $0) }
        let reduced = try world.allreduceSum(sums.values + [served])
        sums.values = Array(reduced.prefix(MotabStepSums.count))
        let maxima = try world.allreduceMax([batches.map(\.generationSeconds).max() ?? 0, batches.map(\.rewardSeconds).max() ?? 0,
                                             batches.map(\.signalSeconds).max() ?? 0, teacherSeconds])
        let generated = batches.flatMap(\.samples).sorted { $0.groupId < $1.groupId }
        // sft trains on the correct traces only; the on-policy modes on every rollout.
        let kept = run.mode == .sft ? generated.filter { $0.outcome > 0 } : generated

        var metrics = rolloutMetrics(generated: generated, kept: kept)
        if run.mode == .sft {
            metrics["distill/teacher_trace_acc"] = generated.map(\.outcome).reduce(0, +) / Double(Swift.max(generated.count, 1))
            metrics["distill/sft_traces"] = Double(kept.count)
        } else {
            metrics.merge(sums.metrics) { $1 }
            metrics["motab/teacher_requests"] = reduced[MotabStepSums.count]
            metrics["timing_s/teacher_score"] = maxima[2]
            metrics["timing_s/teacher_serve"] = maxima[3]
        }
        metrics["timing_s/gen"] = maxima[0]
        metrics["timing_s/reward"] = maxima[1]
        metrics["timing_s/sync_weights"] = syncSeconds
        if isLearner, let lc = learnerComm, !kept.isEmpty {
            let t = Date()
            metrics.merge(try distillUpdate(kept, run: run, learners: lc, step: step)) { $1 }
            metrics["timing_s/update_actor"] = Date().timeIntervalSince(t)
        }
        let seconds = Date().timeIntervalSince(stepStart)
        metrics["timing_s/step"] = seconds
        let tokens = generated.map { $0.responseTokens.count + $0.promptTokens.count }.reduce(0, +)
        metrics["perf/throughput"] = Double(tokens) / seconds
        if isLeader {
            lastStepMetrics = metrics
            logger?.log(step: step, metrics)
            if config.trainer.dumpRollouts, let dir = runDirectory {
                try dumpRollouts(generated, advantages: [Double](repeating: 0, count: generated.count), step: step, directory: dir)
            }
        }
    }

    /// The sampling settings of training rollouts (`rollout.*`), for RL and distillation.
    func trainingSamplingOptions() -> SamplingOptions {
        SamplingOptions(temperature: Float(config.rollout.temperature), topP: Float(config.rollout.topP),
                        maxNewTokens: config.rollout.maxNewTokens ?? config.data.maxResponseLength)
    }

    /// A rollout rank's part of a `motab` / `on_policy` step: G spliced
    /// rollouts per prompt with its teacher, scored by the teacher, verified;
    /// the MOTAB sums (and trigger counts on synthetic families) added to `sums`.
    func motabRollout(items: [PromptItem], indices: [Int], step: Int, run: DistillationRun,
                      sums: inout MotabStepSums) throws -> (samples: [RolloutSample], generationSeconds: Double,
                                                            rewardSeconds: Double, teacherScoreSeconds: Double) {
        let G = config.rollout.n
        let teacher: Teacher
        var client: TeacherClient?
        switch run.assignment.sources[world.rank] {
        case .local?:
            guard let t = run.teacher else { throw JobError("rank \(world.rank): teacher role without a teacher model") }
            teacher = LocalTeacher(model: t)
        case let .remote(rank)?:
            let c = TeacherClient(comm: world, teacherRank: rank)
            client = c; teacher = c
        case nil:
            throw JobError("rank \(world.rank): rollout rank without a teacher assignment")
        }
        do {
            let result = try motabGenerate(items: items, indices: indices, G: G, step: step, run: run, teacher: teacher, sums: &sums)
            try client?.shutdown()
            return result
        } catch {
            try? client?.shutdown()  // the server's session ends either way
            throw error
        }
    }

    private func motabGenerate(items: [PromptItem], indices: [Int], G: Int, step: Int, run: DistillationRun, teacher: Teacher,
                               sums: inout MotabStepSums) throws -> (samples: [RolloutSample], generationSeconds: Double,
                                                                     rewardSeconds: Double, teacherScoreSeconds: Double) {
        if items.isEmpty { return ([], 0, 0, 0) }
        var prompts: [[Int32]] = [], seeds: [UInt64] = []
        let encoded = try items.map { try codec.encode(codec.formatPrompt($0.prompt)) }
        for (k, p) in encoded.enumerated() {
            for j in 0..<G {
                prompts.append(p)
                seeds.append(SeedMixer.derive(run: runSeed, step: UInt64(step), sample: UInt64(indices[k] * G + j), purpose: 0))
            }
        }
        var options = trainingSamplingOptions()
        options.stopTokens.insert(codec.eos)
        let room = model.config.maxSeqLen - (encoded.map(\.count).max() ?? 0)
        guard room > 0 else {
            throw RolloutError("prompts of up to \(encoded.map(\.count).max() ?? 0) tokens leave no room in model.max_seq_len \(model.config.maxSeqLen)")
        }
        options.maxNewTokens = Swift.min(options.maxNewTokens, room)
        let generator = MotabRollout(model: model, teacher: teacher, settings: run.settings)
        let t0 = Date()
        var completions = try generator.generate(prompts: prompts, options: options, seeds: seeds)
        let t1 = Date()
        try generator.scoreWithTeacher(prompts: prompts, completions: &completions, fullRows: run.estimator == .full)
        let t2 = Date()
        let families = data.syntheticFamilies
        var samples: [RolloutSample] = []
        for (n, c) in completions.enumerated() {
            let item = items[n / G]
            let text = codec.decode(c.tokens)
            let v = verify(text, item)
            let outcome: Double = v.correct ? 1 : 0
            samples.append(RolloutSample(promptTokens: prompts[n], responseTokens: c.tokens, logProbs: c.logProbs,
                                         entropies: c.entropies, provenance: c.provenance, outcome: outcome, reward: outcome,
                                         groupId: indices[n / G], dataSource: item.dataSource, prompt: item.prompt,
                                         response: text, groundTruth: item.groundTruth, verifierTimedOut: v.timedOut,
                                         teacherLogProbs: c.teacherLogProbs, teacherRows: c.teacherRows))
            sums.add(c)
            if let family = families.first(where: { $0.spec == item.dataSource }),
               let problem = SyntheticPrompt.problem(family: family, prompt: item.prompt) {
                let pieces = c.tokens.map { codec.decode([$0]) }
                let ivs = c.interventions.map { (position: $0.position, discarded: $0.discarded.map { codec.decode([$0]) }) }
                sums.add(try MotabTriggerScoring.score(family: family, problem: problem, pieces: pieces,
                                                       provenance: c.provenance, interventions: ivs))
            }
        }
        return (samples, t1.timeIntervalSince(t0), Date().timeIntervalSince(t2), t2.timeIntervalSince(t1))
    }

    /// The learners' update of a distill step: mini-batches of
    /// `actor.ppo_mini_batch_size` prompts (× G), this learner's share of each,
    /// one ZeRO-1 step per mini-batch; the NaN policy as in RL.
    func distillUpdate(_ samples: [RolloutSample], run: DistillationRun, learners lc: Communicator, step: Int) throws -> [String: Double] {
        let optimizer = try actorOptimizer(lc)
        let updater = DistillationUpdate(model: model, optimizer: optimizer, estimator: run.estimator, alpha: config.distillation.alpha,
                                         crossEntropyOnly: run.mode == .sft,
                                         microBatchSize: Swift.max(1, config.actor.ppoMicroBatchSizePerGPU),
                                         gradClip: config.actor.gradClip, pad: codec.pad,
                                         useOldLogProbs: config.rollout.temperature == 1)
        let miniSize = Swift.max(1, config.actor.ppoMiniBatchSize * config.rollout.n)
        var merged = DistillationUpdate.Outcome()
        var skipped = 0, updates = 0
        for _ in 0..<Swift.max(1, config.actor.ppoEpochs) {
            var start = 0
            while start < samples.count {
                let end = Swift.min(samples.count, start + miniSize)
                let mini = Array(samples[start..<end])
                let share = stride(from: lc.rank, to: mini.count, by: lc.size).map { mini[$0] }
                let o = try DistillationUpdate.allreduce(
                    try updater.step(samples: share, normalizer: DistillationUpdate.globalNormalizer(mini), lr: actorLR(step: step)),
                    over: lc)
                if !o.gradNorm.isFinite {
                    if config.checkpoint.nanPolicy == .stop {
                        throw JobError("step \(step): non-finite gradient norm (\(o.gradNorm)); the optimizer step was not applied and "
                                       + "the run stops (checkpoint.nan_policy=stop). Lower actor.optim.lr, or set checkpoint.nan_policy=skip.")
                    }
                    skipped += 1
                } else {
                    try checkParametersFinite(step: step)
                }
                merged.loss += o.loss; merged.metrics.merge(o.metrics); merged.gradNorm = o.gradNorm
                updates += 1
                start = end
            }
        }
        var m = merged.metrics.values
        m["actor/loss"] = merged.loss / Double(Swift.max(updates, 1))
        m["actor/grad_norm"] = merged.gradNorm
        m["actor/lr"] = actorLR(step: step)
        m["actor/nan_skipped_updates"] = Double(skipped)
        return m
    }
}
