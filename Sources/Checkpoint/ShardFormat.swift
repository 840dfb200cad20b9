/// Constants and the record table of shard files; the byte-level
/// specification is `Docs/CheckpointFormat.md`.
public enum ShardFormat {
    /// First eight bytes of every shard file: `ISPOCKPT`.
    public static let magic: [UInt8] = Array("ISPOCKPT".utf8)
    /// The format version this code writes and reads.
    public static let version: UInt32 = 1
    /// Size of the fixed header at offset 0.
    public static let headerSize = 48
    /// Largest record table accepted (bytes); a table is ~100 bytes per tensor.
    public static let maxTableSize = 16 << 20
    /// Longest tensor name (UTF-8 bytes).
    public static let maxNameLength = 1024
    /// Most dimensions in a recorded shape.
    public static let maxRank = 8
    /// Smallest possible record (1-byte name, no shape): the tensor count is
    /// checked against `tableLength / minRecordSize` before anything is parsed.
    static let minRecordSize = 2 + 1 + 4 + 4 * 8 + 4
}

/// How a tensor's stored bytes are compressed.
public enum ShardCodec: UInt8, Codable, Sendable {
    /// Stored bytes written as they are.
    case none = 0
    /// One zstd frame.
    case zstd = 1

    /// The name used in manifests and `inspect`.
    public var name: String { self == .none ? "none" : "zstd" }
}

/// One tensor's entry in a shard file's record table.
public struct ShardRecord: Equatable, Sendable {
    /// Unique name within the shard, e.g. `model.params` or `state.rng`.
    public let name: String
    /// Storage type.
    public let dtype: StoredDType
    /// Compression of the stored bytes.
    public let codec: ShardCodec
    /// Whether the stored bytes were byte-shuffled before compression.
    public let shuffled: Bool
    /// Recorded shape (empty: a flat tensor of `count` elements).
    public let shape: [Int]
    /// Number of elements.
    public let count: Int
    /// Offset of the (compressed) data from the start of the file.
    public let dataOffset: Int
    /// Length of the stored bytes before compression: `count × dtype.elementSize`.
    public let storedLength: Int
    /// Length of the data in the file.
    public let compressedLength: Int
    /// CRC-32C of the stored bytes in element order (before shuffling and compression).
    public let crc32c: UInt32

    /// `storedLength / compressedLength` (1 for empty tensors).
    public var compressionRatio: Double {
        compressedLength == 0 ? 1 : Double(storedLength) / Double(compressedLength)
    }

    /// Appends the record's bytes (little-endian) to `out`.
    func encode(into out: inout [UInt8]) {
        let nameBytes = Array(name.utf8)
        out.appendLE(UInt16(nameBytes.count))
        out += nameBytes
        out += [dtype.code, codec.rawValue, shuffled ? 1 : 0, UInt8(shape.count)]
        for d in shape { out.appendLE(UInt64(d)) }
        for v in [count, dataOffset, storedLength, compressedLength] { out.appendLE(UInt64(v)) }
        out.appendLE(crc32c)
    }

