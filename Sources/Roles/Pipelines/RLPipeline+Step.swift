import Comm
import Foundation
import Objectives
import Transformer

extension RLPipeline {
    /// The loss settings from the actor section.
    var policyLossConfig: PolicyLossConfig {
        let a = ctx.config.actor
        let agg = LossAggregation(verlName: a.lossAggMode.rawValue, maxLength: ctx.config.data.maxResponseLength) ?? .tokenMean
        return PolicyLossConfig(clipRatioLow: a.clipRatioLow, clipRatioHigh: a.clipRatioHigh, clipRatioC: a.clipRatioC,
                                klLossCoef: a.useKLLoss ? a.klLossCoef : 0,
                                klEstimator: KLEstimator(verlName: a.klLossType.rawValue) ?? .k3,
                                entropyCoeff: a.entropyCoeff, aggregation: agg)
    }

    /// One synchronous GRPO step: sync → rollout → gather → advantages →
    /// sharded update(s) → metrics.
    func step(_ step: Int) throws {
        let config = ctx.config
        let stepStart = Date()
        let syncSeconds = try ctx.syncWeights()
        try freezeReferenceIfNeeded()
        let G = config.rollout.n, P = config.data.trainBatchSize
        // Rollout, refilling with fresh prompts while dynamic sampling drops groups.
        var kept: [RolloutSample] = []
        var generated: [RolloutSample] = []
        var genSeconds = 0.0, rewardSeconds = 0.0, signalSeconds = 0.0, genBatches = 0
        let filter = config.algorithm.filterGroups
        repeat {
            let items = ctx.data.batch(step: PromptStream.firstBatch(ofStep: step) + genBatches, count: P)
            let batches = try rolloutAndGather(items: items, indexOffset: genBatches * P, step: step)
            genSeconds += batches.map(\.generationSeconds).max() ?? 0
            rewardSeconds += batches.map(\.rewardSeconds).max() ?? 0
            signalSeconds += batches.map(\.signalSeconds).max() ?? 0
            var samples = batches.flatMap(\.samples).sorted { $0.groupId < $1.groupId }
            shapeRewards(&samples)
            ispo.apply(&samples, scale: &ispoScale, step: step, seed: ctx.runSeed)
            flagStage.penalise(&samples)
            generated += samples
            if filter.enable {
                let sel = DynamicSampling.select(values: samples.map(\.reward), groupIds: samples.map(\.groupId))
                kept += sel.keptRows.map { samples[$0] }
            } else {
                kept += samples
            }
            genBatches += 1
        } while filter.enable && kept.count < P * G && genBatches < PromptStream.batchesPerStep
            && (filter.maxNumGenBatches <= 0 || genBatches < filter.maxNumGenBatches)
        if kept.count > P * G { kept = Array(kept.prefix(P * G)) }
        let flagFiltered = flagStage.filter(kept)
        kept = flagFiltered.kept

        var metrics = RolloutMetrics.compute(generated: generated, kept: kept, eos: ctx.codec.eos)
        metrics["timing_s/gen"] = genSeconds
        metrics["timing_s/reward"] = rewardSeconds
        if config.algorithm.ispo.computesSignals { metrics["timing_s/ispo_signals"] = signalSeconds }
        metrics.merge(ispo.metrics(generated, scale: ispoScale)) { $1 }
        metrics["timing_s/sync_weights"] = syncSeconds
        metrics["train/num_gen_batches"] = Double(genBatches)
        metrics.merge(flagStage.metrics(generated)) { $1 }
        if flagStage.config.filter { metrics["flag/filtered"] = Double(flagFiltered.dropped) }
        metrics.merge(ispo.placeTokenCredit(&kept)) { $1 }
        let adv = GroupAdvantages.compute(rewards: kept.map(\.reward), groupIds: kept.map(\.groupId),
                                          normalizeByStd: config.algorithm.normAdvByStdInGRPO,
                                          stdFloor: config.algorithm.advStdFloor)
        if ctx.isLearner, let lc = ctx.learnerComm, !kept.isEmpty {
            let t = Date()
            metrics.merge(try update(kept, advantages: adv, learners: lc, step: step)) { $1 }
            metrics["timing_s/update_actor"] = Date().timeIntervalSince(t)
        }
        let seconds = Date().timeIntervalSince(stepStart)
        metrics["timing_s/step"] = seconds
        let tokens = generated.map { $0.responseTokens.count + $0.promptTokens.count }.reduce(0, +)
        metrics["perf/throughput"] = Double(tokens) / seconds
        metrics["perf/rollout_tokens_per_s"] = Double(generated.map(\.responseTokens.count).reduce(0, +)) / max(genSeconds, 1e-9)
        ctx.logStep(step, metrics)
        if ctx.isLeader, config.trainer.dumpRollouts, let dir = ctx.runDirectory {
            try RolloutDump.write(kept, advantages: adv, step: step, directory: dir)
        }
    }

