import Foundation

/// How a shard writer stores tensors; `dtype` is chosen per tensor.
public struct ShardWriteOptions: Sendable {
    /// `.zstd` (default) or `.none`.
    public var codec: ShardCodec
    /// zstd level (see `Zstd.levels`). Default 3: zstd's own default, ~3× faster than level 9 for <2% size.
    public var level: Int
    /// Byte-shuffle float tensors before compression (Blosc-style). Default true.
    public var shuffle: Bool

    /// fsync the file before renaming it into place. Default true; false only
    /// for benchmarks and scratch files, never for a checkpoint.
    public var sync: Bool

    /// Options; the defaults are zstd level 3 with shuffling, fsync'd.
    public init(codec: ShardCodec = .zstd, level: Int = 3, shuffle: Bool = true, sync: Bool = true) {
        self.codec = codec
        self.level = level
        self.shuffle = shuffle
        self.sync = sync
    }
}

/// Writes one shard file: named tensors streamed to a temporary file, then
/// the record table, the header, fsync and a rename into place.
///
/// Any error removes the temporary file; so does dropping an unfinished
/// writer. The file appears at `path` only when `finish()` succeeds.
public final class ShardWriter {
    /// Final path of the file.
    public let path: String
    /// Compression settings.
    public let options: ShardWriteOptions
    /// Name of the file in the manifest (relative to the checkpoint directory).
    var manifestName: String
    /// Group and rank recorded in the summary.
    var group = "", rank = 0
    private let tempPath: String
    private var file: PosixFile?
    private var records: [ShardRecord] = []
    private var names = Set<String>()
    private var offset = ShardFormat.headerSize
    private var settled = false  // finished or cancelled: the temporary file is gone

    /// Starts a shard file at `path` (written as `path.partial` until `finish()`).
    public convenience init(path: String, options: ShardWriteOptions = ShardWriteOptions()) throws {
        try self.init(path: path, options: options, budget: nil)
    }

    init(path: String, options: ShardWriteOptions, budget: DiskBudget?) throws {
        if options.codec == .zstd, !Zstd.levels.contains(options.level) {
            throw CheckpointError(.invalidArgument, file: path, expected: "a zstd level in \(Zstd.levels)",
                                  found: "level \(options.level)", remedy: "Set the checkpoint compression level to e.g. 3.")
        }
        self.path = path
        self.options = options
        manifestName = (path as NSString).lastPathComponent
        tempPath = path + ".partial"
        let f = try PosixFile.create(tempPath, budget: budget)
        file = f
        do { try f.write([UInt8](repeating: 0, count: ShardFormat.headerSize)) } catch { cancel(); throw error }
    }

    deinit { cancel() }

