import Foundation

/// The centred sequence signal of ISPO (METHODS §1) and the spread of I
/// within prompt groups.
///
///     r_seq,i = (2R_o,i − 1)·tanh((I_i − μ_I) / s)
///
/// with μ_I and s the running mean and std of I. Uncentred (the round-one
/// form, `ISPOSignals.sequenceReward`), an I that sits far from 0 for every
/// rollout saturates tanh and r_seq is a constant ±1 that shifts rollouts
/// instead of ranking them.
public enum SequenceSignal {
    /// (2R_o − 1)·tanh((I − μ) / s); `centre` = μ_I.
    public static func centredReward(information: Double, correct: Bool, centre: Double, scale: Double) -> Double {
        (correct ? 1 : -1) * tanh((information - centre) / max(scale, 1e-8))
    }

    /// The mean over groups with at least two values of the within-group std
    /// (unbiased) of I: how much I can rank rollouts of one prompt. 0 when no
    /// group has two values.
    public static func meanWithinGroupStd(_ values: [Double], groupIds: [Int]) -> Double {
        let stats = GroupAdvantages.groupStats(rewards: values, groupIds: groupIds).filter { $0.count >= 2 }
        return stats.isEmpty ? 0 : stats.map(\.std).reduce(0, +) / Double(stats.count)
    }
}
