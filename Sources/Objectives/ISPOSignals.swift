import Foundation

/// ISPO's intrinsic signals (METHODS §1): pure functions of the policy's own
/// per-token statistics, computed at rollout time with π_old (no gradient).
///
/// Arrays are per response token of one rollout: `logProbs[t]` = log π_old(o_t),
/// `entropies[t]` = H_t of the sampling distribution, `drifts[t]` = d_t.
public enum ISPOSignals {
    /// The settings every signal needs (a copy of `algorithm.ispo`).
    public struct Settings: Equatable, Sendable {
        /// ρ_H and ρ_Δ: fractions of a rollout's tokens kept by each filter.
        public var rhoEntropy: Double, rhoDrift: Double
        /// Intersection (paper) or union of the two filters.
        public var intersect: Bool
        /// Hinge threshold κ and weight γ.
        public var kappa: Double, gamma: Double
        /// Asymmetric token reward (paper) or the symmetric ablation.
        public var asymmetric: Bool
        /// Apply the hallucinated-certainty hinge to wrong rollouts.
        public var hinge: Bool

        /// The METHODS §1 defaults.
        public init(rhoEntropy: Double = 0.2, rhoDrift: Double = 0.2, intersect: Bool = true, kappa: Double = 0.7,
                    gamma: Double = 1, asymmetric: Bool = true, hinge: Bool = true) {
            self.rhoEntropy = rhoEntropy; self.rhoDrift = rhoDrift; self.intersect = intersect
            self.kappa = kappa; self.gamma = gamma; self.asymmetric = asymmetric; self.hinge = hinge
        }
    }

    /// Indices of the `ceil(ρ·n)` largest values (at least one when n > 0);
    /// ties go to the earlier token, so the set is deterministic.
    public static func topFraction(_ values: [Float], fraction: Double) -> Set<Int> {
        if values.isEmpty { return [] }
        let k = min(values.count, max(1, Int((fraction * Double(values.count)).rounded(.up))))
        let order = values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
        return Set(order.prefix(k))
    }

    /// Drift at or below this is numerical noise, not drift: the sampler's
    /// log-probs and a teacher-forced recomputation with the same weights
    /// differ by about 2e-7 on average (`rollout/logprob_abs_diff`), so at the
    /// first RL step, when π_base = π_old, ranking raw drifts would pick
    /// tokens by rounding error.
    public static let driftNoiseFloor: Float = 1e-4

    /// The critical decision tokens C of one rollout, ascending: the top-ρ_H
    /// entropy set combined with the top-ρ_Δ drift set, where only tokens with
    /// drift above `driftNoiseFloor` can be in the drift set. An empty
    /// intersection (always the case while the policy has not moved from the
    /// base) falls back to the entropy set.
    public static func criticalTokens(entropies: [Float], drifts: [Float], settings s: Settings) -> [Int] {
        precondition(entropies.count == drifts.count, "criticalTokens: \(entropies.count) entropies, \(drifts.count) drifts")
        let high = topFraction(entropies, fraction: s.rhoEntropy)
        let drifting = topFraction(drifts, fraction: s.rhoDrift).filter { drifts[$0] > driftNoiseFloor }
        var set = s.intersect ? high.intersection(drifting) : high.union(drifting)
        if set.isEmpty { set = high }
        return set.sorted()
    }

    /// d_t = |log π_old(o_t) − log π_base(o_t)|, the `logprob` drift.
    public static func logProbDrift(policy: [Float], base: [Float]) -> [Float] {
        precondition(policy.count == base.count, "logProbDrift: \(policy.count) vs \(base.count) tokens")
        return zip(policy, base).map { abs($0 - $1) }
    }

    /// The directional token reward r_tok of one rollout over its critical set C:
    /// - correct: exp(mean_C log π(o_t)), the inverse perplexity on C;
    /// - wrong: mean_C [H_t / log|V| − γ·max(0, π(o_t) − κ)], entropy plus the hinge
    ///   on confident wrong predictions (γ = 0 when `hinge` is off);
    /// - symmetric ablation: ±exp(mean_C log π(o_t)), + for correct, − for wrong,
    ///   with the hinge still subtracted from wrong rollouts when on.
    /// 0 for an empty C.
    public static func tokenReward(correct: Bool, logProbs: [Float], entropies: [Float], critical: [Int],
                                   vocabSize: Int, settings s: Settings) -> Double {
        if critical.isEmpty { return 0 }
        let n = Double(critical.count)
        let meanLogProb = critical.map { Double(logProbs[$0]) }.reduce(0, +) / n
        let gamma = s.hinge ? s.gamma : 0
        let hinge = critical.map { gamma * max(0, exp(Double(logProbs[$0])) - s.kappa) }.reduce(0, +) / n
        if !s.asymmetric { return correct ? exp(meanLogProb) : -exp(meanLogProb) - hinge }
        if correct { return exp(meanLogProb) }
        let logV = log(Double(max(vocabSize, 2)))
        let entropy = critical.map { Double(entropies[$0]) / logV }.reduce(0, +) / n
        return entropy - hinge
    }

    /// I = (1/|a|)[log π(a | q, z) − log π(a | q, ∅)]: the mean per-token gain in
    /// answer log-likelihood the thinking z gives. Both arrays score the same answer tokens.
    public static func sequenceInformation(withThinking: [Float], withoutThinking: [Float]) -> Double {
        precondition(withThinking.count == withoutThinking.count,
                     "sequenceInformation: \(withThinking.count) vs \(withoutThinking.count) answer tokens")
        if withThinking.isEmpty { return 0 }
        let diff = zip(withThinking, withoutThinking).map { Double($0) - Double($1) }.reduce(0, +)
        return diff / Double(withThinking.count)
    }

    /// r_seq = (2R_o − 1)·tanh(I / s): signed by the outcome, squashed by the running scale s.
    public static func sequenceReward(information: Double, correct: Bool, scale: Double) -> Double {
        (correct ? 1 : -1) * tanh(information / max(scale, 1e-8))
    }

    /// R = R_o + λ_s·r_seq + λ_t·r_tok (R_o may already include shaping).
    public static func composite(outcome: Double, sequenceReward: Double, tokenReward: Double,
                                 lambdaSeq: Double, lambdaTok: Double) -> Double {
        outcome + lambdaSeq * sequenceReward + lambdaTok * tokenReward
    }
}

/// The running standard deviation s of the sequence information I over all
/// rollouts seen so far (Welford), ISPO's scale for r_seq. Starts at 1 until
/// two values have been seen; never below `floor`.
public struct RunningScale: Equatable, Sendable, Codable {
    /// Values seen, their mean and Σ(x − mean)².
    public private(set) var count = 0, mean = 0.0, m2 = 0.0
    /// Smallest scale returned.
    public var floor = 1e-3

    /// An empty scale.
    public init() {}

    /// Adds values.
    public mutating func add<S: Sequence>(_ values: S) where S.Element == Double {
        for x in values where x.isFinite {
            count += 1
            let d = x - mean
            mean += d / Double(count)
            m2 += d * (x - mean)
        }
    }

    /// The current scale: √(m2 / (count − 1)), or 1 with fewer than two values.
    public var value: Double {
        count < 2 ? 1 : max(floor, (m2 / Double(count - 1)).squareRoot())
    }
}
