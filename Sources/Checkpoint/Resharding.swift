/// Moving a flat fp32 buffer between numbers of ranks: the buffer is split
/// into consecutive shards whose sizes a count function gives, so resharding
/// from R to R' ranks is re-slicing the concatenation. Pure functions.
public enum Resharding {
    /// Balanced split, identical to `Comm.shardCounts` (ZeRO-1): every shard has
    /// `total / parts` elements and the first `total % parts` one more.
    public static func balancedCounts(total: Int, parts: Int) -> [Int] {
        precondition(total >= 0 && parts > 0, "balancedCounts: total \(total), parts \(parts)")
        let base = total / parts, extra = total % parts
        return (0 ..< parts).map { $0 < extra ? base + 1 : base }
    }

    /// The shards of `parts` ranks made from `shards` written by any number of ranks.
    public static func reshard(_ shards: [[Float]], parts: Int,
                               counts: (Int, Int) -> [Int] = balancedCounts) -> [[Float]] {
        let whole = Array(shards.joined())
        let newCounts = checkedCounts(counts, total: whole.count, parts: parts)
        var out: [[Float]] = [], lo = 0
        for c in newCounts { out.append(Array(whole[lo ..< lo + c])); lo += c }
        return out
    }

    /// The pieces of old shards (index and range within that shard), in order,
    /// that make up `range` of the concatenated buffer.
    public static func pieces(oldCounts: [Int], range: Range<Int>) -> [(shard: Int, range: Range<Int>)] {
        var out: [(shard: Int, range: Range<Int>)] = [], start = 0
        for (i, c) in oldCounts.enumerated() {
            let lo = max(range.lowerBound, start), hi = min(range.upperBound, start + c)
            if lo < hi { out.append((i, (lo - start) ..< (hi - start))) }
            start += c
        }
        precondition(range.isEmpty || range.upperBound <= start, "pieces: \(range) beyond the \(start)-element buffer")
        return out
    }

    /// `counts(total, parts)`, checked (a wrong count function is a programmer error).
    static func checkedCounts(_ counts: (Int, Int) -> [Int], total: Int, parts: Int) -> [Int] {
        precondition(parts > 0, "reshard: parts must be > 0, got \(parts)")
        let c = counts(total, parts)
        precondition(c.count == parts && c.allSatisfy { $0 >= 0 } && c.reduce(0, +) == total,
                     "reshard: count function gave \(c) for \(total) elements over \(parts) parts")
        return c
    }
}