    /// Rollout ranks generate their share of `items` (item k → rollout rank k mod R);
    /// every rank receives every batch.
    func rolloutAndGather(items: [PromptItem], indexOffset: Int, step: Int) throws -> [RolloutBatch] {
        var mine = RolloutBatch(weightVersion: ctx.weightVersion, step: step, workerRank: ctx.world.rank, samples: [])
        let rollout = ctx.rolloutRanks
        if let r = rollout.firstIndex(of: ctx.world.rank) {
            let idx = Array(stride(from: r, to: items.count, by: rollout.count))
            var engine = RolloutEngine(codec: ctx.codec, verify: ctx.verify,
                                       generator: SamplingGenerator(model: ctx.model, flagDepth: ctx.flag?.depth), flag: ctx.flag)
            mine.samples = try engine.rollout(items: idx.map { items[$0] }, indices: idx.map { $0 + indexOffset },
                                              groupSize: ctx.config.rollout.n, options: ctx.trainingSamplingOptions(),
                                              runSeed: ctx.runSeed, step: step, purpose: .rollout)
            mine.rewardSeconds = engine.verifySeconds
            mine.generationSeconds = engine.generateSeconds
            if let base = reference {
                mine.signalSeconds = try ispo.annotate(&mine.samples, policy: ctx.model, base: base, codec: ctx.codec)
            }
        }
        return try ctx.world.allgatherBytes(mine.encoded()).map { try RolloutBatch(decoding: $0) }
    }

    /// Overlong shaping (DAPO) on top of the verifier outcome.
    func shapeRewards(_ samples: inout [RolloutSample]) {
        let ob = ctx.config.reward.overlongBuffer
        guard ob.enable else { return }
        let maxLen = ctx.config.rollout.maxNewTokens ?? ctx.config.data.maxResponseLength
        for i in samples.indices {
            samples[i].reward = samples[i].outcome + OverlongShaping.penalty(
                responseLength: samples[i].responseTokens.count, maxResponseLength: maxLen,
                bufferLength: ob.len, penaltyFactor: ob.penaltyFactor)
        }
    }

    /// The learners' update: advantages into the trainer's mini-batches, the step's `actor/*` metrics.
    func update(_ samples: [RolloutSample], advantages adv: [Double], learners lc: Communicator, step: Int) throws -> [String: Double] {
        let config = ctx.config
        let opt = optimizer ?? ActorOptimizer.make(model: ctx.model, learners: lc, config: config)
        optimizer = opt
        let equalGroups = Set(GroupAdvantages.groupStats(rewards: samples.map(\.outcome), groupIds: samples.map(\.groupId))
            .filter { $0.std < 1e-6 }.map(\.groupId))
        let objective = PolicyObjective(model: ctx.model, reference: config.actor.useKLLoss ? reference : nil, optimizer: opt,
                                        lossConfig: policyLossConfig, microBatchSize: config.actor.ppoMicroBatchSizePerGPU,
                                        pad: ctx.codec.pad, equalGroups: equalGroups,
                                        measuresEqualGroups: config.algorithm.ispo.computesSignals)
        let lr = ActorOptimizer.lr(step: step, config: config)
        let out = try Trainer(ctx: ctx, optimizer: opt, learners: lc).train(samples, advantages: adv, lr: lr, step: step,
                                                                             objective: objective)
        var m = PolicyObjective.metrics(out.sums).values
        m["actor/grad_norm"] = out.gradNorm
        m["actor/nan_skipped_updates"] = Double(out.skipped)
        let norms = objective.equalGroupNorms
        if !norms.isEmpty {
            // Mean over the step's optimizer steps of ‖g‖ from all-correct / all-wrong groups.
            m["ispo/grad_norm_equal_groups"] = norms.reduce(0, +) / Double(norms.count)
        }
        m["actor/lr"] = lr
        let diffTokens = out.first[PolicyObjective.logProbTokensKey]
        if diffTokens > 0 { m["rollout/logprob_abs_diff"] = out.first[PolicyObjective.logProbDiffKey] / diffTokens }
        m["critic/advantages/mean"] = adv.reduce(0, +) / Double(max(adv.count, 1))
        m["critic/advantages/max"] = adv.max() ?? 0
        m["critic/advantages/min"] = adv.min() ?? 0
        return m
    }
}