    /// Adds a float tensor stored as `dtype` (`.fp32` or `.bf16`); `shape` is
    /// recorded for readers (empty: flat). `shuffle` overrides the writer's option.
    public func add(_ name: String, floats: UnsafeBufferPointer<Float>, dtype: StoredDType = .fp32,
                    shape: [Int] = [], shuffle: Bool? = nil) throws {
        precondition(dtype != .bytes, "ShardWriter.add(floats:): use add(_:bytes:) for raw bytes")
        let n = floats.count
        if dtype == .fp32 {
            try addStored(name, UnsafeRawBufferPointer(floats), dtype: dtype, count: n, shape: shape,
                          shuffle: shuffle ?? options.shuffle)
        } else {
            let stored = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * n, alignment: 16)
            defer { stored.deallocate() }
            if let base = floats.baseAddress, let dst = stored.baseAddress { BFloat16.encode(base, count: n, into: dst) }
            try addStored(name, UnsafeRawBufferPointer(stored), dtype: dtype, count: n, shape: shape,
                          shuffle: shuffle ?? options.shuffle)
        }
    }

    /// Adds a float tensor from an array.
    public func add(_ name: String, floats: [Float], dtype: StoredDType = .fp32, shape: [Int] = [],
                    shuffle: Bool? = nil) throws {
        try floats.withUnsafeBufferPointer { try add(name, floats: $0, dtype: dtype, shape: shape, shuffle: shuffle) }
    }

    /// Adds raw bytes (RNG state, data cursor, …), compressed but not shuffled.
    public func add(_ name: String, bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try addStored(name, $0, dtype: .bytes, count: bytes.count, shape: [], shuffle: false) }
    }

    private func addStored(_ name: String, _ stored: UnsafeRawBufferPointer, dtype: StoredDType, count: Int,
                           shape: [Int], shuffle: Bool) throws {
        guard let file else {
            throw CheckpointError(.invalidArgument, file: path, expected: "an open shard writer",
                                  found: "one that already finished or failed", remedy: "Start a new ShardWriter.")
        }
        let nameLength = name.utf8.count
        guard nameLength >= 1, nameLength <= ShardFormat.maxNameLength, !names.contains(name) else {
            cancel()
            throw CheckpointError(.invalidArgument, file: path, expected: "a new tensor name of 1...\(ShardFormat.maxNameLength) bytes",
                                  found: names.contains(name) ? "'\(name)' again" : "a name of \(nameLength) bytes",
                                  remedy: "Give every tensor of a shard a distinct, non-empty name.")
        }
        precondition(shape.count <= ShardFormat.maxRank && shape.allSatisfy { $0 >= 0 }
                     && (shape.isEmpty || shape.reduce(1, *) == count),
                     "ShardWriter: shape \(shape) does not hold \(count) elements")
        do {
            let crc = CRC32C.checksum(stored)
            let shuffled = shuffle && dtype.elementSize > 1
            var scratch: UnsafeMutableRawBufferPointer?
            defer { scratch?.deallocate() }
            var payload = stored
            if shuffled {
                let s = UnsafeMutableRawBufferPointer.allocate(byteCount: stored.count, alignment: 16)
                scratch = s
                ByteShuffle.shuffle(stored, into: s, elementSize: dtype.elementSize)
                payload = UnsafeRawBufferPointer(s)
            }
            let length: Int
            if options.codec == .zstd {
                let compressed = try Zstd.compress(payload, level: options.level, file: path)
                try file.write(compressed)
                length = compressed.count
            } else {
                try file.write(payload)
                length = payload.count
            }
            records.append(ShardRecord(name: name, dtype: dtype, codec: options.codec, shuffled: shuffled, shape: shape,
                                       count: count, dataOffset: offset, storedLength: stored.count,
                                       compressedLength: length, crc32c: crc))
            names.insert(name)
            offset += length
        } catch {
            cancel()
            throw error
        }
    }

    /// Writes the table and header, fsyncs and renames the file into place;
    /// returns what the manifest lists for it.
    @discardableResult
    public func finish() throws -> ShardSummary {
        guard let file else {
            throw CheckpointError(.invalidArgument, file: path, expected: "an open shard writer",
                                  found: "one that already finished or failed", remedy: "Start a new ShardWriter.")
        }
        do {
            var table: [UInt8] = []
            for r in records { r.encode(into: &table) }
            let header = ShardHeader(tableOffset: offset, tableLength: table.count, tensorCount: records.count,
                                     tableCRC: CRC32C.checksum(table))
            try file.write(table)
            try header.encode().withUnsafeBytes { try file.write($0, at: 0) }
            if options.sync { try file.sync() }
            self.file = nil
            try file.close()
            try FileOps.rename(tempPath, to: path)
            settled = true
            if options.sync { try FileOps.syncDirectory((path as NSString).deletingLastPathComponent) }
            return ShardSummary(file: manifestName, group: group, rank: rank, bytes: offset + table.count,
                                tableCRC32C: header.tableCRC, tensors: records.map(TensorSummary.init))
        } catch {
            cancel()
            throw error
        }
    }

    /// Abandons the file: closes and removes the temporary file (idempotent).
    public func cancel() {
        if let file {
            try? file.close()
            self.file = nil
        }
        if !settled { unlink(tempPath) }
        settled = true
    }
}
