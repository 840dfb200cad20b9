import Foundation

/// A complete checkpoint found on disk.
public struct CheckpointInfo: Equatable, Sendable {
    /// Training step.
    public let step: Int
    /// Its directory, `<run>/checkpoints/global_step_<step>`.
    public let path: String
    /// Its manifest (checked against the DONE marker).
    public let manifest: CheckpointManifest
}

/// What a scan of the checkpoints directory found.
public struct CheckpointScan {
    /// Complete checkpoints, oldest first.
    public var complete: [CheckpointInfo]
    /// Everything else in the directory and why it is not a complete checkpoint.
    public var ignored: [(name: String, reason: String)]

    /// The ignored entries that claim to be checkpoints (`global_step_<N>`
    /// directories) but do not verify, with their step and why: the ones a
    /// resume must not pass over silently.
    public var damaged: [(step: Int, name: String, reason: String)] {
        ignored.compactMap { e in
            guard let step = CheckpointStore.step(ofDirectoryName: e.name) else { return nil }
            return (step, e.name, e.reason)
        }.sorted { $0.step < $1.step }
    }
}

/// The checkpoints directory of a run and its protocol (CONVENTIONS.md, "Checkpoints"):
///
/// 1. the leader calls `prepareStaging(step:)`, creating `tmp_global_step_<N>/`;
/// 2. every rank writes its shard files with `shardWriter(step:group:rank:)` and
///    sends the `ShardSummary` from `finish()` to the leader;
/// 3. the leader calls `commit(_:)`: `manifest.json`, then `DONE`, each written to a
///    temporary name, fsync'd and renamed; then the directory is renamed to
///    `global_step_<N>/` and `latest_checkpointed_iteration.txt` replaced atomically;
/// 4. on any failure the leader calls `abort(step:)` (commit does so itself).
///
/// Readers trust only directories named `global_step_<N>` holding a `DONE` whose
/// manifest checksum matches; `tmp_*` directories are never read.
public struct CheckpointStore: Sendable {
    /// The checkpoints directory, `<run>/checkpoints`.
    public let root: String
    /// Test hook: simulated free space shared by every write of this store.
    var budget: DiskBudget?

    /// Name of the file holding the latest committed step (verl's convention).
    public static let latestFileName = "latest_checkpointed_iteration.txt"
    /// Name of the manifest in a checkpoint directory.
    public static let manifestName = "manifest.json"
    /// Name of the completion marker, written last.
    public static let doneName = "DONE"
    /// Prefix of checkpoint directories being written or deleted.
    public static let stagingPrefix = "tmp_"

    /// The store at `directory` (normally `<run>/checkpoints`); nothing is created yet.
    public init(directory: String) { root = directory }

    /// The store of a run directory: `<run>/checkpoints`.
    public init(runDirectory: String) { root = (runDirectory as NSString).appendingPathComponent("checkpoints") }

    /// `global_step_<step>`.
    public static func directoryName(step: Int) -> String { "global_step_\(step)" }
    /// N of a `global_step_<N>` name; nil for any other name.
    public static func step(ofDirectoryName name: String) -> Int? {
        guard name.hasPrefix("global_step_"), let n = Int(name.dropFirst("global_step_".count)), n >= 0 else { return nil }
        return n
    }
    /// The whole text of a `DONE` marker: `step <N>\nmanifest_crc32c 0x<crc>\n`; readers accept nothing else.
    public static func doneText(step: Int, manifestCRC: String) -> String {
        "step \(step)\nmanifest_crc32c \(manifestCRC)\n"
    }
    /// Prefix of checkpoint directories set aside because they did not verify.
    public static let quarantinePrefix = "corrupt_"
    /// The final directory of `step`.
    public func path(step: Int) -> String { (root as NSString).appendingPathComponent(Self.directoryName(step: step)) }
    /// The staging directory of `step`.
    public func stagingPath(step: Int) -> String {
        (root as NSString).appendingPathComponent(Self.stagingPrefix + Self.directoryName(step: step))
    }
    /// Relative path of a shard file: `<group>/rank_<rank, 5 digits>.shard`.
    public static func shardFileName(group: String, rank: Int) -> String {
        let r = String(rank)
        return "\(group)/rank_\(String(repeating: "0", count: max(0, 5 - r.count)))\(r).shard"
    }

    /// Leader, before any rank writes: removes a leftover staging directory of
    /// `step` and creates an empty one. Returns its path.
    @discardableResult
    public func prepareStaging(step: Int) throws -> String {
        precondition(step >= 0, "CheckpointStore: negative step \(step)")
        let staging = stagingPath(step: step)
        try FileOps.removeTree(staging)
        try FileOps.makeDirectory(staging)
        return staging
    }

