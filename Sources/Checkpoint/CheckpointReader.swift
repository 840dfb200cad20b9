import Foundation

/// A complete checkpoint directory: `DONE` and `manifest.json` are read and
/// cross-checked when it is opened; shard files are opened on demand and
/// tied to the manifest by their size and record-table CRC.
public final class CheckpointReader {
    /// The directory.
    public let directory: String
    /// Its manifest.
    public let manifest: CheckpointManifest

    /// Opens `directory`; throws `.incomplete` without a valid `DONE` marker.
    public init(directory: String) throws {
        self.directory = directory
        let name = (directory as NSString).lastPathComponent
        guard FileOps.isDirectory(directory) else {
            throw CheckpointError(.unreadable, file: directory, expected: "a checkpoint directory", found: "no such directory",
                                  remedy: "Pass <run>/checkpoints/global_step_<N>.")
        }
        if name.hasPrefix(CheckpointStore.stagingPrefix) {
            throw CheckpointError(.incomplete, file: directory, expected: "a committed global_step_<N> directory",
                                  found: "a staging directory", remedy: "It was never completed: resume from an earlier checkpoint.")
        }
        let donePath = (directory as NSString).appendingPathComponent(CheckpointStore.doneName)
        let manifestPath = (directory as NSString).appendingPathComponent(CheckpointStore.manifestName)
        guard let done = FileManager.default.contents(atPath: donePath) else {
            throw CheckpointError(.incomplete, file: donePath, expected: "the DONE marker", found: "no such file",
                                  remedy: "The checkpoint was not completed: resume from an earlier checkpoint.")
        }
        guard let json = FileManager.default.contents(atPath: manifestPath) else {
            throw CheckpointError(.incomplete, file: manifestPath, expected: "the manifest", found: "no such file",
                                  remedy: CheckpointRemedy.corrupt)
        }
        let fields = String(decoding: done, as: UTF8.self).split(separator: "\n").map { $0.split(separator: " ") }
        let crcText = fields.first { $0.count == 2 && $0[0] == "manifest_crc32c" }.map { String($0[1]) }
        let actual = CRC32C.hex(CRC32C.checksum(json))
        guard crcText == actual else {
            throw CheckpointError(.checksumMismatch, file: manifestPath,
                                  expected: "CRC-32C \(crcText ?? "(none in DONE)") as recorded in DONE",
                                  found: actual, remedy: CheckpointRemedy.corrupt)
        }
        let decoded = try CheckpointManifest.decode(Array(json), file: manifestPath)
        // DONE, the manifest and the directory name must name one step: a DONE copied from
        // another checkpoint (or edited) with a matching manifest would otherwise be trusted.
        let doneStep = fields.first { $0.count == 2 && $0[0] == "step" }.flatMap { Int($0[1]) }
        guard doneStep == decoded.step else {
            throw CheckpointError(.malformed, file: donePath,
                                  expected: "`step \(decoded.step)` (the step of manifest.json)",
                                  found: doneStep.map { "`step \($0)`" } ?? "no `step <N>` line",
                                  remedy: CheckpointRemedy.corrupt)
        }
        if name.hasPrefix("global_step_"), let dirStep = Int(name.dropFirst("global_step_".count)), dirStep != decoded.step {
            throw CheckpointError(.malformed, file: manifestPath,
                                  expected: "step \(dirStep) (the directory name \(name))",
                                  found: "step \(decoded.step) in manifest.json and DONE",
                                  remedy: CheckpointRemedy.corrupt)
        }
        // Anything else in DONE (a lost newline, an extra line) means it was not written by a commit.
        let exact = CheckpointStore.doneText(step: decoded.step, manifestCRC: actual)
        guard Array(done) == Array(exact.utf8) else {
            throw CheckpointError(.malformed, file: donePath, expected: "exactly \(exact.debugDescription)",
                                  found: String(decoding: done.prefix(200), as: UTF8.self).debugDescription,
                                  remedy: CheckpointRemedy.corrupt)
        }
        manifest = decoded
    }

