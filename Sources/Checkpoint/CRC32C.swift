import Foundation

/// CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and
/// final XOR 0xFFFFFFFF — the checksum of iSCSI (RFC 3720), ext4 and
/// Snappy/LevelDB. Chosen over CRC-32 (zlib) for its better error detection
/// on long messages; computed here slice-by-8 in pure Swift.
///
/// Known answers (RFC 3720 §B.4 and the usual check value):
/// `"123456789"` → 0xE3069283; 32 zero bytes → 0x8A9136AA.
public enum CRC32C {
    /// Eight 256-entry tables, flattened: `table[k * 256 + b]`.
    static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0 ..< 256 {
            var c = UInt32(i)
            for _ in 0 ..< 8 { c = c & 1 == 1 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for k in 1 ..< 8 {
            for i in 0 ..< 256 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    /// The CRC-32C of `bytes`, continuing from `previous` (the checksum of the
    /// bytes before them; 0 to start), so a long message can be fed in pieces.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return previous }
        var n = bytes.count
        var c = ~previous
        table.withUnsafeBufferPointer { tb in
            let t = tb.baseAddress!
            while n >= 8 {
                let w = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) ^ UInt64(c)
                c = t[7 * 256 + Int(w & 0xFF)] ^ t[6 * 256 + Int((w >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((w >> 16) & 0xFF)] ^ t[4 * 256 + Int((w >> 24) & 0xFF)]
                    ^ t[3 * 256 + Int((w >> 32) & 0xFF)] ^ t[2 * 256 + Int((w >> 40) & 0xFF)]
                    ^ t[1 * 256 + Int((w >> 48) & 0xFF)] ^ t[Int(w >> 56)]
                p += 8
                n -= 8
            }
            while n > 0 {
                c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                p += 1
                n -= 1
            }
        }
        return ~c
    }

    /// The CRC-32C of a byte array (or slice), continuing from `previous`.
    public static func checksum<C: ContiguousBytes>(_ bytes: C, continuing previous: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: previous) }
    }

    /// `0x` followed by eight lowercase hex digits, for logs and `inspect`.
    public static func hex(_ value: UInt32) -> String {
        let s = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }
}
