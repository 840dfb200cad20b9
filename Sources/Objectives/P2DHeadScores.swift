import Foundation

/// P2D's head sensitivity scores (METHODS.md §6, [ours] after ALPS): how far a
/// short proxy fine-tune moved each attention head's Q/K/V weights, as the
/// Wasserstein-1 distance between softmax distributions of the flattened
/// weights before and after.
public enum P2DHeadScores {
    /// softmax(x) in Double (max-shifted). (n) → (n).
    public static func softmax(_ x: [Float]) -> [Double] {
        guard let m = x.max() else { return [] }
        let e = x.map { exp(Double($0 - m)) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// W1 between two distributions on the same ordered support 0..<n with
    /// unit spacing: Σ_i |CDF_a(i) − CDF_b(i)|, in index units. (n), (n) → scalar.
    public static func wasserstein1(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count, "P2DHeadScores: distributions of \(a.count) and \(b.count) points")
        var ca = 0.0, cb = 0.0, total = 0.0
        // The last CDF difference is 1 − 1 = 0 up to rounding: leave it out.
        for i in 0..<max(a.count - 1, 0) {
            ca += a[i]; cb += b[i]
            total += abs(ca - cb)
        }
        return total
    }

    /// One head's score: W1(softmax(base), softmax(proxy)) of its flattened
    /// weights (both (n), same order, e.g. Q rows, then K rows, then V rows).
    public static func score(base: [Float], proxy: [Float]) -> Double {
        precondition(base.count == proxy.count, "P2DHeadScores: \(base.count) base weights for \(proxy.count) proxy weights")
        return wasserstein1(softmax(base), softmax(proxy))
    }

    /// Every head's score from two flat parameter buffers: head h's weights
    /// are the concatenation of `headRanges[h]` (e.g.
    /// `ParameterLayout.headWeightRanges(_:)`). (P), (P), H lists → (H).
    public static func scores(base: [Float], proxy: [Float], headRanges: [[Range<Int>]]) -> [Double] {
        precondition(base.count == proxy.count, "P2DHeadScores: buffers of \(base.count) and \(proxy.count) floats")
        return headRanges.map { ranges in
            let b = ranges.flatMap { base[$0] }, p = ranges.flatMap { proxy[$0] }
            return score(base: b, proxy: p)
        }
    }

    /// Indices of the top `fraction` of heads by score, highest first, ties to
    /// the lower index (`TopFraction`).
    public static func select(scores: [Double], fraction: Double) -> [Int] {
        TopFraction.select(scores: scores, fraction: fraction)
    }
}
