/// Byte shuffling as in Blosc's `shuffle` filter: for elements of `size`
/// bytes, all first bytes are written, then all second bytes, and so on.
///
/// Floats of similar magnitude share their sign/exponent bytes, so the
/// shuffled stream has long runs of near-identical bytes that zstd
/// compresses well, while the low mantissa bytes (noise) no longer break
/// those runs up. Trailing bytes that do not fill an element (none, for our
/// tensors) are copied unchanged at the end.
public enum ByteShuffle {
    /// Writes the shuffled `source` to `destination` (same byte count, no overlap):
    /// `destination[b * n + i] = source[i * elementSize + b]` for n whole elements.
    public static func shuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer,
                               elementSize: Int) {
        precondition(source.count == destination.count, "ByteShuffle: \(source.count) bytes into \(destination.count)")
        precondition(elementSize >= 1, "ByteShuffle: element size \(elementSize)")
        guard let s = source.baseAddress, let d = destination.baseAddress else { return }
        let n = source.count / elementSize, whole = n * elementSize
        let src = s.assumingMemoryBound(to: UInt8.self), dst = d.assumingMemoryBound(to: UInt8.self)
        switch elementSize {
        case 4:
            let d1 = dst + n, d2 = dst + 2 * n, d3 = dst + 3 * n
            for i in 0 ..< n {
                let w = UInt32(littleEndian: s.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                dst[i] = UInt8(truncatingIfNeeded: w)
                d1[i] = UInt8(truncatingIfNeeded: w >> 8)
                d2[i] = UInt8(truncatingIfNeeded: w >> 16)
                d3[i] = UInt8(truncatingIfNeeded: w >> 24)
            }
        case 2:
            let d1 = dst + n
            for i in 0 ..< n {
                let w = UInt16(littleEndian: s.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                dst[i] = UInt8(truncatingIfNeeded: w)
                d1[i] = UInt8(truncatingIfNeeded: w >> 8)
            }
        default:
            for b in 0 ..< elementSize {
                for i in 0 ..< n { dst[b * n + i] = src[i * elementSize + b] }
            }
        }
        if whole < source.count { (dst + whole).update(from: src + whole, count: source.count - whole) }
    }

    /// Inverts `shuffle`: `destination[i * elementSize + b] = source[b * n + i]`.
    public static func unshuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer,
                                 elementSize: Int) {
        precondition(source.count == destination.count, "ByteShuffle: \(source.count) bytes into \(destination.count)")
        precondition(elementSize >= 1, "ByteShuffle: element size \(elementSize)")
        guard let s = source.baseAddress, let d = destination.baseAddress else { return }
        let n = source.count / elementSize, whole = n * elementSize
        let src = s.assumingMemoryBound(to: UInt8.self), dst = d.assumingMemoryBound(to: UInt8.self)
        switch elementSize {
        case 4:
            let s1 = src + n, s2 = src + 2 * n, s3 = src + 3 * n
            for i in 0 ..< n {
                let w = UInt32(src[i]) | UInt32(s1[i]) << 8 | UInt32(s2[i]) << 16 | UInt32(s3[i]) << 24
                d.storeBytes(of: w.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
            }
        case 2:
            let s1 = src + n
            for i in 0 ..< n {
                let w = UInt16(src[i]) | UInt16(s1[i]) << 8
                d.storeBytes(of: w.littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            }
        default:
            for b in 0 ..< elementSize {
                for i in 0 ..< n { dst[i * elementSize + b] = src[b * n + i] }
            }
        }
        if whole < source.count { (dst + whole).update(from: src + whole, count: source.count - whole) }
    }

    /// `bytes` shuffled for `elementSize`-byte elements (convenience for tests and tools).
    public static func shuffled(_ bytes: [UInt8], elementSize: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: bytes.count)
        bytes.withUnsafeBytes { s in out.withUnsafeMutableBytes { shuffle(s, into: $0, elementSize: elementSize) } }
        return out
    }

    /// `bytes` unshuffled for `elementSize`-byte elements (convenience for tests and tools).
    public static func unshuffled(_ bytes: [UInt8], elementSize: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: bytes.count)
        bytes.withUnsafeBytes { s in out.withUnsafeMutableBytes { unshuffle(s, into: $0, elementSize: elementSize) } }
        return out
    }
}
