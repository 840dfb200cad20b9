import Foundation

/// Builders of per-token priorities Φ (METHODS.md §5) for
/// `WeightedCrossEntropy`. All shapes are (T) over the rows of one batch;
/// rows without a target (`targets[t] < 0`) always get 0.
public enum TokenPriority {
    /// Hard mask: 1 where `keep(t)` holds on a row with a target, else 0.
    public static func hardMask(targets: [Int32], keep: (Int) -> Bool) -> [Float] {
        targets.indices.map { targets[$0] >= 0 && keep($0) ? 1 : 0 }
    }

    /// Rho-1's excess loss, loss_student − loss_reference
    /// = log π_ref(y_t) − log π_student(y_t): high where the student lags a
    /// reference model that has seen clean data.
    public static func excessLoss(studentLogProbs: [Float], referenceLogProbs: [Float]) -> [Double] {
        precondition(studentLogProbs.count == referenceLogProbs.count,
                     "TokenPriority: \(studentLogProbs.count) student log-probs for \(referenceLogProbs.count) reference ones")
        return zip(studentLogProbs, referenceLogProbs).map { Double($1) - Double($0) }
    }

    /// Rho-1 selection: 1 on the `TopFraction.count(fraction: keepFraction, …)`
    /// rows with a target of highest excess loss (ties to the lower index), 0 elsewhere.
    public static func rho1(excessLoss: [Double], targets: [Int32], keepFraction: Double) -> [Float] {
        precondition(excessLoss.count == targets.count, "TokenPriority: \(excessLoss.count) excess losses for \(targets.count) targets")
        let valid = targets.indices.filter { targets[$0] >= 0 }
        var out = [Float](repeating: 0, count: targets.count)
        for i in TopFraction.select(scores: excessLoss, fraction: keepFraction, candidates: valid) { out[i] = 1 }
        return out
    }

    /// Soft weights: σ(excess_t / τ), rescaled so their mean over rows with a
    /// target is 1 (the loss keeps the scale of plain cross-entropy when the
    /// caller passes a token-count normalizer). τ > 0.
    public static func soft(excessLoss: [Double], targets: [Int32], temperature: Double) -> [Float] {
        precondition(excessLoss.count == targets.count, "TokenPriority: \(excessLoss.count) excess losses for \(targets.count) targets")
        precondition(temperature > 0, "TokenPriority: temperature \(temperature) must be positive")
        let raw = zip(excessLoss, targets).map { $1 >= 0 ? sigmoid($0 / temperature) : 0 }
        let n = targets.filter { $0 >= 0 }.count
        let mean = n > 0 ? raw.reduce(0, +) / Double(n) : 0
        return raw.map { mean > 0 ? Float($0 / mean) : 0 }
    }

    /// Signed priorities in (−1, 1): tanh(score_t / τ). Positive scores are
    /// learned, negative ones unlearned by `WeightedCrossEntropy`'s bounded
    /// unlikelihood term. τ > 0.
    public static func signed(scores: [Double], targets: [Int32], temperature: Double) -> [Float] {
        precondition(scores.count == targets.count, "TokenPriority: \(scores.count) scores for \(targets.count) targets")
        precondition(temperature > 0, "TokenPriority: temperature \(temperature) must be positive")
        return zip(scores, targets).map { $1 >= 0 ? Float(tanh($0 / temperature)) : 0 }
    }

    /// Logistic function, stable for large |x|.
    static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }
}
