import Foundation

/// How per-token losses become one number (verl `loss_agg_mode`), with the
/// normalizer made explicit so data-parallel learners sum to the same gradient
/// however the batch is split. With ℓ_t the per-token loss, response rows t
/// (target ≥ 0), L_s the number of response rows of sequence s and `n` the
/// normalizer passed to `PolicyLoss.loss`:
///
/// | mode | loss of one block | n (summed over ALL learners and micro-batches) |
/// |---|---|---|
/// | `tokenMean` | Σ_t ℓ_t / n | response tokens |
/// | `seqMeanTokenMean` | Σ_s (Σ_{t∈s} ℓ_t / L_s) / n | sequences with ≥ 1 response token |
/// | `seqMeanTokenSumNorm(M)` | Σ_t ℓ_t / (M · n) | sequences (Dr.GRPO), or 1 for verl's form |
///
/// With everything local (one learner, one micro-batch, n =
/// `localNormalizer(…)`) the first two equal verl's `agg_loss`; so does the
/// third with n = 1, because verl's `seq-mean-token-sum-norm` divides the token
/// sum by the max length only and leaves the batch scaling to its
/// gradient-accumulation factor. n = the global sequence count gives the
/// Dr.GRPO paper's (1/S) Σ_s Σ_t ℓ_t / M, which does not depend on how many
/// micro-batches the step has. The losses of all blocks and learners add up
/// (the gradients are summed, not averaged, across learners).
public enum LossAggregation: Equatable {
    /// Mean over all response tokens of the batch (DAPO; verl's default).
    case tokenMean
    /// Mean over sequences of each sequence's token mean (original GRPO).
    case seqMeanTokenMean
    /// Token sums divided by a constant length (Dr.GRPO); `maxLength` is verl's
    /// `loss_scale_factor`, by default the max response length.
    case seqMeanTokenSumNorm(maxLength: Int)

    /// verl's `loss_agg_mode` string; `maxLength` is used by `seq-mean-token-sum-norm`.
    /// nil for modes not implemented here (e.g. `seq-mean-token-sum`).
    public init?(verlName: String, maxLength: Int) {
        switch verlName {
        case "token-mean": self = .tokenMean
        case "seq-mean-token-mean": self = .seqMeanTokenMean
        case "seq-mean-token-sum-norm": self = .seqMeanTokenSumNorm(maxLength: maxLength)
        default: return nil
        }
    }

    /// The `loss_agg_mode` string verl uses for this mode.
    public var verlName: String {
        switch self {
        case .tokenMean: return "token-mean"
        case .seqMeanTokenMean: return "seq-mean-token-mean"
        case .seqMeanTokenSumNorm: return "seq-mean-token-sum-norm"
        }
    }

    /// This block's share of the normalizer `n` in the table above: response
    /// tokens (target ≥ 0) for `tokenMean`, distinct sequences with at least one
    /// response token otherwise. Sum it over every micro-batch of every learner
    /// (an allreduce) and pass the sum to `PolicyLoss.loss`.
    /// - targets: (N); sequenceIds: (N), required by the sequence modes.
    public func localNormalizer(targets: [Int32], sequenceIds: [Int]?) -> Double {
        if case .tokenMean = self { return Double(targets.filter { $0 >= 0 }.count) }
        guard let sequenceIds else {
            preconditionFailure("LossAggregation.\(verlName) needs sequence ids to count sequences")
        }
        precondition(sequenceIds.count == targets.count,
                     "LossAggregation: \(sequenceIds.count) sequence ids for \(targets.count) targets")
        var seen = Set<Int>()
        for (t, s) in zip(targets, sequenceIds) where t >= 0 { seen.insert(s) }
        return Double(seen.count)
    }
}

/// Estimator of KL(π_θ ‖ π_ref) per token from the sampled token's log-probs
/// (Schulman, "Approximating KL divergence"; verl `kl_penalty`). Raw values are
/// verl's `kl_loss_type` names.
public enum KLEstimator: String, CaseIterable {
    /// k1: log π − log π_ref.
    case k1 = "kl"
    /// k2: ½ (log π − log π_ref)².
    case k2 = "mse"
    /// k3: exp(ref − log π) − (ref − log π) − 1, with ref − log π clamped to
    /// [−20, 20] and the result to [−10, 10] as verl does (zero gradient where
    /// a clamp is active).
    case k3 = "low_var_kl"

