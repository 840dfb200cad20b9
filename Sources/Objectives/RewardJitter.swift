import Foundation
import Tensors

/// The jitter control of ISPO (METHODS §1): GRPO's outcome reward plus random
/// noise whose variance matches, at each step, the variance ISPO's intrinsic
/// terms would add. Any jitter breaks ties in all-equal groups; only a gain of
/// ISPO over this arm shows that the intrinsic signals carry information.
///
/// The variance matched is the pooled within-group variance of the intrinsic
/// term λ_s·r_seq + λ_t·r_tok, because only the within-group part reaches the
/// group advantages. The noise is Gaussian, a pure function of (seed, step,
/// rollout index), so every rank draws the same values and a rerun repeats them.
public enum RewardJitter {
    /// Σ_g Σ_{i∈g} (x_i − mean_g)² / Σ_g (n_g − 1), over groups of at least two; 0 when there are none.
    public static func pooledWithinGroupVariance(_ values: [Double], groupIds: [Int]) -> Double {
        let (stats, slot) = GroupAdvantages.statsAndSlots(rewards: values, groupIds: groupIds)
        var ss = 0.0
        for i in values.indices { let d = values[i] - stats[slot[i]].mean; ss += d * d }
        let dof = stats.map { max(0, $0.count - 1) }.reduce(0, +)
        return dof > 0 ? ss / Double(dof) : 0
    }

    /// A standard normal draw for rollout `index` of `step` under `seed`
    /// (SplitMix64 → two uniforms in (0, 1) → Box–Muller).
    public static func standardNormal(seed: UInt64, step: Int, index: Int) -> Double {
        var state = seed ^ (UInt64(truncatingIfNeeded: step) &* 0x9E37_79B9_7F4A_7C15)
            ^ (UInt64(truncatingIfNeeded: index) &* 0xC2B2_AE3D_27D4_EB4F)
        func next() -> UInt64 {          // one SplitMix64 step
            defer { state &+= 0x9E37_79B9_7F4A_7C15 }
            return SeedMixer.mix(state)
        }
        let u1 = (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992.0
        let u2 = (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992.0
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// R_o,i + √variance · z_i for every rollout, z_i = `standardNormal(seed, step, i)`.
    public static func jittered(rewards: [Double], variance: Double, seed: UInt64, step: Int) -> [Double] {
        precondition(variance >= 0 && variance.isFinite, "RewardJitter: variance \(variance) must be finite and ≥ 0")
        let sd = variance.squareRoot()
        return rewards.indices.map { rewards[$0] + sd * standardNormal(seed: seed, step: step, index: $0) }
    }
}
