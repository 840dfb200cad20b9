import Foundation

/// One tensor of a shard as listed in `manifest.json`.
public struct TensorSummary: Codable, Equatable, Sendable {
    /// Name within the shard.
    public var name: String
    /// Storage type.
    public var dtype: StoredDType
    /// Number of elements.
    public var count: Int
    /// Recorded shape (empty: flat).
    public var shape: [Int]
    /// Stored bytes before compression.
    public var storedBytes: Int
    /// Bytes in the file.
    public var compressedBytes: Int
    /// Whether the bytes were shuffled before compression.
    public var shuffled: Bool
    /// `none` or `zstd`.
    public var codec: String
    /// CRC-32C of the stored bytes (element order, before shuffling).
    public var crc32c: UInt32

    /// The summary of a shard record.
    public init(_ r: ShardRecord) {
        name = r.name; dtype = r.dtype; count = r.count; shape = r.shape
        storedBytes = r.storedLength; compressedBytes = r.compressedLength
        shuffled = r.shuffled; codec = r.codec.name; crc32c = r.crc32c
    }

    enum CodingKeys: String, CodingKey {
        case name, dtype, count, shape, shuffled, codec, crc32c
        case storedBytes = "stored_bytes", compressedBytes = "compressed_bytes"
    }
}

/// One shard file as listed in `manifest.json`; what a rank reports to the
/// leader after writing its file (Codable, so it can travel as JSON bytes).
public struct ShardSummary: Codable, Equatable, Sendable {
    /// Path relative to the checkpoint directory, e.g. `model/rank_00001.shard`.
    public var file: String
    /// The group the file belongs to (`model`, `optim`, `state`, …).
    public var group: String
    /// The rank that wrote it (its position when groups are resharded).
    public var rank: Int
    /// File size in bytes.
    public var bytes: Int
    /// CRC-32C of the file's record table, which holds every tensor's CRC:
    /// checking it ties the file to this manifest.
    public var tableCRC32C: UInt32
    /// The tensors, in file order.
    public var tensors: [TensorSummary]

    /// A summary (normally produced by `ShardWriter.finish()`).
    public init(file: String, group: String, rank: Int, bytes: Int, tableCRC32C: UInt32, tensors: [TensorSummary]) {
        self.file = file; self.group = group; self.rank = rank
        self.bytes = bytes; self.tableCRC32C = tableCRC32C; self.tensors = tensors
    }

    enum CodingKeys: String, CodingKey {
        case file, group, rank, bytes, tensors
        case tableCRC32C = "table_crc32c"
    }
}

/// `manifest.json`: what a complete checkpoint holds. Written by the leader
/// after every rank has finished its shard files, before `DONE`.
public struct CheckpointManifest: Codable, Equatable, Sendable {
    /// Identifies the file type: always `ispo-cluster-checkpoint`.
    public var format: String = CheckpointManifest.formatName
    /// Version of the manifest and shard formats together.
    public var formatVersion: Int = CheckpointManifest.currentVersion
    /// Training step (`global_step_<N>`).
    public var step: Int
    /// Ranks of the job that wrote it.
    public var worldSize: Int
    /// Free-form description of how state is laid out over ranks (e.g.
    /// `parameters: 1234567`, `sharding: zero1-balanced`, the rank layout file);
    /// checked by the job on resume, opaque here.
    public var layout: [String: String]
    /// The resolved config (YAML), stored verbatim.
    public var config: String
    /// Metric values at this step (used by `keep_best` retention).
    public var metrics: [String: Double]
    /// When the manifest was written (ISO 8601, informational only).
    public var created: String
    /// Every shard file of the checkpoint.
    public var shards: [ShardSummary]

    /// The `format` value.
    public static let formatName = "ispo-cluster-checkpoint"
    /// The version this code writes and reads.
    public static let currentVersion = 1

    /// A manifest for `step` (shards sorted by group then rank for a stable file).
    public init(step: Int, worldSize: Int, layout: [String: String] = [:], config: String = "",
                metrics: [String: Double] = [:], shards: [ShardSummary], created: Date = Date()) {
        self.step = step
        self.worldSize = worldSize
        self.layout = layout
        self.config = config
        self.metrics = metrics
        self.created = ISO8601DateFormatter().string(from: created)
        self.shards = shards.sorted { ($0.group, $0.rank, $0.file) < ($1.group, $1.rank, $1.file) }
    }

    /// The shards of `group`, in rank order.
    public func shards(group: String) -> [ShardSummary] {
        shards.filter { $0.group == group }.sorted { $0.rank < $1.rank }
    }

    /// Encoded as pretty-printed JSON with sorted keys.
    public func encoded() throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { return Array(try e.encode(self)) + [0x0A] } catch {
            throw CheckpointError(.invalidArgument, file: "manifest.json", expected: "a manifest that encodes as JSON",
                                  found: "\(error)", remedy: "Metric values must be finite numbers.")
        }
    }

    /// Decodes and checks a manifest; `file` names it in errors.
    public static func decode(_ bytes: [UInt8], file: String) throws -> CheckpointManifest {
        let m: CheckpointManifest
        do { m = try JSONDecoder().decode(CheckpointManifest.self, from: Data(bytes)) } catch {
            throw CheckpointError(bytes.first == UInt8(ascii: "{") ? .malformed : .wrongFormat, file: file,
                                  expected: "a JSON checkpoint manifest", found: "\(error)", remedy: CheckpointRemedy.corrupt)
        }
        guard m.format == formatName else {
            throw CheckpointError(.wrongFormat, file: file, expected: "format '\(formatName)'", found: "'\(m.format)'",
                                  remedy: "This is not an ispo-cluster checkpoint manifest.")
        }
        guard m.formatVersion <= currentVersion, m.formatVersion >= 1 else {
            throw CheckpointError(.unsupportedVersion, file: file, expected: "format_version 1...\(currentVersion)",
                                  found: "\(m.formatVersion)", remedy: CheckpointRemedy.newerVersion)
        }
        for s in m.shards {
            guard !s.file.isEmpty, !s.file.hasPrefix("/"), !s.file.split(separator: "/").contains("..") else {
                throw CheckpointError(.malformed, file: file, expected: "shard paths inside the checkpoint directory",
                                      found: "'\(s.file)'", remedy: CheckpointRemedy.corrupt)
            }
        }
        return m
    }

    enum CodingKeys: String, CodingKey {
        case format, step, layout, config, metrics, created, shards
        case formatVersion = "format_version", worldSize = "world_size"
    }
}