    /// Accepts verl's names and their aliases `k1`, `k2`, `k3`.
    public init?(verlName: String) {
        switch verlName {
        case "kl", "k1": self = .k1
        case "mse", "k2": self = .k2
        case "low_var_kl", "k3": self = .k3
        default: return nil
        }
    }
}

/// Knobs of the clipped surrogate, with verl's names and METHODS.md §0 defaults.
public struct PolicyLossConfig: Equatable {
    /// ε_low (`clip_ratio_low`): the ratio is clipped below at 1 − ε_low.
    public var clipRatioLow: Double
    /// ε_high (`clip_ratio_high`): clipped above at 1 + ε_high (DAPO clip-higher: 0.28).
    public var clipRatioHigh: Double
    /// Dual-clip bound c (`clip_ratio_c`, > 1): for Â < 0 the token loss is at
    /// most −c·Â. nil turns dual clip off; verl's default is 3.
    public var clipRatioC: Double?
    /// β (`kl_loss_coef`): weight of the KL-to-reference term; 0 = no KL term
    /// (`use_kl_loss=false`). Non-zero requires reference log-probs.
    public var klLossCoef: Double
    /// Estimator of the KL term (`kl_loss_type`).
    public var klEstimator: KLEstimator
    /// Entropy bonus coefficient (`entropy_coeff`): the loss gets −coeff · H_t.
    public var entropyCoeff: Double
    /// `loss_agg_mode`.
    public var aggregation: LossAggregation

    /// Defaults: ε_low 0.2, ε_high 0.28, dual clip 3, no KL (k3 when enabled),
    /// no entropy bonus, token-mean.
    public init(clipRatioLow: Double = 0.2, clipRatioHigh: Double = 0.28, clipRatioC: Double? = 3,
                klLossCoef: Double = 0, klEstimator: KLEstimator = .k3, entropyCoeff: Double = 0,
                aggregation: LossAggregation = .tokenMean) {
        self.clipRatioLow = clipRatioLow; self.clipRatioHigh = clipRatioHigh; self.clipRatioC = clipRatioC
        self.klLossCoef = klLossCoef; self.klEstimator = klEstimator; self.entropyCoeff = entropyCoeff
        self.aggregation = aggregation
    }
}

/// What the policy loss needs per logits row besides the logits. Row r predicts
/// the token at position r + 1 of the packed batch (the `LogitsBlock` layout).
public struct PolicyLossInputs {
    /// (N) the sampled response token each row predicts; −1 for rows that are
    /// not response positions (prompt, padding, a sequence's last position): no loss.
    public var targets: [Int32]
    /// (N) log π_old(target) from rollout time (ignored where target < 0).
    public var oldLogProbs: [Float]
    /// (N) Â of the row's sequence (ignored where target < 0).
    public var advantages: [Float]
    /// (N) log π_ref(target), needed for the KL term or the `actor/kl_loss` metric.
    public var refLogProbs: [Float]?
    /// (N) index of the sequence each row belongs to; needed by `seqMeanTokenMean`.
    /// All response rows of a sequence must be in the same block (a packed
    /// micro-batch holds whole sequences), because L_s is counted in the block.
    public var sequenceIds: [Int]?
    /// (N) per-token weights on the surrogate term (ISPO token credit, masks),
    /// nil for 1. Like verl's `rollout_is_weights` they scale the clipped
    /// surrogate only, not the KL or entropy terms, and do not change the
    /// normalizer; use target −1 to drop a token altogether.
    public var weights: [Float]?

    /// Collects the per-row arrays; all must have the same length.
    public init(targets: [Int32], oldLogProbs: [Float], advantages: [Float], refLogProbs: [Float]? = nil,
                sequenceIds: [Int]? = nil, weights: [Float]? = nil) {
        self.targets = targets; self.oldLogProbs = oldLogProbs; self.advantages = advantages
        self.refLogProbs = refLogProbs; self.sequenceIds = sequenceIds; self.weights = weights
    }
}
