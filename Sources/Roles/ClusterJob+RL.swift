import Comm
import Configs
import Foundation
import Objectives
import Tensors
import Transformer

extension ClusterJob {
    /// The loss settings from the actor section.
    var policyLossConfig: PolicyLossConfig {
        let a = config.actor
        let agg = LossAggregation(verlName: a.lossAggMode.rawValue, maxLength: config.data.maxResponseLength) ?? .tokenMean
        return PolicyLossConfig(clipRatioLow: a.clipRatioLow, clipRatioHigh: a.clipRatioHigh, clipRatioC: a.clipRatioC,
                                klLossCoef: a.useKLLoss ? a.klLossCoef : 0,
                                klEstimator: KLEstimator(verlName: a.klLossType.rawValue) ?? .k3,
                                entropyCoeff: a.entropyCoeff, aggregation: agg)
    }

    /// One synchronous GRPO step: sync → rollout → gather → advantages →
    /// sharded update(s) → metrics.
    func rlStep(_ step: Int) throws {
        let stepStart = Date()
        let syncSeconds = try syncWeights()
        try freezeReferenceIfNeeded()
        let G = config.rollout.n, P = config.data.trainBatchSize
        // Rollout, refilling with fresh prompts while dynamic sampling drops groups.
        var kept: [RolloutSample] = []
        var generated: [RolloutSample] = []
        var genSeconds = 0.0, rewardSeconds = 0.0, signalSeconds = 0.0, genBatches = 0
        let filter = config.algorithm.filterGroups
        repeat {
            // Each generation batch of a step draws its own prompts (stream index
            // step·64 + batch; dynamic sampling refills with at most 64 batches a step).
            let items = data.batch(step: step * 64 + genBatches, count: P)
            let batches = try rolloutAndGather(items: items, indexOffset: genBatches * P, step: step)
            genSeconds += batches.map(\.generationSeconds).max() ?? 0
            rewardSeconds += batches.map(\.rewardSeconds).max() ?? 0
            signalSeconds += batches.map(\.signalSeconds).max() ?? 0
            var samples = batches.flatMap(\.samples).sorted { $0.groupId < $1.groupId }
            shapeRewards(&samples)
            applyISPO(&samples)
            generated += samples
            if filter.enable {
                let sel = DynamicSampling.select(values: samples.map(\.reward), groupIds: samples.map(\.groupId))
                kept += sel.keptRows.map { samples[$0] }
            } else {
                kept += samples
            }
            genBatches += 1
        } while filter.enable && kept.count < P * G && genBatches < 64
            && (filter.maxNumGenBatches <= 0 || genBatches < filter.maxNumGenBatches)
        if kept.count > P * G { kept = Array(kept.prefix(P * G)) }

        var metrics = rolloutMetrics(generated: generated, kept: kept)
        metrics["timing_s/gen"] = genSeconds
        metrics["timing_s/reward"] = rewardSeconds
        if config.algorithm.ispo.computesSignals { metrics["timing_s/ispo_signals"] = signalSeconds }
        metrics.merge(ispoMetrics(generated)) { $1 }
        metrics["timing_s/sync_weights"] = syncSeconds
        metrics["train/num_gen_batches"] = Double(genBatches)
        let adv = GroupAdvantages.compute(rewards: kept.map(\.reward), groupIds: kept.map(\.groupId),
                                          normalizeByStd: config.algorithm.normAdvByStdInGRPO)
        if isLearner, let lc = learnerComm, !kept.isEmpty {
            let t = Date()
            metrics.merge(try update(kept, advantages: adv, learners: lc, step: step)) { $1 }
            metrics["timing_s/update_actor"] = Date().timeIntervalSince(t)
        }
        let seconds = Date().timeIntervalSince(stepStart)
        metrics["timing_s/step"] = seconds
        let tokens = generated.map { $0.responseTokens.count + $0.promptTokens.count }.reduce(0, +)
        metrics["perf/throughput"] = Double(tokens) / seconds
        metrics["perf/rollout_tokens_per_s"] = Double(generated.map(\.responseTokens.count).reduce(0, +)) / max(genSeconds, 1e-9)
        if isLeader {
            lastStepMetrics = metrics
            logger?.log(step: step, metrics)
            if config.trainer.dumpRollouts, let dir = runDirectory { try dumpRollouts(kept, advantages: adv, step: step, directory: dir) }
        }
    }

