import Foundation

/// Reads a shard file: the header and record table are validated when it is
/// opened; each tensor is read with `pread`, decompressed, unshuffled and
/// checked against its CRC-32C when asked for.
///
/// Nothing is allocated from a length field before it has been checked
/// against the file size (and, for zstd data, against both the frame's own
/// content size and zstd's largest possible expansion).
public final class ShardReader {
    /// Path of the file.
    public let path: String
    /// File size when opened.
    public let fileSize: Int
    /// CRC-32C of the record table (what the manifest records for the file).
    public let tableCRC32C: UInt32
    /// The tensors, in file order.
    public let records: [ShardRecord]
    private let fd: Int32
    private let index: [String: Int]

    /// Opens and validates the shard file at `path`.
    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CheckpointError(.unreadable, file: path, expected: "a readable shard file", found: errnoDescription(errno),
                                  remedy: "Check the path; shard files are listed in the checkpoint's manifest.json.")
        }
        do {
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw CheckpointError(.unreadable, file: path, expected: "a regular file", found: "a directory or special file",
                                      remedy: "Pass a shard file (*.shard).")
            }
            fileSize = Int(st.st_size)
            let head = try Self.read(fd, path: path, offset: 0, count: min(fileSize, ShardFormat.headerSize), what: "the header")
            let header = try ShardHeader.decode(head, fileSize: fileSize, file: path)
            let table = try Self.read(fd, path: path, offset: header.tableOffset, count: header.tableLength, what: "the record table")
            let crc = CRC32C.checksum(table)
            guard crc == header.tableCRC else {
                throw CheckpointError(.checksumMismatch, file: path,
                                      expected: "record table CRC-32C \(CRC32C.hex(header.tableCRC))",
                                      found: "\(CRC32C.hex(crc)) (the table is damaged)", remedy: CheckpointRemedy.corrupt)
            }
            tableCRC32C = crc
            records = try ShardRecord.decodeTable(table, count: header.tensorCount, tableOffset: header.tableOffset,
                                                  fileSize: fileSize, file: path)
        } catch {
            close(fd)
            throw error
        }
        var index: [String: Int] = [:]
        for (i, r) in records.enumerated() { index[r.name] = i }
        self.index = index
    }

    deinit { close(fd) }

    /// The record named `name`, or nil.
    public func record(named name: String) -> ShardRecord? { index[name].map { records[$0] } }

    /// Decodes a float tensor (stored as fp32 or bf16) to fp32.
    public func floats(_ name: String) throws -> [Float] {
        let r = try floatRecord(name)
        var out = [Float](repeating: 0, count: r.count)
        try out.withUnsafeMutableBufferPointer { try decode(r, into: $0) }
        return out
    }

    /// Decodes a float tensor into `destination`, which must hold exactly its elements.
    public func read(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let r = try floatRecord(name)
        guard destination.count == r.count else {
            throw CheckpointError(.malformed, file: path, expected: "\(destination.count) elements in '\(name)' (the buffer to fill)",
                                  found: "\(r.count)", remedy: "The checkpoint was written for a different model or layout.")
        }
        try decode(r, into: destination)
    }

    /// The raw bytes of a `.bytes` tensor.
    public func bytes(_ name: String) throws -> [UInt8] {
        let r = try record(name)
        guard r.dtype == .bytes else {
            throw CheckpointError(.malformed, file: path, expected: "'\(name)' stored as bytes", found: "dtype \(r.dtype.rawValue)",
                                  remedy: "Read float tensors with floats(_:).")
        }
        return try storedBytes(r)
    }

    /// Reads, decompresses and checks every tensor; throws at the first failure.
    public func verify() throws {
        for r in records { _ = try storedBytes(r) }
    }

    /// The stored bytes of `r` in element order, length- and CRC-checked.
    public func storedBytes(_ r: ShardRecord) throws -> [UInt8] {
        let raw = try Self.read(fd, path: path, offset: r.dataOffset, count: r.compressedLength, what: "the data of '\(r.name)'")
        var stored: [UInt8]
        switch r.codec {
        case .none:
            stored = raw
        case .zstd:
            let declared = raw.withUnsafeBytes { Zstd.declaredContentSize($0) }
            guard declared == UInt64(r.storedLength) else {
                throw CheckpointError(.checksumMismatch, file: path,
                                      expected: "'\(r.name)': a zstd frame of \(r.storedLength) bytes",
                                      found: declared.map { "a frame declaring \($0) bytes" } ?? "no valid zstd frame header",
                                      remedy: CheckpointRemedy.corrupt)
            }
            stored = try [UInt8](unsafeUninitializedCapacity: r.storedLength) { buffer, initialized in
                try raw.withUnsafeBytes { src in
                    try Zstd.decompress(src, into: UnsafeMutableRawBufferPointer(buffer), file: path, what: "'\(r.name)'")
                }
                initialized = r.storedLength
            }
        }
        if r.shuffled {
            stored = [UInt8](unsafeUninitializedCapacity: r.storedLength) { buffer, initialized in
                stored.withUnsafeBytes { ByteShuffle.unshuffle($0, into: UnsafeMutableRawBufferPointer(buffer), elementSize: r.dtype.elementSize) }
                initialized = r.storedLength
            }
        }
        let crc = CRC32C.checksum(stored)
        guard crc == r.crc32c else {
            throw CheckpointError(.checksumMismatch, file: path, expected: "'\(r.name)' with CRC-32C \(CRC32C.hex(r.crc32c))",
                                  found: "\(CRC32C.hex(crc)) (the data is damaged)", remedy: CheckpointRemedy.corrupt)
        }
        return stored
    }

    private func record(_ name: String) throws -> ShardRecord {
        guard let r = record(named: name) else {
            throw CheckpointError(.missing, file: path, expected: "a tensor named '\(name)'",
                                  found: "only \(records.map { "'\($0.name)'" }.joined(separator: ", "))",
                                  remedy: "Check the tensor name, or that this checkpoint was written by the same job.")
        }
        return r
    }

    private func floatRecord(_ name: String) throws -> ShardRecord {
        let r = try record(name)
        guard r.dtype != .bytes else {
            throw CheckpointError(.malformed, file: path, expected: "'\(name)' stored as fp32 or bf16", found: "raw bytes",
                                  remedy: "Read byte blobs with bytes(_:).")
        }
        return r
    }

    private func decode(_ r: ShardRecord, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let stored = try storedBytes(r)
        stored.withUnsafeBytes { src in
            guard let dst = destination.baseAddress, let s = src.baseAddress else { return }
            if r.dtype == .fp32 {
                UnsafeMutableRawPointer(dst).copyMemory(from: s, byteCount: r.storedLength)
            } else {
                BFloat16.decode(s, count: r.count, into: dst)
            }
        }
    }

    /// Reads exactly `count` bytes at `offset` (the caller bounded `count` by the file size).
    static func read(_ fd: Int32, path: String, offset: Int, count: Int, what: String) throws -> [UInt8] {
        var out = [UInt8](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }  // filled below or thrown away
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw CheckpointError(n == 0 ? .truncated : .unreadable, file: path,
                                      expected: "\(count) bytes of \(what) at offset \(offset)",
                                      found: n == 0 ? "the file ends after \(offset + done) bytes" : errnoDescription(errno),
                                      remedy: CheckpointRemedy.corrupt)
            }
            done += n
        }
        return out
    }
}
