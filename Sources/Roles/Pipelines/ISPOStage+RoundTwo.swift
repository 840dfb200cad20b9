import Foundation
import Objectives
import Tasks

/// ISPO round two (METHODS §1, issue #17): the centred sequence signal, `token`
/// credit placement, the jitter control and the mechanism diagnostics.
extension ISPOStage {
    /// r_seq of one rollout: tanh((I − μ_I)/s) when `centre_sequence`, else the
    /// round-one tanh(I/s); signed by the outcome.
    func sequenceReward(_ g: IntrinsicSignals, correct: Bool, scale: RunningScale) -> Double {
        config.centreSequence
            ? SequenceSignal.centredReward(information: g.sequenceInformation, correct: correct, centre: scale.mean, scale: scale.value)
            : ISPOSignals.sequenceReward(information: g.sequenceInformation, correct: correct, scale: scale.value)
    }

    /// λ_s·r_seq + λ_t·r_tok as ISPO's `sequence` credit would add it (0 without signals),
    /// whatever the arm: the quantity the jitter control matches and the mechanism measurement ranks.
    func intrinsicTerm(_ s: RolloutSample, scale: RunningScale) -> Double {
        guard let g = s.signals else { return 0 }
        let rSeq = config.sequenceSignal && g.hasAnswer ? sequenceReward(g, correct: s.outcome > 0.5, scale: scale) : 0
        let rTok = config.tokenReward ? g.tokenReward : 0
        return config.lambdaSeq * rSeq + config.lambdaTok * rTok
    }

    /// The jitter control: R_i += √v·z_i, v = the pooled within-group variance of
    /// the intrinsic terms of this batch, z_i seeded by (seed, step, group, position).
    func addJitter(_ samples: inout [RolloutSample], scale: RunningScale, step: Int, seed: UInt64) {
        let v = RewardJitter.pooledWithinGroupVariance(samples.map { intrinsicTerm($0, scale: scale) },
                                                       groupIds: samples.map(\.groupId))
        let sd = v.squareRoot()
        for k in samples.indices {
            let index = samples[k].groupId &* 65_536 &+ k
            samples[k].reward += sd * RewardJitter.standardNormal(seed: seed, step: step, index: index)
        }
    }

    /// `token` credit: sets each sample's per-token advantage terms, δ_i =
    /// λ_t·(r_tok,i − group mean) on its critical tokens; returns
    /// `ispo/token_credit_abs` (mean |δ|). Does nothing (and returns nothing) otherwise.
    func placeTokenCredit(_ samples: inout [RolloutSample]) -> [String: Double] {
        let i = config
        guard i.enable, i.tokenReward, i.tokenCredit == .token, !samples.isEmpty else { return [:] }
        let deltas = TokenCredit.rolloutTerms(tokenRewards: samples.map { $0.signals?.tokenReward ?? 0 },
                                              groupIds: samples.map(\.groupId), lambda: i.lambdaTok)
        for k in samples.indices {
            let critical = samples[k].signals?.critical.map(Int.init) ?? []
            samples[k].tokenAdvantageTerms = TokenCredit.perToken(term: deltas[k], critical: critical,
                                                                  responseLength: samples[k].responseTokens.count)
        }
        return ["ispo/token_credit_abs": deltas.map(abs).reduce(0, +) / Double(deltas.count)]
    }

    /// Round-two diagnostics of a step's generated samples: I's spread within
    /// groups, the variance of the intrinsic term, and — within all-wrong
    /// groups — the Spearman correlation of the intrinsic term (and of r_tok and
    /// I alone) with the partial-correctness label (correct leading steps).
    func roundTwoMetrics(_ samples: [RolloutSample], scale: RunningScale) -> [String: Double] {
        let with = samples.filter { $0.signals != nil }
        let answered = with.filter { $0.signals!.hasAnswer }
        var m: [String: Double] = [
            "ispo/seq_info_group_std": SequenceSignal.meanWithinGroupStd(answered.map(\.signals!.sequenceInformation),
                                                                         groupIds: answered.map(\.groupId)),
            "ispo/seq_info_running_mean": scale.mean,
            "ispo/intrinsic_var": RewardJitter.pooledWithinGroupVariance(with.map { intrinsicTerm($0, scale: scale) },
                                                                         groupIds: with.map(\.groupId)),
        ]
        // All-wrong groups, each rollout labelled by its correct leading steps.
        let wrongGroups = Set(GroupAdvantages.groupStats(rewards: with.map(\.outcome), groupIds: with.map(\.groupId))
            .filter { $0.std < 1e-6 && $0.mean < 0.5 }.map(\.groupId))
        var x: [Double] = [], tok: [Double] = [], info: [Double] = [], label: [Double] = [], ids: [Int] = []
        for s in with where wrongGroups.contains(s.groupId) {
            guard let p = PartialCorrectness.correctSteps(spec: s.dataSource, prompt: s.prompt, completion: s.response) else { continue }
            x.append(intrinsicTerm(s, scale: scale)); tok.append(s.signals!.tokenReward)
            info.append(s.signals!.sequenceInformation); label.append(Double(p)); ids.append(s.groupId)
        }
        if !label.isEmpty { m["ispo/wrong_partial_steps"] = label.reduce(0, +) / Double(label.count) }
        let rho = Spearman.meanWithinGroups(x, label, groupIds: ids)
        m["ispo/spearman_groups"] = Double(rho.groups)
        if let r = rho.mean { m["ispo/spearman_intrinsic_vs_partial"] = r }
        if let r = Spearman.meanWithinGroups(tok, label, groupIds: ids).mean { m["ispo/spearman_tok_vs_partial"] = r }
        if let r = Spearman.meanWithinGroups(info, label, groupIds: ids).mean { m["ispo/spearman_seqinfo_vs_partial"] = r }
        return m
    }
}