    /// A writer for this rank's file of `group` in the staging directory of `step`.
    public func shardWriter(step: Int, group: String, rank: Int,
                            options: ShardWriteOptions = ShardWriteOptions()) throws -> ShardWriter {
        precondition(!group.isEmpty && !group.contains("/") && group != "." && group != "..",
                     "CheckpointStore: group '\(group)' must be a plain directory name")
        precondition(rank >= 0, "CheckpointStore: negative rank \(rank)")
        let name = Self.shardFileName(group: group, rank: rank)
        let staging = stagingPath(step: step)
        guard FileOps.isDirectory(staging) else {
            throw CheckpointError(.missing, file: staging, expected: "the staging directory of step \(step)",
                                  found: "no such directory", remedy: "The leader must call prepareStaging(step:) first.")
        }
        try FileOps.makeDirectory((staging as NSString).appendingPathComponent(group))
        let w = try ShardWriter(path: (staging as NSString).appendingPathComponent(name), options: options, budget: budget)
        w.manifestName = name
        w.group = group
        w.rank = rank
        return w
    }

    /// Leader, after every rank's shard is written: checks the files the
    /// manifest lists, writes `manifest.json` and `DONE`, renames the staging
    /// directory into place and updates the latest-step file. Any failure
    /// before the rename removes the staging directory.
    @discardableResult
    public func commit(_ manifest: CheckpointManifest) throws -> CheckpointInfo {
        let staging = stagingPath(step: manifest.step), final = path(step: manifest.step)
        do {
            guard FileOps.isDirectory(staging) else {
                throw CheckpointError(.missing, file: staging, expected: "the staging directory of step \(manifest.step)",
                                      found: "no such directory", remedy: "Call prepareStaging(step:) before writing shards.")
            }
            guard !FileManager.default.fileExists(atPath: final) else {
                throw CheckpointError(.conflict, file: final, expected: "no checkpoint of step \(manifest.step) yet",
                                      found: "an existing directory",
                                      remedy: "Resume from it, or move it away before saving this step again.")
            }
            for s in manifest.shards {
                let p = (staging as NSString).appendingPathComponent(s.file)
                let size = try FileOps.fileSize(p)
                guard size == s.bytes else {
                    throw CheckpointError(.checksumMismatch, file: p, expected: "\(s.bytes) bytes (from the rank's summary)",
                                          found: "\(size) bytes", remedy: "A rank's shard was overwritten; save again.")
                }
            }
            let json = try manifest.encoded()
            try FileOps.writeAtomically(json, to: (staging as NSString).appendingPathComponent(Self.manifestName), budget: budget)
            let done = Self.doneText(step: manifest.step, manifestCRC: CRC32C.hex(CRC32C.checksum(json)))
            try FileOps.writeAtomically(Array(done.utf8), to: (staging as NSString).appendingPathComponent(Self.doneName),
                                        budget: budget)
            try FileOps.rename(staging, to: final)
        } catch {
            try? FileOps.removeTree(staging)
            throw error
        }
        try FileOps.syncDirectory(root)
        try FileOps.writeAtomically(Array("\(manifest.step)\n".utf8),
                                    to: (root as NSString).appendingPathComponent(Self.latestFileName), budget: budget)
        return CheckpointInfo(step: manifest.step, path: final, manifest: manifest)
    }

    /// Removes the staging directory of `step` (after a failure on any rank).
    public func abort(step: Int) throws { try FileOps.removeTree(stagingPath(step: step)) }

    /// Saves a whole checkpoint from one process: staging, every shard, commit.
    /// On any failure (a full disk included) the staging directory is removed
    /// and earlier checkpoints are untouched; the error is rethrown.
    @discardableResult
    public func save(step: Int, worldSize: Int, layout: [String: String] = [:], config: String = "",
                     metrics: [String: Double] = [:], shards: [ShardContent],
                     options: ShardWriteOptions = ShardWriteOptions()) throws -> CheckpointInfo {
        try FileOps.makeDirectory(root)
        try prepareStaging(step: step)
        var summaries: [ShardSummary] = []
        do {
            for s in shards {
                let w = try shardWriter(step: step, group: s.group, rank: s.rank, options: options)
                for t in s.tensors {
                    switch t.payload {
                    case let .floats(values, dtype, shape): try w.add(t.name, floats: values, dtype: dtype, shape: shape)
                    case let .bytes(b): try w.add(t.name, bytes: b)
                    }
                }
                summaries.append(try w.finish())
            }
        } catch {
            try? abort(step: step)
            throw error
        }
        return try commit(CheckpointManifest(step: step, worldSize: worldSize, layout: layout, config: config,
                                             metrics: metrics, shards: summaries))
    }

