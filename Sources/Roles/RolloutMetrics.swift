import Objectives

/// Score, length and zero-advantage diagnostics of a step's samples (RL and distill).
enum RolloutMetrics {
    /// `generated`: every sample of the step; `kept`: those trained on; `eos`: the codec's end-of-sequence id.
    static func compute(generated: [RolloutSample], kept: [RolloutSample], eos: Int32) -> [String: Double] {
        let scores = kept.map(\.reward), outcomes = generated.map(\.outcome)
        let lengths = kept.map { Double($0.responseTokens.count) }
        var m: [String: Double] = [
            "critic/score/mean": scores.reduce(0, +) / Double(max(scores.count, 1)),
            "critic/score/max": scores.max() ?? 0, "critic/score/min": scores.min() ?? 0,
            "critic/rewards/mean": scores.reduce(0, +) / Double(max(scores.count, 1)),
            "train/outcome_acc": outcomes.reduce(0, +) / Double(max(outcomes.count, 1)),
            "response_length/mean": lengths.reduce(0, +) / Double(max(lengths.count, 1)),
            "response_length/max": lengths.max() ?? 0,
            "response_length/clip_ratio": Double(kept.filter { $0.responseTokens.last != eos }.count) / Double(max(kept.count, 1)),
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
