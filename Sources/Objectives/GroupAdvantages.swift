import Foundation

/// Group-relative advantages of GRPO (Docs: METHODS.md §0): every rollout is
/// scored against the other rollouts of the same prompt.
public enum GroupAdvantages {
    /// Mean, unbiased standard deviation and size of one group's rewards.
    public struct GroupStats: Equatable {
        /// The group's id as passed in `groupIds`.
        public let groupId: Int
        /// Number of rollouts in the group (G).
        public let count: Int
        /// Mean reward of the group.
        public let mean: Double
        /// Unbiased standard deviation, √(Σ(R − mean)² / (G − 1)), as `torch.std`;
        /// 0 for a group of one (where torch would give NaN).
        public let std: Double
    }

    /// Â_i = (R_i − mean_g) / (max(std_g, σ_min) + ε) with the unbiased std of
    /// rollout i's group (verl `compute_grpo_outcome_advantage`, TRL, for
    /// σ_min = 0), or R_i − mean_g (Dr.GRPO) when `normalizeByStd` is false
    /// (`norm_adv_by_std_in_grpo`).
    ///
    /// - rewards: (N) one scalar reward per rollout.
    /// - groupIds: (N) the prompt group of each rollout; any integers, groups
    ///   need not be contiguous.
    /// - stdFloor: σ_min ≥ 0 (`algorithm.adv_std_floor`): a group whose std is
    ///   below it is divided by σ_min instead, so differences much smaller
    ///   than σ_min stay small advantages instead of becoming unit-size ones
    ///   (METHODS §1). 0 (the default) divides by std_g exactly as before.
    /// - A group whose rewards are all equal gets exactly 0 for every rollout.
    /// - Every group must have at least 2 rollouts (G ≥ 2 is checked as a
    ///   config error upstream; here it is a precondition).
    public static func compute(rewards: [Double], groupIds: [Int], normalizeByStd: Bool,
                               stdFloor: Double = 0, epsilon: Double = 1e-6) -> [Double] {
        precondition(stdFloor >= 0 && stdFloor.isFinite, "GroupAdvantages: std floor \(stdFloor) must be finite and ≥ 0")
        let (stats, slot) = statsAndSlots(rewards: rewards, groupIds: groupIds)
        for s in stats {
            precondition(s.count >= 2, "GroupAdvantages: group \(s.groupId) has \(s.count) rollout; GRPO needs G ≥ 2")
        }
        return rewards.indices.map { i in
            let s = stats[slot[i]]
            let centred = rewards[i] - s.mean
            return normalizeByStd ? centred / (max(s.std, stdFloor) + epsilon) : centred
        }
    }

    /// Per-group statistics, in order of each group's first appearance.
    /// - rewards: (N), groupIds: (N).
    public static func groupStats(rewards: [Double], groupIds: [Int]) -> [GroupStats] {
        statsAndSlots(rewards: rewards, groupIds: groupIds).stats
    }

    /// Fraction of groups whose reward std is below `threshold` (verl/TRL
    /// `frac_reward_zero_std`: the groups that give no learning signal). With
    /// equal group sizes this equals TRL's per-sample fraction. 0 for no groups.
    public static func zeroStdFraction(rewards: [Double], groupIds: [Int], threshold: Double = 1e-6) -> Double {
        let stats = groupStats(rewards: rewards, groupIds: groupIds)
        if stats.isEmpty { return 0 }
        return Double(stats.filter { $0.std < threshold }.count) / Double(stats.count)
    }

    /// The statistics and, for each rollout, the index of its group in `stats`.
    /// Two passes (mean, then squared deviations) so the std of near-equal
    /// rewards does not cancel.
    static func statsAndSlots(rewards: [Double], groupIds: [Int]) -> (stats: [GroupStats], slot: [Int]) {
        precondition(rewards.count == groupIds.count,
                     "GroupAdvantages: \(rewards.count) rewards but \(groupIds.count) group ids")
        var index: [Int: Int] = [:]
        var ids: [Int] = [], counts: [Int] = [], sums: [Double] = []
        var slot = [Int](repeating: 0, count: rewards.count)
        for (i, g) in groupIds.enumerated() {
            let k: Int
            if let known = index[g] { k = known } else {
                k = ids.count; index[g] = k; ids.append(g); counts.append(0); sums.append(0)
            }
            slot[i] = k; counts[k] += 1; sums[k] += rewards[i]
        }
        let means = zip(sums, counts).map { $0 / Double($1) }
        var squares = [Double](repeating: 0, count: ids.count)
        for i in rewards.indices { let d = rewards[i] - means[slot[i]]; squares[slot[i]] += d * d }
        let stats = ids.indices.map { k in
            GroupStats(groupId: ids[k], count: counts[k], mean: means[k],
                       std: counts[k] > 1 ? (squares[k] / Double(counts[k] - 1)).squareRoot() : 0)
        }
        return (stats, slot)
    }
}