    /// Parses and validates the record table of a file of `fileSize` bytes.
    /// Data ranges must follow each other in record order from the end of the
    /// header to `tableOffset`; every length and count is checked before use.
    static func decodeTable(_ table: [UInt8], count: Int, tableOffset: Int, fileSize: Int,
                            file: String) throws -> [ShardRecord] {
        var r = TableReader(bytes: table, file: file)
        var records: [ShardRecord] = []
        records.reserveCapacity(count)
        var names = Set<String>()
        var nextOffset = ShardFormat.headerSize
        for i in 0 ..< count {
            func bad(_ expected: String, _ found: String) -> CheckpointError {
                CheckpointError(.malformed, file: file, expected: "record \(i): \(expected)", found: found,
                                remedy: CheckpointRemedy.corrupt)
            }
            let nameLength = Int(try r.u16())
            guard nameLength >= 1, nameLength <= ShardFormat.maxNameLength else {
                throw bad("a name of 1...\(ShardFormat.maxNameLength) bytes", "a name length of \(nameLength)")
            }
            guard let name = String(validating: try r.take(nameLength), as: UTF8.self) else {
                throw bad("a UTF-8 tensor name", "invalid UTF-8")
            }
            guard names.insert(name).inserted else { throw bad("unique tensor names", "'\(name)' twice") }
            let codes = Array(try r.take(4))
            guard let dtype = StoredDType(code: codes[0]) else { throw bad("dtype 0, 1 or 2 for '\(name)'", "\(codes[0])") }
            guard let codec = ShardCodec(rawValue: codes[1]) else { throw bad("codec 0 or 1 for '\(name)'", "\(codes[1])") }
            guard codes[2] <= 1, !(codes[2] == 1 && dtype == .bytes) else {
                throw bad("shuffle flag 0, or 1 for a float tensor, for '\(name)'", "\(codes[2]) with dtype \(dtype)")
            }
            guard Int(codes[3]) <= ShardFormat.maxRank else { throw bad("at most \(ShardFormat.maxRank) dimensions", "\(codes[3])") }
            var shape: [Int] = []
            for _ in 0 ..< Int(codes[3]) { shape.append(try r.length(fileSize: .max, "a dimension of '\(name)'")) }
            let count = try r.length(fileSize: .max, "the element count of '\(name)'")
            if !shape.isEmpty {
                var product = 1, overflow = false
                for d in shape { (product, overflow) = product.multipliedReportingOverflow(by: d); if overflow { break } }
                guard !overflow, product == count else { throw bad("shape \(shape) of '\(name)' to hold \(count) elements", "a product of \(overflow ? "more than Int.max" : "\(product)")") }
            }
            let dataOffset = try r.length(fileSize: fileSize, "the data offset of '\(name)'")
            let stored = try r.length(fileSize: .max, "the stored length of '\(name)'")
            let compressed = try r.length(fileSize: fileSize, "the compressed length of '\(name)'")
            let crc = try r.u32()
            let (expectedStored, overflow) = count.multipliedReportingOverflow(by: dtype.elementSize)
            guard !overflow, stored == expectedStored else {
                throw bad("\(count) × \(dtype.elementSize) stored bytes for '\(name)'", "a stored length of \(stored)")
            }
            guard dataOffset == nextOffset, compressed <= tableOffset - dataOffset else {
                throw bad("data of '\(name)' at offset \(nextOffset), ending by the table at \(tableOffset)",
                          "offset \(dataOffset), length \(compressed)")
            }
            switch codec {
            case .none:
                guard compressed == stored else { throw bad("\(stored) uncompressed bytes for '\(name)'", "\(compressed)") }
            case .zstd:
                guard stored <= Zstd.maximumDecompressedSize(compressedSize: compressed) else {
                    throw bad("at most \(Zstd.maximumDecompressedSize(compressedSize: compressed)) stored bytes from "
                              + "\(compressed) zstd bytes for '\(name)'", "a stored length of \(stored)")
                }
            }
            nextOffset = dataOffset + compressed
            records.append(ShardRecord(name: name, dtype: dtype, codec: codec, shuffled: codes[2] == 1, shape: shape,
                                       count: count, dataOffset: dataOffset, storedLength: stored,
                                       compressedLength: compressed, crc32c: crc))
        }
        guard r.offset == table.count else {
            throw CheckpointError(.malformed, file: file, expected: "\(count) records filling the \(table.count)-byte table",
                                  found: "\(table.count - r.offset) bytes left over", remedy: CheckpointRemedy.corrupt)
        }
        guard nextOffset == tableOffset else {
            throw CheckpointError(.malformed, file: file, expected: "tensor data ending at the table offset \(tableOffset)",
                                  found: "data ending at \(nextOffset)", remedy: CheckpointRemedy.corrupt)
        }
        return records
    }
}

/// The fixed 48-byte header at offset 0 of a shard file.
struct ShardHeader: Equatable {
    var tableOffset: Int
    var tableLength: Int
    var tensorCount: Int
    var tableCRC: UInt32

    /// The header's 48 bytes, its own CRC-32C last.
    func encode() -> [UInt8] {
        var b = ShardFormat.magic
        b.appendLE(ShardFormat.version)
        b.appendLE(UInt32(0))  // flags
        b.appendLE(UInt64(tableOffset))
        b.appendLE(UInt64(tableLength))
        b.appendLE(UInt32(tensorCount))
        b.appendLE(tableCRC)
        b.appendLE(UInt32(0))  // reserved
        b.appendLE(CRC32C.checksum(b))
        return b
    }

