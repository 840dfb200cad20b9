import Foundation

/// Diagnostics gathered while the policy loss runs, kept as sums so blocks,
/// micro-batches and learners merge exactly (add the sums, min the mins, max
/// the maxes) and the step's numbers do not depend on how the batch was split.
///
/// `pgLoss`, `klLoss` and `entropyLoss` are aggregated exactly like the loss
/// (same mode, same global normalizer), so their sum over all blocks is verl's
/// `actor/pg_loss`, `actor/kl_loss` (before × `kl_loss_coef`) and
/// `actor/entropy` for the whole batch. Fractions and means are over response
/// tokens. Pass one instance to `PolicyLoss.loss`; every call adds into it.
public final class PolicyLossMetrics {
    /// Response tokens seen (target ≥ 0).
    public var tokens: Double = 0
    /// Σ of the aggregated clipped-surrogate term (weights included).
    public var pgLoss: Double = 0
    /// Σ of the aggregated KL estimate; only meaningful when `hasKL`.
    public var klLoss: Double = 0
    /// Σ of the aggregated token entropy.
    public var entropyLoss: Double = 0
    /// Tokens where the ratio clip is active (verl: −Â·clip(ρ) > −Â·ρ).
    public var clippedTokens: Double = 0
    /// Tokens where the dual clip is active (Â < 0 and the loss is capped at −c·Â).
    public var dualClippedTokens: Double = 0
    /// Σ (log π_old − log π_θ), clamped to ±20 like the ratio.
    public var logRatioSum: Double = 0
    /// Σ H_t over response tokens (unaggregated, for a plain token mean).
    public var entropySum: Double = 0
    /// Σ ρ_t.
    public var ratioSum: Double = 0
    /// Smallest ρ_t seen (+∞ before any token).
    public var ratioMin: Double = .infinity
    /// Largest ρ_t seen (−∞ before any token).
    public var ratioMax: Double = -.infinity
    /// Whether reference log-probs were given, so `klLoss` is reported.
    public var hasKL = false

    /// Empty sums.
    public init() {}

    /// Adds `other` into this one.
    public func merge(_ other: PolicyLossMetrics) {
        tokens += other.tokens; pgLoss += other.pgLoss; klLoss += other.klLoss
        entropyLoss += other.entropyLoss; clippedTokens += other.clippedTokens
        dualClippedTokens += other.dualClippedTokens; logRatioSum += other.logRatioSum
        entropySum += other.entropySum; ratioSum += other.ratioSum
        ratioMin = min(ratioMin, other.ratioMin); ratioMax = max(ratioMax, other.ratioMax)
        hasKL = hasKL || other.hasKL
    }

    /// The metrics under verl's names (`actor/pg_loss`, `actor/pg_clipfrac`,
    /// `actor/pg_clipfrac_lower`, `actor/ppo_kl`, `actor/entropy`,
    /// `actor/kl_loss` when a reference was given) plus `actor/entropy_token_mean`
    /// and `actor/ratio_mean|min|max`. Empty when no response token was seen.
    public var values: [String: Double] {
        guard tokens > 0 else { return [:] }
        var out: [String: Double] = [
            "actor/pg_loss": pgLoss,
            "actor/pg_clipfrac": clippedTokens / tokens,
            "actor/pg_clipfrac_lower": dualClippedTokens / tokens,
            "actor/ppo_kl": logRatioSum / tokens,
            "actor/entropy": entropyLoss,
            "actor/entropy_token_mean": entropySum / tokens,
            "actor/ratio_mean": ratioSum / tokens,
            "actor/ratio_min": ratioMin,
            "actor/ratio_max": ratioMax,
        ]
        if hasKL { out["actor/kl_loss"] = klLoss }
        return out
    }
}
