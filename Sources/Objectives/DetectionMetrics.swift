import Foundation
import Tensors

/// A metric value with a bootstrap percentile confidence interval.
public struct MetricWithCI: Codable, Equatable, Sendable {
    /// The metric on the full sample.
    public var value: Double
    /// Lower end of the interval (2.5th percentile of the bootstrap distribution for 95%).
    public var lower: Double
    /// Upper end of the interval.
    public var upper: Double
    /// Creates a value with its interval.
    public init(value: Double, lower: Double, upper: Double) { self.value = value; self.lower = lower; self.upper = upper }
}

/// Threshold-free detection metrics for scores where higher means "positive"
/// (label 1). Pure: arrays in, numbers out.
public enum DetectionMetrics {
    /// AUROC by the Mann–Whitney U statistic with average ranks for ties: a tied
    /// (positive, negative) pair counts 1/2. Nil when a class is missing.
    public static func auroc(scores: [Double], labels: [Int]) -> Double? {
        precondition(scores.count == labels.count, "AUROC: \(scores.count) scores for \(labels.count) labels")
        let nPos = labels.filter { $0 == 1 }.count, nNeg = labels.count - nPos
        guard nPos > 0, nNeg > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSumPos = 0.0, i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let avgRank = Double(i + j + 2) / 2  // ranks are 1-based
            for t in i...j where labels[order[t]] == 1 { rankSumPos += avgRank }
            i = j + 1
        }
        return (rankSumPos - Double(nPos) * Double(nPos + 1) / 2) / (Double(nPos) * Double(nNeg))
    }

    /// Average precision AP = Σ_n (R_n − R_{n−1}) P_n over thresholds at each
    /// distinct score, highest first (tied scores form one threshold, as
    /// scikit-learn's `average_precision_score`). Nil without positives.
    public static func averagePrecision(scores: [Double], labels: [Int]) -> Double? {
        precondition(scores.count == labels.count, "AUPRC: \(scores.count) scores for \(labels.count) labels")
        let nPos = labels.filter { $0 == 1 }.count
        guard nPos > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = 0, seen = 0, ap = 0.0, lastRecall = 0.0, i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            for t in i...j { seen += 1; if labels[order[t]] == 1 { tp += 1 } }
            let recall = Double(tp) / Double(nPos), precision = Double(tp) / Double(seen)
            ap += (recall - lastRecall) * precision
            lastRecall = recall
            i = j + 1
        }
        return ap
    }

    /// A metric with a seeded percentile bootstrap CI: `resamples` draws of n
    /// indices with replacement; draws where the metric is undefined (one class
    /// only) are skipped. Nil when the metric is undefined on the full sample.
    public static func bootstrap(scores: [Double], labels: [Int], resamples: Int = 1000, level: Double = 0.95, seed: UInt64,
                                 metric: ([Double], [Int]) -> Double?) -> MetricWithCI? {
        precondition(resamples > 0 && level > 0 && level < 1, "bootstrap: resamples > 0 and 0 < level < 1")
        guard let full = metric(scores, labels) else { return nil }
        var rng = Rng(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(resamples)
        let n = scores.count
        var s = [Double](repeating: 0, count: n), l = [Int](repeating: 0, count: n)
        for _ in 0..<resamples {
            for t in 0..<n { let k = rng.below(n); s[t] = scores[k]; l[t] = labels[k] }
            if let v = metric(s, l) { values.append(v) }
        }
        guard !values.isEmpty else { return MetricWithCI(value: full, lower: full, upper: full) }
        values.sort()
        return MetricWithCI(value: full, lower: quantile(values, (1 - level) / 2), upper: quantile(values, 1 - (1 - level) / 2))
    }

    /// Linear-interpolation quantile of sorted values (NumPy's default).
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        precondition(!sorted.isEmpty && q >= 0 && q <= 1)
        let pos = q * Double(sorted.count - 1), lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (pos - Double(lo)) * (sorted[hi] - sorted[lo])
    }

    /// AUROC with a seeded bootstrap 95% CI.
    public static func aurocWithCI(scores: [Double], labels: [Int], resamples: Int = 1000, seed: UInt64) -> MetricWithCI? {
        bootstrap(scores: scores, labels: labels, resamples: resamples, seed: seed, metric: auroc)
    }

    /// AUPRC (average precision) with a seeded bootstrap 95% CI.
    public static func auprcWithCI(scores: [Double], labels: [Int], resamples: Int = 1000, seed: UInt64) -> MetricWithCI? {
        bootstrap(scores: scores, labels: labels, resamples: resamples, seed: seed, metric: averagePrecision)
    }
}

extension DetectionMetrics {
    /// Plug-in mutual information (nats) between two discrete labelings of the same items.
    public static func mutualInformation<A: Hashable, B: Hashable>(_ a: [A], _ b: [B]) -> Double {
        precondition(a.count == b.count, "mutual information: \(a.count) and \(b.count) labels")
        let n = Double(a.count)
        guard n > 0 else { return 0 }
        var joint: [Pair<A, B>: Double] = [:], pa: [A: Double] = [:], pb: [B: Double] = [:]
        for (x, y) in zip(a, b) { joint[Pair(x: x, y: y), default: 0] += 1; pa[x, default: 0] += 1; pb[y, default: 0] += 1 }
        var mi = 0.0
        for (k, c) in joint { mi += c / n * log(c * n / (pa[k.x]! * pb[k.y]!)) }
        return max(0, mi)
    }

    private struct Pair<A: Hashable, B: Hashable>: Hashable { let x: A; let y: B }
}
