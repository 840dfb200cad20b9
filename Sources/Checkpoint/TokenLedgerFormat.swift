/// Constants and the byte codec of token ledger files (layout: `TokenLedger`).
public enum TokenLedgerFormat {
    /// First eight bytes of every ledger file.
    public static let magic: [UInt8] = Array("ISPOTLDG".utf8)
    /// The format version this code writes and reads.
    public static let version: UInt32 = 1
    /// Size of the fixed header.
    public static let headerSize = 40
    /// Longest checkpoint name (UTF-8 bytes).
    public static let maxNameLength = 1024

    /// The whole file's bytes.
    static func encode(_ ledger: TokenLedger, level: Int, file: String) throws -> [UInt8] {
        var index: [UInt8] = []
        var floats: [Float] = []
        index.appendLE(UInt32(ledger.checkpoints.count))
        for c in ledger.checkpoints {
            let name = Array(c.utf8)
            index.appendLE(UInt16(name.count)); index += name
            let ids = ledger.sampleIDs(checkpoint: c)
            index.appendLE(UInt32(ids.count))
            for id in ids {
                let lp = ledger.entries[c]![id]!
                index.appendLE(Int64(id)); index.appendLE(UInt32(lp.count))
                floats += lp
            }
        }
        var payload = index
        payload += floats.withUnsafeBytes { raw in
            var out = [UInt8](repeating: 0, count: raw.count)
            out.withUnsafeMutableBytes { ByteShuffle.shuffle(raw, into: $0, elementSize: 4) }
            return out
        }
        let frame = try payload.withUnsafeBytes { try Zstd.compress($0, level: level, file: file) }
        var out = magic
        out.appendLE(version); out.appendLE(UInt32(0))
        out.appendLE(UInt64(payload.count)); out.appendLE(UInt64(frame.count))
        out.appendLE(CRC32C.checksum(payload))
        out.appendLE(CRC32C.checksum(out))
        return out + frame
    }

    /// Parses and verifies a whole file.
    static func decode(_ bytes: [UInt8], file: String) throws -> TokenLedger {
        func fail(_ kind: CheckpointError.Kind, _ expected: String, _ found: String) -> CheckpointError {
            CheckpointError(kind, file: file, expected: expected, found: found,
                            remedy: kind == .unsupportedVersion ? CheckpointRemedy.newerVersion
                                : "The token ledger is corrupt or incomplete: rescore the training set to rebuild it.")
        }
        guard bytes.count >= headerSize else {
            if bytes.count >= magic.count, Array(bytes.prefix(magic.count)) != magic {
                throw fail(.wrongFormat, "a token ledger starting with 'ISPOTLDG'", "other bytes")
            }
            throw fail(.truncated, "a \(headerSize)-byte token ledger header", "a file of \(bytes.count) bytes")
        }
        guard Array(bytes.prefix(magic.count)) == magic else {
            throw fail(.wrongFormat, "a token ledger starting with 'ISPOTLDG'", "other bytes")
        }
        let headerCRC = bytes.loadLE(UInt32.self, at: 36), computedHeader = CRC32C.checksum(bytes[0 ..< 36])
        guard headerCRC == computedHeader else {
            throw fail(.checksumMismatch, "header CRC-32C \(CRC32C.hex(headerCRC))", CRC32C.hex(computedHeader))
        }
        let v = bytes.loadLE(UInt32.self, at: 8)
        guard v == version else {
            throw fail(v > version ? .unsupportedVersion : .malformed, "token ledger version \(version)", "version \(v)")
        }
        let reserved = bytes.loadLE(UInt32.self, at: 12)
        guard reserved == 0 else { throw fail(.malformed, "reserved header field 0", "\(reserved)") }
        let payloadLength = bytes.loadLE(UInt64.self, at: 16), frameLength = bytes.loadLE(UInt64.self, at: 24)
        guard frameLength == UInt64(bytes.count - headerSize) else {
            throw fail(frameLength > UInt64(bytes.count - headerSize) ? .truncated : .malformed,
                       "a file of \(headerSize) + \(frameLength) bytes", "a file of \(bytes.count) bytes")
        }
        guard payloadLength <= UInt64(Zstd.maximumDecompressedSize(compressedSize: Int(frameLength))) else {
            throw fail(.malformed, "a payload a \(frameLength)-byte zstd frame can hold", "a claim of \(payloadLength) bytes")
        }
        var payload = [UInt8](repeating: 0, count: Int(payloadLength))
        try bytes.withUnsafeBytes { raw in
            try payload.withUnsafeMutableBytes {
                try Zstd.decompress(UnsafeRawBufferPointer(rebasing: raw[headerSize...]), into: $0, file: file, what: "the payload")
            }
        }
        let payloadCRC = bytes.loadLE(UInt32.self, at: 32), computed = CRC32C.checksum(payload)
        guard payloadCRC == computed else {
            throw fail(.checksumMismatch, "payload CRC-32C \(CRC32C.hex(payloadCRC))", CRC32C.hex(computed))
        }
        return try decodePayload(payload, fail: fail)
    }