    /// Rollout ranks generate their share of `items` (item k → rollout rank k mod R);
    /// every rank receives every batch.
    func rolloutAndGather(items: [PromptItem], indexOffset: Int, step: Int) throws -> [RolloutBatch] {
        var mine = RolloutBatch(weightVersion: weightVersion, step: step, workerRank: world.rank, samples: [])
        if let r = rolloutRanks.firstIndex(of: world.rank) {
            let idx = Array(stride(from: r, to: items.count, by: rolloutRanks.count))
            var engine = RolloutEngine(model: model, codec: codec, verify: verify)
            let opts = trainingSamplingOptions()
            let t = Date()
            mine.samples = try engine.rollout(items: idx.map { items[$0] }, indices: idx.map { $0 + indexOffset },
                                              groupSize: config.rollout.n, options: opts, runSeed: runSeed, step: step)
            mine.rewardSeconds = engine.verifySeconds
            mine.generationSeconds = Date().timeIntervalSince(t) - engine.verifySeconds
            mine.signalSeconds = try computeSignals(&mine.samples)
        }
        return try world.allgatherBytes(mine.encoded()).map { try RolloutBatch(decoding: $0) }
    }

    /// Overlong shaping (DAPO) on top of the verifier outcome.
    func shapeRewards(_ samples: inout [RolloutSample]) {
        let ob = config.reward.overlongBuffer
        guard ob.enable else { return }
        let maxLen = config.rollout.maxNewTokens ?? config.data.maxResponseLength
        for i in samples.indices {
            samples[i].reward = samples[i].outcome + OverlongShaping.penalty(
                responseLength: samples[i].responseTokens.count, maxResponseLength: maxLen,
                bufferLength: ob.len, penaltyFactor: ob.penaltyFactor)
        }
    }