    /// Complete checkpoints and everything ignored, with reasons.
    public func scan() throws -> CheckpointScan {
        var scan = CheckpointScan(complete: [], ignored: [])
        guard FileOps.isDirectory(root) else { return scan }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: root).sorted() } catch {
            throw CheckpointError(.unreadable, file: root, expected: "a readable checkpoints directory",
                                  found: error.localizedDescription, remedy: "Check the permissions of the run directory.")
        }
        for name in names where name != Self.latestFileName && !name.hasPrefix(Self.latestFileName + ".tmp-") {
            let p = (root as NSString).appendingPathComponent(name)
            if name.hasPrefix(Self.stagingPrefix) {
                scan.ignored.append((name, "staging or deletion in progress (never read)"))
                continue
            }
            if name.hasPrefix(Self.quarantinePrefix) {
                scan.ignored.append((name, "set aside as damaged (never read)"))
                continue
            }
            guard let step = Self.step(ofDirectoryName: name), FileOps.isDirectory(p) else {
                scan.ignored.append((name, "not a global_step_<N> directory"))
                continue
            }
            do {
                let reader = try CheckpointReader(directory: p)
                guard reader.manifest.step == step else {
                    scan.ignored.append((name, "its manifest says step \(reader.manifest.step)"))
                    continue
                }
                scan.complete.append(CheckpointInfo(step: step, path: p, manifest: reader.manifest))
            } catch {
                scan.ignored.append((name, "\(error)"))
            }
        }
        scan.complete.sort { $0.step < $1.step }
        return scan
    }

    /// Complete checkpoints, oldest first.
    public func list() throws -> [CheckpointInfo] { try scan().complete }

    /// The complete checkpoint with the highest step, or nil. The directory
    /// scan decides, not `latest_checkpointed_iteration.txt`, which a crash
    /// between the rename and its update may leave one checkpoint behind.
    public func latest() throws -> CheckpointInfo? { try list().last }

    /// Sets a damaged checkpoint directory aside: renames `global_step_<N>` to
    /// `corrupt_global_step_<N>_<UTC timestamp>` in the same directory, so that
    /// saving step N again cannot collide with it and nothing reads it; its
    /// files stay for inspection. Returns the new path.
    @discardableResult
    public func quarantine(step: Int, now: Date = Date()) throws -> String {
        let from = path(step: step)
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        var to = (root as NSString).appendingPathComponent(
            "\(Self.quarantinePrefix)\(Self.directoryName(step: step))_\(f.string(from: now))")
        var n = 1
        while FileManager.default.fileExists(atPath: to) {
            n += 1
            to = (root as NSString).appendingPathComponent(
                "\(Self.quarantinePrefix)\(Self.directoryName(step: step))_\(f.string(from: now))_\(n)")
        }
        try FileOps.rename(from, to: to)
        try FileOps.syncDirectory(root)
        return to
    }

    /// Leader, at start-up only: removes every `tmp_*` directory left by a crash.
    @discardableResult
    public func removeStaleStaging() throws -> [String] {
        guard FileOps.isDirectory(root) else { return [] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        var removed: [String] = []
        for name in names.sorted() where name.hasPrefix(Self.stagingPrefix) {
            try FileOps.removeTree((root as NSString).appendingPathComponent(name))
            removed.append(name)
        }
        return removed
    }
}

/// What `CheckpointStore.save` writes for one rank's file.
public struct ShardContent: Sendable {
    /// `model`, `optim`, `state`, …
    public var group: String
    /// The rank that owns the file.
    public var rank: Int
    /// Tensors in file order.
    public var tensors: [TensorContent]

    /// One shard's contents.
    public init(group: String, rank: Int, tensors: [TensorContent]) {
        self.group = group; self.rank = rank; self.tensors = tensors
    }
}

/// One named tensor to save.
public struct TensorContent: Sendable {
    /// Floats stored as `.fp32` or `.bf16` with a shape (empty: flat), or raw bytes.
    public enum Payload: Sendable {
        /// Floats, their storage type and shape.
        case floats([Float], StoredDType, [Int])
        /// Raw bytes.
        case bytes([UInt8])
    }
    /// Name within the shard.
    public var name: String
    /// The data.
    public var payload: Payload

    /// Floats stored as `dtype`.
    public init(_ name: String, floats: [Float], dtype: StoredDType = .fp32, shape: [Int] = []) {
        self.name = name; payload = .floats(floats, dtype, shape)
    }
    /// Raw bytes.
    public init(_ name: String, bytes: [UInt8]) { self.name = name; payload = .bytes(bytes) }
}
