import Foundation
import Tensors

/// Which tokens a T3S-family run trains on (METHODS.md §4).
public enum T3SMaskMode: Equatable, Sendable {
    /// T3S: every token except the imitation anchors.
    case t3s
    /// Anti-T3S: the anchors only.
    case antiT3S
    /// Control: as many tokens as T3S keeps, drawn uniformly from the rows
    /// with a target by a generator seeded with `seed`.
    case random(seed: UInt64)
}

/// T3S's pure parts: confidence shifts between θ_0 and the bottleneck
/// checkpoint θ_b, imitation anchors, and the 0/1 weights of each arm
/// (fed to `CrossEntropy.loss(weights:)` or `WeightedCrossEntropy`).
public enum T3SSelection {
    /// Δc_t = c_t(θ_b) − c_t(θ_0) with c_t = π(y_t), from the two log-probs of
    /// the same tokens (e.g. a `TokenLedger`'s rows). Shapes (T) → (T).
    /// The sign, which is all `anchors` uses, is the same for probabilities
    /// and log-probabilities; the probability form is what gets reported.
    public static func confidenceShift(bottleneckLogProbs: [Float], initialLogProbs: [Float]) -> [Double] {
        precondition(bottleneckLogProbs.count == initialLogProbs.count,
                     "T3SSelection: \(bottleneckLogProbs.count) bottleneck log-probs for \(initialLogProbs.count) initial ones")
        return zip(bottleneckLogProbs, initialLogProbs).map { exp(Double($0)) - exp(Double($1)) }
    }

    /// A = {t : Δc_t > 0} among rows with a target (`targets[t] ≥ 0`). (T) → (T).
    public static func anchors(confidenceShift delta: [Double], targets: [Int32]) -> [Bool] {
        precondition(delta.count == targets.count, "T3SSelection: \(delta.count) shifts for \(targets.count) targets")
        return zip(delta, targets).map { $1 >= 0 && $0 > 0 }
    }

    /// Per-token weights (T), 1 = train, 0 = skip; rows without a target are 0.
    /// The random arm keeps exactly as many rows as `.t3s` would on the same
    /// call (pass one sample at a time with a per-sample seed from
    /// `SeedMixer` to match the ratio sample by sample).
    public static func weights(anchors: [Bool], targets: [Int32], mode: T3SMaskMode) -> [Float] {
        precondition(anchors.count == targets.count, "T3SSelection: \(anchors.count) anchor flags for \(targets.count) targets")
        let valid = targets.map { $0 >= 0 }
        switch mode {
        case .t3s:
            return zip(anchors, valid).map { $1 && !$0 ? 1 : 0 }
        case .antiT3S:
            return zip(anchors, valid).map { $1 && $0 ? 1 : 0 }
        case .random(let seed):
            var pool = valid.indices.filter { valid[$0] }
            let keep = zip(anchors, valid).filter { $0.1 && !$0.0 }.count
            var rng = Rng(seed: seed)
            // Partial Fisher–Yates: the first `keep` entries become a uniform sample.
            for i in 0..<keep {
                let j = i + rng.below(pool.count - i)
                pool.swapAt(i, j)
            }
            var out = [Float](repeating: 0, count: targets.count)
            for i in pool.prefix(keep) { out[i] = 1 }
            return out
        }
    }

    /// Anchors over rows with a target: |A| / |{t : y_t ≥ 0}| (0 when none).
    public static func anchorFraction(anchors: [Bool], targets: [Int32]) -> Double {
        precondition(anchors.count == targets.count, "T3SSelection: \(anchors.count) anchor flags for \(targets.count) targets")
        let valid = targets.filter { $0 >= 0 }.count
        let a = zip(anchors, targets).filter { $0 && $1 >= 0 }.count
        return valid > 0 ? Double(a) / Double(valid) : 0
    }
}
