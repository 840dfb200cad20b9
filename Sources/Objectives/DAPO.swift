import Foundation

/// DAPO's soft overlong punishment (`reward.overlong_buffer.*` in verl's DAPO
/// reward manager): responses that run into the last `bufferLength` tokens
/// before `maxResponseLength` lose reward linearly, up to `penaltyFactor`.
public enum OverlongShaping {
    /// The (non-positive) reward added for a response of `responseLength` tokens:
    ///
    ///     0                                   if L ≤ Lmax − Lbuf
    ///     −f · (L − (Lmax − Lbuf)) / Lbuf     if Lmax − Lbuf < L ≤ Lmax
    ///     −f                                  if L > Lmax
    ///
    /// Equal to verl's `min(−exceed_len / len · penalty_factor, 0)` wherever
    /// verl can see a length (it truncates at Lmax); beyond Lmax we hold −f,
    /// the DAPO paper's constant punishment, instead of extrapolating.
    /// - bufferLength: `overlong_buffer.len`, 1…maxResponseLength.
    /// - penaltyFactor: `overlong_buffer.penalty_factor` (DAPO: 1).
    public static func penalty(responseLength: Int, maxResponseLength: Int, bufferLength: Int,
                               penaltyFactor: Double) -> Double {
        precondition(bufferLength > 0 && bufferLength <= maxResponseLength,
                     "OverlongShaping: buffer length \(bufferLength) must be in 1…\(maxResponseLength) (max response length)")
        let expected = maxResponseLength - bufferLength
        let exceed = Double(min(responseLength, maxResponseLength) - expected)
        return exceed <= 0 ? 0 : -penaltyFactor * exceed / Double(bufferLength)
    }

    /// `rewards[i] + penalty(responseLengths[i], …)` for every rollout.
    /// - rewards: (N), responseLengths: (N) response tokens (EOS included, as verl counts them).
    public static func shape(rewards: [Double], responseLengths: [Int], maxResponseLength: Int,
                             bufferLength: Int, penaltyFactor: Double) -> [Double] {
        precondition(rewards.count == responseLengths.count,
                     "OverlongShaping: \(rewards.count) rewards but \(responseLengths.count) lengths")
        return zip(rewards, responseLengths).map { r, l in
            r + penalty(responseLength: l, maxResponseLength: maxResponseLength,
                        bufferLength: bufferLength, penaltyFactor: penaltyFactor)
        }
    }
}

/// DAPO dynamic sampling (`algorithm.filter_groups`): keep only the groups
/// whose metric varies, so every kept group has a non-zero advantage somewhere;
/// the caller refills the batch from further rollouts until it has enough.
public enum DynamicSampling {
    /// Which groups and rows survive the filter.
    public struct Selection: Equatable {
        /// Ids of the kept groups, in order of first appearance.
        public let keptGroupIds: [Int]
        /// Indices of the rows belonging to kept groups, ascending.
        public let keptRows: [Int]
        /// Number of groups dropped because all their values were equal.
        public let droppedGroups: Int
    }

    /// Keeps a group when its values are not all equal (verl: `np.std(vals) > 0`)
    /// or when it has a single rollout (verl keeps those too; G ≥ 2 is enforced
    /// upstream). Exact equality, as verl: rewards are verifier outcomes.
    /// - values: (N) the `filter_groups.metric` per rollout (`acc`, `score`, `seq_reward`, …).
    /// - groupIds: (N) the prompt group of each rollout.
    public static func select(values: [Double], groupIds: [Int]) -> Selection {
        precondition(values.count == groupIds.count,
                     "DynamicSampling: \(values.count) values but \(groupIds.count) group ids")
        var index: [Int: Int] = [:]
        var ids: [Int] = [], lo: [Double] = [], hi: [Double] = [], counts: [Int] = []
        for (v, g) in zip(values, groupIds) {
            if let k = index[g] {
                lo[k] = min(lo[k], v); hi[k] = max(hi[k], v); counts[k] += 1
            } else {
                index[g] = ids.count; ids.append(g); lo.append(v); hi.append(v); counts.append(1)
            }
        }
        let keep = ids.indices.map { hi[$0] > lo[$0] || counts[$0] == 1 }
        let keptRows = groupIds.indices.filter { i in index[groupIds[i]].map { keep[$0] } ?? false }
        return Selection(keptGroupIds: ids.indices.filter { keep[$0] }.map { ids[$0] },
                         keptRows: keptRows, droppedGroups: keep.filter { !$0 }.count)
    }
}
