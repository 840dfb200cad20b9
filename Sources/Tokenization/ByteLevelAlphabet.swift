/// GPT-2's `bytes_to_unicode` table: every byte gets a printable stand-in
/// character so byte strings can be stored as ordinary vocabulary strings.
///
/// Printable bytes (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) map to themselves; the other 68
/// bytes map, in increasing byte order, to U+0100, U+0101, ….
enum ByteLevelAlphabet {
    /// The stand-in scalar for each byte value.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var extra: UInt32 = 0
        for byte in 0..<256 {
            if isPrintable(byte) {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                // 0x100 + n for n < 68 is always a valid scalar value.
                table[byte] = Unicode.Scalar(0x100 + extra) ?? " "
                extra += 1
            }
        }
        return table
    }()

    /// The byte for each stand-in scalar value (indexed by scalar value,
    /// -1 where the scalar is not a stand-in). Stand-ins are all below U+0144.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in scalarForByte.enumerated() {
            table[Int(scalar.value)] = Int16(byte)
        }
        return table
    }()

    /// The single-character vocabulary string that stands for `byte`.
    static func string(forByte byte: UInt8) -> String {
        String(Character(scalarForByte[Int(byte)]))
    }

    /// The bytes a vocabulary string stands for.
    ///
    /// Like Hugging Face's ByteLevel decoder, a string containing any
    /// character outside the table (for example an added token with a real
    /// space in it) decodes to its own UTF-8 bytes instead.
    static func bytes(of token: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            guard value < byteForScalar.count, byteForScalar[value] >= 0 else {
                return Array(token.utf8)
            }
            out.append(UInt8(byteForScalar[value]))
        }
        return out
    }

    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }
}