    /// Opens one shard of the manifest, checking its size and table CRC.
    public func open(_ shard: ShardSummary) throws -> ShardReader {
        let p = (directory as NSString).appendingPathComponent(shard.file)
        let size = try FileOps.fileSize(p)
        guard size == shard.bytes else {
            throw CheckpointError(size < shard.bytes ? .truncated : .malformed, file: p,
                                  expected: "\(shard.bytes) bytes (manifest.json)", found: "\(size) bytes",
                                  remedy: CheckpointRemedy.corrupt)
        }
        let reader = try ShardReader(path: p)
        guard reader.tableCRC32C == shard.tableCRC32C else {
            throw CheckpointError(.checksumMismatch, file: p,
                                  expected: "record table CRC-32C \(CRC32C.hex(shard.tableCRC32C)) (manifest.json)",
                                  found: CRC32C.hex(reader.tableCRC32C), remedy: CheckpointRemedy.corrupt)
        }
        return reader
    }

    /// Opens the file of `group` written by `rank`.
    public func open(group: String, rank: Int) throws -> ShardReader {
        guard let s = manifest.shards.first(where: { $0.group == group && $0.rank == rank }) else {
            throw CheckpointError(.missing, file: directory, expected: "a '\(group)' shard of rank \(rank)",
                                  found: "ranks \(manifest.shards(group: group).map(\.rank)) of '\(group)'",
                                  remedy: "Check the group name, or reshard with resharded(tensor:group:rank:parts:).")
        }
        return try open(s)
    }

    /// Reads and checks every tensor of every shard; throws at the first failure.
    public func verifyAll() throws {
        for s in manifest.shards { try open(s).verify() }
    }

    /// Old shard counts of `tensor` across the ranks of `group`, in rank order.
    public func shardCounts(tensor: String, group: String) throws -> [Int] {
        let shards = manifest.shards(group: group)
        guard !shards.isEmpty else {
            throw CheckpointError(.missing, file: directory, expected: "shards of group '\(group)'",
                                  found: "groups \(Set(manifest.shards.map(\.group)).sorted())",
                                  remedy: "Check the group name.")
        }
        return try shards.map { s in
            guard let t = s.tensors.first(where: { $0.name == tensor }), t.dtype != .bytes else {
                throw CheckpointError(.missing, file: (directory as NSString).appendingPathComponent(s.file),
                                      expected: "a float tensor '\(tensor)'", found: "none in manifest.json",
                                      remedy: "Check the tensor name.")
            }
            return t.count
        }
    }

    /// The whole flat buffer of `tensor`: the shards of `group` concatenated in rank order.
    public func concatenated(tensor: String, group: String) throws -> [Float] {
        var out: [Float] = []
        for s in manifest.shards(group: group) { out += try open(s).floats(tensor) }
        return out
    }

    /// This rank's part of `tensor` when the buffer is split over `parts` ranks by
    /// `counts` (default: balanced, as ZeRO-1 splits it), whatever the number of
    /// ranks that wrote it. Reads only the old shards that overlap the new one.
    public func resharded(tensor: String, group: String, rank: Int, parts: Int,
                          counts: (Int, Int) -> [Int] = Resharding.balancedCounts) throws -> [Float] {
        let old = try shardCounts(tensor: tensor, group: group)
        let newCounts = Resharding.checkedCounts(counts, total: old.reduce(0, +), parts: parts)
        precondition(rank >= 0 && rank < parts, "resharded: rank \(rank) of \(parts)")
        let lo = newCounts[..<rank].reduce(0, +)
        let shards = manifest.shards(group: group)
        var out: [Float] = []
        out.reserveCapacity(newCounts[rank])
        for piece in Resharding.pieces(oldCounts: old, range: lo ..< lo + newCounts[rank]) {
            let values = try open(shards[piece.shard]).floats(tensor)
            out += values[piece.range]
        }
        return out
    }
}
