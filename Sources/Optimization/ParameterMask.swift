/// The trainable part of the flat parameter buffer, as sorted, disjoint,
/// non-adjacent flat ranges. P2D's "train only these heads" is one
/// (`ParameterLayout.headRanges(_:)` gives the ranges); every other element
/// is frozen: its gradient is zeroed (`zeroFrozen`) and AdamW built with the
/// mask never touches it, so parameters and moments stay bit-identical
/// (decoupled weight decay would otherwise still shrink them).
public struct ParameterMask: Equatable, Sendable {
    /// Length of the flat buffer the mask is over.
    public let totalCount: Int
    /// Selected (trainable) ranges: sorted, disjoint, non-empty, merged where adjacent.
    public let ranges: [Range<Int>]

    /// Only `ranges` are trainable (any order, overlaps allowed); each must lie
    /// in 0..<totalCount.
    public init(totalCount: Int, ranges: [Range<Int>]) {
        precondition(totalCount >= 0, "ParameterMask: negative total \(totalCount)")
        for r in ranges {
            precondition(r.lowerBound >= 0 && r.upperBound <= totalCount, "ParameterMask: range \(r) outside 0..<\(totalCount)")
        }
        var merged: [Range<Int>] = []
        for r in ranges.filter({ !$0.isEmpty }).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, r.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        self.totalCount = totalCount
        self.ranges = merged
    }

    /// Everything trainable.
    public static func all(totalCount: Int) -> ParameterMask { ParameterMask(totalCount: totalCount, ranges: [0..<totalCount]) }

    /// Only `ranges` trainable (e.g. the selected heads' Q/K/V/O).
    public static func only(_ ranges: [Range<Int>], totalCount: Int) -> ParameterMask {
        ParameterMask(totalCount: totalCount, ranges: ranges)
    }

    /// Everything but `ranges` trainable.
    public static func allBut(_ ranges: [Range<Int>], totalCount: Int) -> ParameterMask {
        ParameterMask(totalCount: totalCount, ranges: ranges).complement
    }

    /// The frozen part as a mask.
    public var complement: ParameterMask {
        var out: [Range<Int>] = []
        var next = 0
        for r in ranges {
            if next < r.lowerBound { out.append(next..<r.lowerBound) }
            next = r.upperBound
        }
        if next < totalCount { out.append(next..<totalCount) }
        return ParameterMask(totalCount: totalCount, ranges: out)
    }

    /// Number of trainable elements.
    public var selectedCount: Int { ranges.reduce(0) { $0 + $1.count } }

    /// Whether element `i` is trainable (binary search).
    public func contains(_ i: Int) -> Bool {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound <= i { lo = mid + 1 } else { hi = mid }
        }
        return lo < ranges.count && ranges[lo].contains(i)
    }

    /// The trainable ranges inside `shard`, shifted to be shard-local.
    public func localRanges(in shard: Range<Int>) -> [Range<Int>] {
        ranges.compactMap { r in
            let lo = max(r.lowerBound, shard.lowerBound), hi = min(r.upperBound, shard.upperBound)
            return lo < hi ? (lo - shard.lowerBound)..<(hi - shard.lowerBound) : nil
        }
    }

    /// Zeroes the frozen gradients of `shard`; `gradients` points at the
    /// shard's first element (the buffer's start and 0..<totalCount without ZeRO).
    /// Do it before clipping so the norm is that of the trained part.
    public func zeroFrozen(_ gradients: UnsafeMutablePointer<Float>, shard: Range<Int>) {
        precondition(shard.lowerBound >= 0 && shard.upperBound <= totalCount, "ParameterMask: shard \(shard) outside 0..<\(totalCount)")
        for r in complement.localRanges(in: shard) {
            (gradients + r.lowerBound).update(repeating: 0, count: r.count)
        }
    }
}
