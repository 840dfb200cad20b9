/// "Keep the top p%" of a list of scores, shared by Rho-1 token selection and
/// P2D head selection so both round and break ties the same way.
public enum TopFraction {
    /// How many of `n` items a fraction keeps: round(fraction·n) (half away
    /// from zero), at least 1 when fraction > 0 and n > 0, at most n.
    /// Rounding, not ceiling: 0.1·270 is 27.000000000000004 in Double.
    public static func count(fraction: Double, of n: Int) -> Int {
        precondition(fraction >= 0 && fraction <= 1, "TopFraction: fraction \(fraction) outside [0, 1]")
        precondition(n >= 0, "TopFraction: negative count \(n)")
        guard fraction > 0, n > 0 else { return 0 }
        return min(n, max(1, Int((fraction * Double(n)).rounded())))
    }

    /// Indices of the `count(fraction:of:)` highest scores among `candidates`
    /// (all indices when nil), highest first; equal scores go to the lower
    /// index. Scores must not be NaN.
    public static func select(scores: [Double], fraction: Double, candidates: [Int]? = nil) -> [Int] {
        precondition(!scores.contains { $0.isNaN }, "TopFraction: a score is NaN")
        let pool = candidates ?? Array(scores.indices)
        let k = count(fraction: fraction, of: pool.count)
        let order = pool.sorted { a, b in scores[a] != scores[b] ? scores[a] > scores[b] : a < b }
        return Array(order.prefix(k))
    }
}
