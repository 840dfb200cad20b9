import Foundation

/// What RL does with FLaG's live scores (METHODS §7, [ours]): pure functions of
/// the score S = log p(correct) − log p(wrong), the verifier's outcome and the settings.
/// p(wrong) = σ(−S), since the head's p(correct) + p(wrong) = 1.
public enum FLaGLiveRules {
    /// p(wrong | x) = σ(−S), stable for large |S|.
    public static func probabilityWrong(score s: Double) -> Double {
        s >= 0 ? exp(-s) / (1 + exp(-s)) : 1 / (1 + exp(s))
    }

    /// Whether a scored rollout counts as flagged: p(wrong) > threshold. Unscored rollouts are never flagged.
    public static func flagged(score: Double?, threshold: Double) -> Bool {
        guard let score else { return false }
        return probabilityWrong(score: score) > threshold
    }

    /// `flag.penalty`: the reward minus λ·p(wrong); unscored rollouts keep their reward.
    public static func penalised(reward: Double, score: Double?, lambda: Double) -> Double {
        guard let score, lambda > 0 else { return reward }
        return reward - lambda * probabilityWrong(score: score)
    }

    /// `flag.filter`: the indices kept, in order: every rollout not flagged, except
    /// those left alone in their group (a lone rollout has no GRPO baseline).
    public static func kept(scores: [Double?], groupIds: [Int], threshold: Double) -> [Int] {
        precondition(scores.count == groupIds.count, "FLaG filter: \(scores.count) scores for \(groupIds.count) group ids")
        let unflagged = scores.indices.filter { !flagged(score: scores[$0], threshold: threshold) }
        var size: [Int: Int] = [:]
        for i in unflagged { size[groupIds[i], default: 0] += 1 }
        return unflagged.filter { size[groupIds[$0]]! >= 2 }
    }

    /// `<prefix>/*` metrics of a set of rollouts: how many were scored, the mean
    /// score of correct and of wrong answers, the AUROC of the score against the
    /// verifier (correct = positive; only when both classes were scored), the mean
    /// p(wrong) and the fraction flagged.
    public static func metrics(scores: [Double?], outcomes: [Double], threshold: Double, prefix: String = "flag") -> [String: Double] {
        precondition(scores.count == outcomes.count, "FLaG metrics: \(scores.count) scores for \(outcomes.count) outcomes")
        var m: [String: Double] = [:]
        let pairs = zip(scores, outcomes).compactMap { s, o in s.map { ($0, o > 0.5 ? 1 : 0) } }
        m["\(prefix)/scored_frac"] = Double(pairs.count) / Double(max(scores.count, 1))
        guard !pairs.isEmpty else { return m }
        let correct = pairs.filter { $0.1 == 1 }.map(\.0), wrong = pairs.filter { $0.1 == 0 }.map(\.0)
        if !correct.isEmpty { m["\(prefix)/score_mean_correct"] = correct.reduce(0, +) / Double(correct.count) }
        if !wrong.isEmpty { m["\(prefix)/score_mean_wrong"] = wrong.reduce(0, +) / Double(wrong.count) }
        if let a = DetectionMetrics.auroc(scores: pairs.map(\.0), labels: pairs.map(\.1)) { m["\(prefix)/auroc"] = a }
        m["\(prefix)/p_wrong_mean"] = pairs.map { probabilityWrong(score: $0.0) }.reduce(0, +) / Double(pairs.count)
        m["\(prefix)/frac_flagged"] = Double(pairs.filter { probabilityWrong(score: $0.0) > threshold }.count) / Double(pairs.count)
        return m
    }
}
