import Comm
import Foundation
import Objectives
import Transformer

extension DistillPipeline {
    /// One distill step (see the type comment).
    func step(_ step: Int) throws {
        let config = ctx.config
        let stepStart = Date()
        let syncSeconds = try ctx.syncWeights()
        // The step's prompts: the same stream as RL, so seeds compare across pipelines.
        let items = ctx.data.batch(step: PromptStream.firstBatch(ofStep: step), count: config.data.trainBatchSize)
        var mine = RolloutBatch(weightVersion: ctx.weightVersion, step: step, workerRank: ctx.world.rank, samples: [])
        var sums = MotabStepSums()
        var timing = MetricSums()
        if mode == .sft {
            try teacherTraces(items: items, step: step, into: &mine)
        } else {
            if let clients = assignment.clients[ctx.world.rank], let teacher {
                let t = Date()
                let stats = try TeacherServer(teacher: LocalTeacher(model: teacher), comm: ctx.world, clients: clients).serve()
                timing.raise("timing_s/teacher_serve", Date().timeIntervalSince(t))
                sums.sums.add("teacher_requests", Double(stats.served))
            }
            if let r = ctx.rolloutRanks.firstIndex(of: ctx.world.rank) {
                let idx = Array(stride(from: r, to: items.count, by: ctx.rolloutRanks.count))
                try studentRollouts(items: idx.map { items[$0] }, indices: idx, step: step, into: &mine, sums: &sums)
            }
        }
        let batches = try ctx.world.allgatherBytes(mine.encoded()).map { try RolloutBatch(decoding: $0) }
        let reduced = try sums.sums.allreduced(over: ctx.world)
        timing.raise("timing_s/gen", batches.map(\.generationSeconds).max() ?? 0)
        timing.raise("timing_s/reward", batches.map(\.rewardSeconds).max() ?? 0)
        timing.raise("timing_s/teacher_score", batches.map(\.signalSeconds).max() ?? 0)
        timing.raise("timing_s/teacher_serve", 0)
        let maxima = try timing.allreduced(over: ctx.world).maxima
        let generated = batches.flatMap(\.samples).sorted { $0.groupId < $1.groupId }
        // sft trains on the correct traces only; the on-policy modes on every rollout.
        let kept = mode == .sft ? generated.filter { $0.outcome > 0 } : generated

        var metrics = RolloutMetrics.compute(generated: generated, kept: kept, eos: ctx.codec.eos)
        if mode == .sft {
            metrics["distill/teacher_trace_acc"] = generated.map(\.outcome).reduce(0, +) / Double(max(generated.count, 1))
            metrics["distill/sft_traces"] = Double(kept.count)
        } else {
            metrics.merge(MotabStepSums(sums: reduced).metrics) { $1 }
            metrics.merge(try boundaryMetrics()) { $1 }
            metrics["timing_s/teacher_score"] = maxima["timing_s/teacher_score"]
            metrics["timing_s/teacher_serve"] = maxima["timing_s/teacher_serve"]
        }
        metrics["timing_s/gen"] = maxima["timing_s/gen"]
        metrics["timing_s/reward"] = maxima["timing_s/reward"]
        metrics["timing_s/sync_weights"] = syncSeconds
        if ctx.isLearner, let lc = ctx.learnerComm, !kept.isEmpty {
            let t = Date()
            metrics.merge(try update(kept, learners: lc, step: step)) { $1 }
            metrics["timing_s/update_actor"] = Date().timeIntervalSince(t)
        }
        let seconds = Date().timeIntervalSince(stepStart)
        metrics["timing_s/step"] = seconds
        let tokens = generated.map { $0.responseTokens.count + $0.promptTokens.count }.reduce(0, +)
        metrics["perf/throughput"] = Double(tokens) / seconds
        ctx.logStep(step, metrics)
        if ctx.isLeader, config.trainer.dumpRollouts, let dir = ctx.runDirectory {
            try RolloutDump.write(generated, advantages: [Double](repeating: 0, count: generated.count), step: step, directory: dir)
        }
    }

    /// `sft` mode: each teacher rank writes G traces for its share of the prompts (teacher tokens throughout).
    private func teacherTraces(items: [PromptItem], step: Int, into mine: inout RolloutBatch) throws {
        guard let t = ctx.teacherRanks.firstIndex(of: ctx.world.rank), let teacher else { return }
        let idx = Array(stride(from: t, to: items.count, by: ctx.teacherRanks.count))
        var engine = RolloutEngine(codec: ctx.codec, verify: ctx.verify, generator: SamplingGenerator(model: teacher))
        mine.samples = try engine.rollout(items: idx.map { items[$0] }, indices: idx, groupSize: ctx.config.rollout.n,
                                          options: ctx.trainingSamplingOptions(), runSeed: ctx.runSeed, step: step,
                                          purpose: .distillTeacherTraces)
        mine.rewardSeconds = engine.verifySeconds
        mine.generationSeconds = engine.generateSeconds
        for i in mine.samples.indices {
            mine.samples[i].provenance = [Int32](repeating: 1, count: mine.samples[i].responseTokens.count)
            mine.samples[i].teacherLogProbs = mine.samples[i].logProbs
        }
    }