    /// The index and floats of a verified payload; every count is checked against the bytes left.
    private static func decodePayload(_ p: [UInt8],
                                      fail: (CheckpointError.Kind, String, String) -> CheckpointError) throws -> TokenLedger {
        var at = 0
        func take(_ n: Int, _ what: String) throws -> Int {
            guard n <= p.count - at else { throw fail(.malformed, "\(n) bytes of \(what) at payload offset \(at)", "the payload ends") }
            defer { at += n }
            return at
        }
        var keys: [(checkpoint: String, id: Int, count: Int)] = []
        var totalFloats = 0
        let checkpoints = Int(p.loadLE(UInt32.self, at: try take(4, "the checkpoint count")))
        var seen = Set<String>()
        for _ in 0 ..< checkpoints {
            let n = Int(p.loadLE(UInt16.self, at: try take(2, "a name length")))
            guard n >= 1, n <= maxNameLength else { throw fail(.malformed, "a name of 1...\(maxNameLength) bytes", "\(n) bytes") }
            let start = try take(n, "a checkpoint name")
            guard let name = String(validating: p[start ..< start + n], as: UTF8.self), seen.insert(name).inserted else {
                throw fail(.malformed, "unique UTF-8 checkpoint names", "an invalid or repeated name")
            }
            let samples = Int(p.loadLE(UInt32.self, at: try take(4, "a sample count")))
            var lastID: Int?
            for _ in 0 ..< samples {
                let id = Int(p.loadLE(Int64.self, at: try take(8, "a sample id")))
                let count = Int(p.loadLE(UInt32.self, at: try take(4, "a token count")))
                guard lastID.map({ id > $0 }) ?? true else {
                    throw fail(.malformed, "ascending sample ids in '\(name)'", "\(id) after \(lastID!)")
                }
                lastID = id
                keys.append((name, id, count)); totalFloats += count
                guard totalFloats <= p.count / 4 else {
                    throw fail(.malformed, "token counts the \(p.count)-byte payload can hold", "\(totalFloats) floats")
                }
            }
        }
        guard (p.count - at) == totalFloats * 4 else {
            throw fail(.malformed, "\(totalFloats) floats after the index", "\(p.count - at) bytes")
        }
        var floats = [Float](repeating: 0, count: totalFloats)
        p.withUnsafeBytes { raw in
            floats.withUnsafeMutableBytes { ByteShuffle.unshuffle(UnsafeRawBufferPointer(rebasing: raw[at...]), into: $0, elementSize: 4) }
        }
        var ledger = TokenLedger()
        var next = 0
        for k in keys {
            ledger.record(checkpoint: k.checkpoint, sampleID: k.id, logProbs: Array(floats[next ..< next + k.count]))
            next += k.count
        }
        return ledger
    }
}
