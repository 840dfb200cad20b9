import Foundation

/// The 7 token-probability features of FLaG (METHODS.md §7), from the answer
/// tokens' log-probabilities log p_t and predictive entropies H_t under the
/// frozen model (teacher-forced). In this order:
///
/// 1. `mean_logprob`: (1/n) Σ log p_t.
/// 2. `min_logprob`: min_t log p_t (the least expected token).
/// 3. `mean_entropy`: (1/n) Σ H_t.
/// 4. `max_entropy`: max_t H_t.
/// 5. `answer_token_prob`: mean p_t over the last `answerTail` tokens (8 by default),
///    where a reasoning answer states its final result (`#### N`, `\boxed{…}`,
///    or the short answer itself for QA); for answers of ≤ 8 tokens it is every token.
/// 6. `frac_low_prob`: fraction of tokens with p_t < 0.5.
/// 7. `norm_seq_logprob`: Σ log p_t / lp(n), the GNMT length penalty
///    lp(n) = ((5 + n)/6)^0.6 (Wu et al., 2016), which normalises length without
///    reducing to feature 1 (which is Σ/n).
public enum FLaGTokenFeatures {
    /// Number of features.
    public static let count = 7
    /// Names, in order (also written in feature files).
    public static let names = ["mean_logprob", "min_logprob", "mean_entropy", "max_entropy",
                               "answer_token_prob", "frac_low_prob", "norm_seq_logprob"]
    /// Tokens at the end of the answer read by `answer_token_prob`.
    public static let defaultAnswerTail = 8

    /// The 7 features of one answer. logProbs, entropies: (n) with n ≥ 1.
    public static func compute(logProbs: [Double], entropies: [Double], answerTail: Int = defaultAnswerTail) -> [Double] {
        precondition(!logProbs.isEmpty && logProbs.count == entropies.count,
                     "FLaG token features: need n ≥ 1 log-probs and as many entropies, found \(logProbs.count) and \(entropies.count)")
        precondition(answerTail >= 1, "FLaG token features: answerTail ≥ 1")
        let n = Double(logProbs.count)
        let sum = logProbs.reduce(0, +)
        let tail = logProbs.suffix(answerTail)
        return [
            sum / n,
            logProbs.min()!,
            entropies.reduce(0, +) / n,
            entropies.max()!,
            tail.map { exp($0) }.reduce(0, +) / Double(tail.count),
            Double(logProbs.filter { $0 < log(0.5) }.count) / n,
            sum / pow((5 + n) / 6, 0.6),
        ]
    }
}
