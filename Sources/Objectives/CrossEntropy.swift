import Layers

/// Token-weighted cross-entropy, the first `TokenLoss` and the base of SFT,
/// T3S masks and token-priority weights.
public enum CrossEntropy {
    /// L = Σ_t w_t · (−log softmax(logits_t)[y_t]) / normalizer.
    ///
    /// - targets: (N) next-token ids; a negative id marks a position with no loss.
    /// - weights: (N) per-token weights, or nil for 1 everywhere.
    /// - normalizer: divides the sum; nil means Σ_t w_t over positions with a
    ///   target (token-mean). Pass a global count for data-parallel learners.
    /// Non-negative weights only; signed weights (unlikelihood) are `WeightedCrossEntropy`'s.
    /// Both are one computation: this forwards to it with Φ = 1 where `weights` is nil.
    public static func loss(targets: [Int32], weights: [Float]? = nil, normalizer: Double? = nil) -> TokenLoss {
        if let weights { precondition(weights.allSatisfy { $0 >= 0 }, "CrossEntropy: a negative weight; use WeightedCrossEntropy") }
        return WeightedCrossEntropy.loss(targets: targets, weights: weights ?? [Float](repeating: 1, count: targets.count),
                                         normalizer: normalizer)
    }
}
