#if _endian(big)
#error("The checkpoint format is little-endian and this reader copies floats bytewise; port the converters first.")
#endif

/// How a tensor's elements are stored in a shard file.
public enum StoredDType: String, Codable, Sendable, CaseIterable {
    /// IEEE fp32, exact.
    case fp32
    /// bfloat16: the top 16 bits of an fp32, rounded to nearest even. Lossy
    /// (8 significant bits: relative error ≤ 2⁻⁸), same range as fp32.
    case bf16
    /// Raw bytes (RNG state, data cursor, other small blobs).
    case bytes

    /// The code written in a shard record.
    var code: UInt8 {
        switch self {
        case .fp32: return 0
        case .bf16: return 1
        case .bytes: return 2
        }
    }

    /// The dtype for a record code, or nil.
    init?(code: UInt8) {
        switch code {
        case 0: self = .fp32
        case 1: self = .bf16
        case 2: self = .bytes
        default: return nil
        }
    }

    /// Bytes per stored element.
    public var elementSize: Int {
        switch self {
        case .fp32: return 4
        case .bf16: return 2
        case .bytes: return 1
        }
    }
}

/// fp32 ↔ bfloat16 conversion.
public enum BFloat16 {
    /// Largest relative error of `round(x)` for normal fp32 `x`: half a unit in
    /// the 8th significant bit, 2⁻⁸ (values that round to ±infinity excepted).
    public static let relativeErrorBound: Float = 0x1p-8

    /// Rounds to the nearest bfloat16, ties to even; NaN stays a (quiet) NaN with its sign.
    @inline(__always)
    public static func round(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        if f.isNaN { return UInt16(truncatingIfNeeded: x >> 16) | 0x0040 }
        return UInt16(truncatingIfNeeded: (x &+ 0x7FFF &+ ((x >> 16) & 1)) >> 16)
    }

    /// The fp32 value of bfloat16 bits (exact).
    @inline(__always)
    public static func float(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// Rounds `count` floats to bfloat16 little-endian bytes at `destination` (2 bytes each).
    public static func encode(_ source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutableRawPointer) {
        for i in 0 ..< count { destination.storeBytes(of: round(source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
    }

    /// Widens `count` little-endian bfloat16 values at `source` to floats.
    public static func decode(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        for i in 0 ..< count {
            destination[i] = float(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    }
}
