import Tensors

/// Sparsification of task vectors, as in mergekit's `sparsify.py` (`magnitude` for TIES,
/// `random` for DARE). Pure: buffers in, buffers out; no I/O, no globals.
///
/// Every tensor is trimmed on its own (mergekit merges tensor by tensor), so a flat buffer
/// comes with `segments`: the ranges of its tensors (`ParameterLayout.entries.map(\.range)`),
/// consecutive and covering the buffer; nil = the whole buffer is one tensor. Norm weights
/// and biases are trimmed like any other tensor, within themselves — mergekit does not treat
/// them specially.
public enum Sparsify {
    /// Keeps the `max(1, floor(density · n))` entries of largest magnitude of each nonempty
    /// segment and zeroes the rest, as mergekit's `magnitude` does (so a tiny density still keeps
    /// one entry per tensor); density ≥ 1 keeps everything, density ≤ 0 zeroes everything.
    /// Among equal magnitudes the lower index is kept (torch's argsort leaves that order
    /// unspecified). A NaN counts as the largest magnitude.
    public static func magnitude(_ values: UnsafeMutableBufferPointer<Float>, density: Double,
                                 segments: [Range<Int>]? = nil) {
        guard density < 1 else { return }
        let ranges = checkedSegments(segments, count: values.count)
        guard density > 0 else {
            for i in 0..<values.count { values[i] = 0 }
            return
        }
        var scratch: [Float] = []
        for r in ranges where !r.isEmpty {
            let n = r.count
            let keep = max(1, Int(density * Double(n)))
            if keep >= n { continue }
            scratch.removeAll(keepingCapacity: true)
            for i in r { scratch.append(magnitudeKey(values[i])) }
            let threshold = kthLargest(&scratch, keep)
            // Everything strictly above the threshold stays; ties at the threshold fill the
            // remaining places in index order.
            var above = 0
            for i in r where magnitudeKey(values[i]) > threshold { above += 1 }
            var tiesLeft = keep - above
            for i in r {
                let m = magnitudeKey(values[i])
                if m > threshold { continue }
                if m == threshold && tiesLeft > 0 { tiesLeft -= 1; continue }
                values[i] = 0
            }
        }
    }

    /// Array form of `magnitude(_:density:segments:)`.
    public static func magnitude(_ values: [Float], density: Double, segments: [Range<Int>]? = nil) -> [Float] {
        var out = values
        out.withUnsafeMutableBufferPointer { magnitude($0, density: density, segments: segments) }
        return out
    }

    /// DARE's random drop (mergekit `random` / `bernoulli`): entry i survives with probability
    /// `density`, decided by `dareKeeps(seed:branch:index:density:)` at the global index
    /// `indexOffset + i`, so the mask depends only on (seed, branch, parameter) — the same on
    /// every rank, for any sharding, offline or collective. Survivors keep their value; the
    /// rescale is a separate step (`L1Rescale`), as in mergekit. density ≥ 1 keeps everything.
    public static func dare(_ values: UnsafeMutableBufferPointer<Float>, density: Double, seed: UInt64,
                            branch: Int, indexOffset: Int = 0) {
        guard density < 1 else { return }
        let stream = dareStream(seed: seed, branch: branch)
        for i in 0..<values.count where !keeps(stream: stream, index: indexOffset + i, density: density) {
            values[i] = 0
        }
    }

    /// Array form of `dare(_:density:seed:branch:indexOffset:)`.
    public static func dare(_ values: [Float], density: Double, seed: UInt64, branch: Int,
                            indexOffset: Int = 0) -> [Float] {
        var out = values
        out.withUnsafeMutableBufferPointer {
            dare($0, density: density, seed: seed, branch: branch, indexOffset: indexOffset)
        }
        return out
    }

    /// Whether DARE keeps parameter `index` of `branch`: a uniform u ∈ [0, 1) from SplitMix64
    /// at position `index` of the stream `SeedMixer.derive(run: seed, rank: branch, purpose:
    /// "DARE")`, kept when u < density.
    public static func dareKeeps(seed: UInt64, branch: Int, index: Int, density: Double) -> Bool {
        keeps(stream: dareStream(seed: seed, branch: branch), index: index, density: density)
    }

    /// Purpose tag of DARE's streams ("DARE" in ASCII).
    static let darePurpose: UInt64 = 0x4441_5245

    @inline(__always)
    static func dareStream(seed: UInt64, branch: Int) -> UInt64 {
        SeedMixer.derive(run: seed, rank: UInt64(branch), purpose: darePurpose)
    }

    @inline(__always)
    static func keeps(stream: UInt64, index: Int, density: Double) -> Bool {
        let bits = SeedMixer.mix(stream &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        return Double(bits >> 11) * 0x1.0p-53 < density
    }

    @inline(__always)
    static func magnitudeKey(_ x: Float) -> Float { x.isNaN ? .infinity : abs(x) }

    /// `segments` checked to be consecutive and to cover `0..<count` (programmer error otherwise).
    static func checkedSegments(_ segments: [Range<Int>]?, count: Int) -> [Range<Int>] {
        guard let segments else { return [0..<count] }
        var next = 0
        for s in segments {
            precondition(s.lowerBound == next, "Sparsify: segments must be consecutive from 0; \(s) after \(next)")
            next = s.upperBound
        }
        precondition(next == count, "Sparsify: segments cover 0..<\(next) but the buffer has \(count) values")
        return segments
    }

    /// The k-th largest value (1-based) of `a`, by iterative quickselect (median of three,
    /// three-way partition so runs of equal values cannot make it quadratic); reorders `a`.
    static func kthLargest(_ a: inout [Float], _ k: Int) -> Float {
        precondition(k >= 1 && k <= a.count)
        var lo = 0, hi = a.count - 1
        let target = k - 1   // index in descending order
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            let x = a[lo], y = a[mid], z = a[hi]
            let pivot = max(min(x, y), min(max(x, y), z))
            // Three-way partition (descending): [lo, gt) > pivot, [gt, i) == pivot, (lt, hi] < pivot.
            var gt = lo, i = lo, lt = hi
            while i <= lt {
                if a[i] > pivot { a.swapAt(gt, i); gt += 1; i += 1 }
                else if a[i] < pivot { a.swapAt(i, lt); lt -= 1 }
                else { i += 1 }
            }
            if target < gt { hi = gt - 1 }
            else if target > lt { lo = lt + 1 }
            else { return pivot }
        }
        return a[lo]
    }
}