    /// Parses and validates a header of a file of `fileSize` bytes.
    static func decode(_ b: [UInt8], fileSize: Int, file: String) throws -> ShardHeader {
        func fail(_ kind: CheckpointError.Kind, _ expected: String, _ found: String, _ remedy: String = CheckpointRemedy.corrupt) -> CheckpointError {
            CheckpointError(kind, file: file, expected: expected, found: found, remedy: remedy)
        }
        guard b.count >= 8, Array(b[0 ..< 8]) == ShardFormat.magic else {
            let shown = b.prefix(8).map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
            throw fail(.wrongFormat, "the shard magic 'ISPOCKPT' (49 53 50 4f 43 4b 50 54)",
                       b.isEmpty ? "an empty file" : "bytes \(shown)",
                       "This is not an ispo-cluster checkpoint shard (or it was overwritten); pass a *.shard file.")
        }
        guard b.count >= ShardFormat.headerSize else {
            throw fail(.truncated, "a \(ShardFormat.headerSize)-byte header", "a file of \(b.count) bytes")
        }
        let version = b.loadLE(UInt32.self, at: 8)
        guard version == ShardFormat.version else {
            throw fail(version > ShardFormat.version ? .unsupportedVersion : .malformed,
                       "shard format version \(ShardFormat.version)", "version \(version)",
                       version > ShardFormat.version ? CheckpointRemedy.newerVersion : CheckpointRemedy.corrupt)
        }
        let stored = b.loadLE(UInt32.self, at: 44), actual = CRC32C.checksum(b[0 ..< 44])
        guard stored == actual else {
            throw fail(.checksumMismatch, "header CRC-32C \(CRC32C.hex(stored))", "\(CRC32C.hex(actual)) (the header is damaged)")
        }
        guard b.loadLE(UInt32.self, at: 12) == 0, b.loadLE(UInt32.self, at: 40) == 0 else {
            throw fail(.unsupportedVersion, "flags and reserved fields 0", "flags \(b.loadLE(UInt32.self, at: 12))",
                       CheckpointRemedy.newerVersion)
        }
        let offset = b.loadLE(UInt64.self, at: 16), length = b.loadLE(UInt64.self, at: 24)
        let count = Int(b.loadLE(UInt32.self, at: 32))
        guard offset >= UInt64(ShardFormat.headerSize), length <= UInt64(ShardFormat.maxTableSize),
              offset <= UInt64(Int.max) - length else {
            throw fail(.malformed, "a record table after the header of at most \(ShardFormat.maxTableSize) bytes",
                       "table offset \(offset), length \(length)")
        }
        guard Int(offset + length) == fileSize else {
            throw fail(Int(offset + length) > fileSize ? .truncated : .malformed,
                       "a file of \(offset + length) bytes (table at \(offset), \(length) bytes long)",
                       "\(fileSize) bytes")
        }
        guard count <= Int(length) / ShardFormat.minRecordSize else {
            throw fail(.malformed, "at most \(Int(length) / ShardFormat.minRecordSize) records in a \(length)-byte table",
                       "a tensor count of \(count)")
        }
        return ShardHeader(tableOffset: Int(offset), tableLength: Int(length), tensorCount: count,
                           tableCRC: b.loadLE(UInt32.self, at: 36))
    }
}

/// Bounds-checked little-endian reads from a record table.
struct TableReader {
    let bytes: [UInt8]
    let file: String
    var offset = 0

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n <= bytes.count - offset else {
            throw CheckpointError(.malformed, file: file,
                                  expected: "\(n) more bytes at table offset \(offset)",
                                  found: "the \(bytes.count)-byte table ends", remedy: CheckpointRemedy.corrupt)
        }
        defer { offset += n }
        return bytes[offset ..< offset + n]
    }
    mutating func u16() throws -> UInt16 { bytes.loadLE(UInt16.self, at: try take(2).startIndex) }
    mutating func u32() throws -> UInt32 { bytes.loadLE(UInt32.self, at: try take(4).startIndex) }
    /// A u64 that must be at most `fileSize` (and 2⁴⁸, so sums cannot overflow).
    mutating func length(fileSize: Int, _ what: String) throws -> Int {
        let v = bytes.loadLE(UInt64.self, at: try take(8).startIndex)
        let limit = UInt64(min(fileSize, 1 << 48))
        guard v <= limit else {
            throw CheckpointError(.malformed, file: file, expected: "\(what) of at most \(limit)",
                                  found: "\(v)", remedy: CheckpointRemedy.corrupt)
        }
        return Int(v)
    }
}

extension Array where Element == UInt8 {
    /// Appends `v` little-endian.
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    /// Reads a little-endian `T` at byte `i` (caller has checked the bounds).
    func loadLE<T: FixedWidthInteger>(_: T.Type, at i: Int) -> T {
        withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: i, as: T.self)) }
    }
}