    /// Advantages, mini-batches, this learner's share, the sharded updates.
    func update(_ samples: [RolloutSample], advantages adv: [Double], learners lc: Communicator, step: Int) throws -> [String: Double] {
        let optimizer = try actorOptimizer(lc)
        let lossConfig = policyLossConfig
        let updater = LearnerUpdate(model: model, reference: config.actor.useKLLoss ? reference : nil, optimizer: optimizer, lossConfig: lossConfig,
                                    microBatchSize: config.actor.ppoMicroBatchSizePerGPU, gradClip: config.actor.gradClip,
                                    pad: codec.pad)
        let miniSize = max(1, config.actor.ppoMiniBatchSize * config.rollout.n)
        var outcome: LearnerUpdate.Outcome?
        var equalGroupNorms: [Double] = []
        var skippedUpdates = 0
        let measureEqual = config.algorithm.ispo.computesSignals
        let equalGroups = Set(GroupAdvantages.groupStats(rewards: samples.map(\.outcome), groupIds: samples.map(\.groupId))
            .filter { $0.std < 1e-6 }.map(\.groupId))
        for epoch in 0..<max(1, config.actor.ppoEpochs) {
            var start = 0
            while start < samples.count {
                let end = min(samples.count, start + miniSize)
                let mini = Array(samples[start..<end]), miniAdv = Array(adv[start..<end])
                let norm = LearnerUpdate.globalNormalizer(mini, aggregation: lossConfig.aggregation)
                var share = Array(stride(from: lc.rank, to: mini.count, by: lc.size))
                // Samples of equal-outcome groups first, so their gradient norm can be measured on its own.
                let isEqual = { (k: Int) in equalGroups.contains(mini[k].groupId) }
                share = share.filter(isEqual) + share.filter { !isEqual($0) }
                if faultHooks.nanGradientSteps.contains(step) && lc.rank == 0 && epoch == 0 && start == 0 {
                    optimizer.injectNonFiniteGradient = true
                }
                let o = try updater.step(samples: share.map { mini[$0] }, advantages: share.map { miniAdv[$0] },
                                         normalizer: norm, lr: actorLR(step: step),
                                         measureLogProbDiff: epoch == 0 && start == 0,
                                         measureLeading: measureEqual ? share.filter(isEqual).count : nil)
                let merged = try UpdateOutcomeReduction.allreduce(o, over: lc)
                if let n = merged.leadingGradNorm { equalGroupNorms.append(n) }
                if outcome == nil { outcome = merged } else {
                    outcome!.loss.merge(merged.loss); outcome!.gradNorm = merged.gradNorm
                }
                if !merged.gradNorm.isFinite {
                    // The optimizer left the parameters untouched on every learner (the norm is global).
                    if config.checkpoint.nanPolicy == .stop {
                        throw JobError("step \(step): non-finite gradient norm (\(merged.gradNorm)); the optimizer step was not applied and "
                                       + "the run stops (checkpoint.nan_policy=stop). Resume from the last checkpoint "
                                       + "(checkpoint.resume_mode=auto) with a lower actor.optim.lr, or set checkpoint.nan_policy=skip.")
                    }
                    skippedUpdates += 1
                    if isLeader {
                        print("ispo-cluster: step \(step): non-finite gradient norm (\(merged.gradNorm)); optimizer step skipped (checkpoint.nan_policy=skip)")
                    }
                } else {
                    try checkParametersFinite(step: step)
                }
                if start == 0 && epoch == 0 {
                    outcome!.logProbAbsDiff = merged.logProbAbsDiff; outcome!.logProbTokens = merged.logProbTokens
                }
                start = end
            }
        }
        var m = outcome?.loss.values ?? [:]
        m["actor/grad_norm"] = outcome?.gradNorm ?? 0
        m["actor/nan_skipped_updates"] = Double(skippedUpdates)
        if !equalGroupNorms.isEmpty {
            // Mean over the step's optimizer steps of ‖g‖ from all-correct / all-wrong groups.
            m["ispo/grad_norm_equal_groups"] = equalGroupNorms.reduce(0, +) / Double(equalGroupNorms.count)
        }
        m["actor/lr"] = actorLR(step: step)
        if let o = outcome, o.logProbTokens > 0 { m["rollout/logprob_abs_diff"] = o.logProbAbsDiff / o.logProbTokens }
        m["critic/advantages/mean"] = adv.reduce(0, +) / Double(max(adv.count, 1))
        m["critic/advantages/max"] = adv.max() ?? 0
        m["critic/advantages/min"] = adv.min() ?? 0
        return m
    }

    /// Score, length and zero-advantage diagnostics of a step's samples.
    func rolloutMetrics(generated: [RolloutSample], kept: [RolloutSample]) -> [String: Double] {
        let scores = kept.map(\.reward), outcomes = generated.map(\.outcome)
        let lengths = kept.map { Double($0.responseTokens.count) }
        var m: [String: Double] = [
            "critic/score/mean": scores.reduce(0, +) / Double(max(scores.count, 1)),
            "critic/score/max": scores.max() ?? 0, "critic/score/min": scores.min() ?? 0,
            "critic/rewards/mean": scores.reduce(0, +) / Double(max(scores.count, 1)),
            "train/outcome_acc": outcomes.reduce(0, +) / Double(max(outcomes.count, 1)),
            "response_length/mean": lengths.reduce(0, +) / Double(max(lengths.count, 1)),
            "response_length/max": lengths.max() ?? 0,
            "response_length/clip_ratio": Double(kept.filter { $0.responseTokens.last != codec.eos }.count) / Double(max(kept.count, 1)),
            "frac_reward_zero_std": GroupAdvantages.zeroStdFraction(rewards: generated.map(\.outcome), groupIds: generated.map(\.groupId)),
            "effective_zero_adv_frac": GroupAdvantages.zeroStdFraction(rewards: kept.map(\.reward), groupIds: kept.map(\.groupId)),
            "reward/verifier_timeouts": Double(generated.filter(\.verifierTimedOut).count),
        ]
        for (source, s) in Dictionary(grouping: generated, by: \.dataSource) {
            m["train/\(source)/acc"] = s.map(\.outcome).reduce(0, +) / Double(s.count)
            m["train/\(source)/frac_reward_zero_std"] = GroupAdvantages.zeroStdFraction(rewards: s.map(\.outcome),
                                                                                         groupIds: s.map(\.groupId))
        }
        return m
    }
}