    /// A rollout rank's part of a `motab` / `on_policy` step: G spliced
    /// rollouts per prompt with its teacher, scored by the teacher, verified;
    /// the MOTAB sums (and trigger counts on synthetic families) added to `sums`.
    private func studentRollouts(items: [PromptItem], indices: [Int], step: Int, into mine: inout RolloutBatch,
                                 sums: inout MotabStepSums) throws {
        guard let settings else { throw JobError("distill step before the pipeline was prepared") }
        let source: Teacher
        var client: TeacherClient?
        switch assignment.sources[ctx.world.rank] {
        case .local?:
            guard let teacher else { throw JobError("rank \(ctx.world.rank): teacher role without a teacher model") }
            source = LocalTeacher(model: teacher)
        case let .remote(rank)?:
            let c = TeacherClient(comm: ctx.world, teacherRank: rank)
            client = c; source = c
        case nil:
            throw JobError("rank \(ctx.world.rank): rollout rank without a teacher assignment")
        }
        do {
            // The persistent boundary's key of each prompt: its data source (the engine encodes prompts this way).
            let sources = Dictionary(try items.map { (try ctx.codec.encode(try ctx.codec.formatPrompt($0.prompt)), $0.dataSource) },
                                     uniquingKeysWith: { a, _ in a })
            let generator = MotabGenerator(rollout: MotabRollout(model: ctx.model, teacher: source, settings: settings),
                                           fullRows: estimator == .full, boundary: boundaryStore,
                                           keyOf: { sources[$0] ?? "unknown" })
            var engine = RolloutEngine(codec: ctx.codec, verify: ctx.verify, generator: generator)
            mine.samples = try engine.rollout(items: items, indices: indices, groupSize: ctx.config.rollout.n,
                                              options: ctx.trainingSamplingOptions(), runSeed: ctx.runSeed, step: step,
                                              purpose: .rollout)
            mine.generationSeconds = engine.generateSeconds - generator.scoreSeconds
            mine.signalSeconds = generator.scoreSeconds
            mine.rewardSeconds = engine.verifySeconds
            try addSums(generator.completions, items: items, groupSize: ctx.config.rollout.n, to: &sums)
            try client?.shutdown()
        } catch {
            try? client?.shutdown()  // the server's session ends either way
            throw error
        }
    }

    /// The MOTAB sums of a rank's completions, with trigger precision/recall
    /// where the prompt is a synthetic problem whose steps can be checked.
    private func addSums(_ completions: [MotabCompletion], items: [PromptItem], groupSize G: Int,
                         to sums: inout MotabStepSums) throws {
        let families = ctx.data.syntheticFamilies, codec = ctx.codec
        for (n, c) in completions.enumerated() {
            let item = items[n / G]
            sums.add(c)
            if let family = families.first(where: { $0.spec == item.dataSource }),
               let problem = SyntheticPrompt.problem(family: family, prompt: item.prompt) {
                let pieces = c.tokens.map { codec.decode([$0]) }
                let ivs = c.interventions.map { (position: $0.position, discarded: $0.discarded.map { codec.decode([$0]) }) }
                sums.add(try MotabTriggerScoring.score(family: family, problem: problem, pieces: pieces,
                                                       provenance: c.provenance, interventions: ivs))
            }
        }
    }

    /// The learners' update of a distill step: the trainer's mini-batches with
    /// the distillation objective; the NaN policy as in RL.
    func update(_ samples: [RolloutSample], learners lc: Communicator, step: Int) throws -> [String: Double] {
        let config = ctx.config
        let opt = optimizer ?? ActorOptimizer.make(model: ctx.model, learners: lc, config: config)
        optimizer = opt
        let objective = DistillObjective(model: ctx.model, estimator: estimator, alpha: config.distillation.alpha,
                                         crossEntropyOnly: mode == .sft, microBatchSize: config.actor.ppoMicroBatchSizePerGPU,
                                         pad: ctx.codec.pad, useOldLogProbs: config.rollout.temperature == 1)
        let lr = ActorOptimizer.lr(step: step, config: config)
        let out = try Trainer(ctx: ctx, optimizer: opt, learners: lc)
            .train(samples, advantages: [Double](repeating: 0, count: samples.count), lr: lr, step: step, objective: objective)
        var m = DistillObjective.metrics(out.sums).values
        m["actor/loss"] = out.sums["distill/loss"] / Double(max(out.updates, 1))
        m["actor/grad_norm"] = out.gradNorm
        m["actor/lr"] = lr
        m["actor/nan_skipped_updates"] = Double(out.skipped)
        return m
    }
}
