import ArgumentParser
import Checkpoint
import Foundation

/// `ispo-cluster inspect <path>`: prints a checkpoint's manifest and every
/// tensor of every shard, verifying each checksum; exits non-zero on any failure.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print and verify a checkpoint (global_step_<N> directory, checkpoints directory, or one shard file).")

    @Argument(help: "A checkpoint directory, a run's checkpoints directory (the latest is inspected), or a .shard file.")
    var path: String

    @Flag(help: "Print the stored config in full.") var config = false

    func run() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ValidationError("\(path): no such file or directory")
        }
        let ok: Bool
        if !isDir.boolValue {
            ok = inspectShard(path: path, expected: nil)
        } else if let target = try checkpointDirectory() {
            ok = try inspectCheckpoint(target)
        } else {
            ok = false
        }
        print(ok ? "OK: every checksum verified" : "FAILED: see the errors above")
        if !ok { throw ExitCode.failure }
    }

    /// The directory to inspect: `path` itself (even a damaged or staging one,
    /// to report on it), or the checkpoint `CheckpointResolver` picks under it.
    func checkpointDirectory() throws -> String? {
        if CheckpointResolver.isCheckpointDirectory(path)
            || (path as NSString).lastPathComponent.hasPrefix(CheckpointStore.stagingPrefix) {
            return path
        }
        guard let root = CheckpointResolver.checkpointsDirectory(path) else {
            print("error: \(path) is not a checkpoint, a checkpoints directory or a run directory with checkpoints/")
            return nil
        }
        let scan = try CheckpointStore(directory: root).scan()
        print("checkpoints in \(root): \(scan.complete.map { "global_step_\($0.step)" }.joined(separator: ", "))")
        for i in scan.ignored { print("  ignored \(i.name): \(i.reason)") }
        do {
            guard let latest = try CheckpointResolver.resolve(path) else { return nil }
            print("inspecting the latest: \(latest)\n")
            return latest
        } catch {
            print("error: \(error)")
            return nil
        }
    }

    func inspectCheckpoint(_ dir: String) throws -> Bool {
        let reader: CheckpointReader
        do { reader = try CheckpointReader(directory: dir) } catch {
            print("error: \(error)")
            return false
        }
        let m = reader.manifest
        print("checkpoint \(dir)")
        print("  format \(m.format) v\(m.formatVersion), step \(m.step), world size \(m.worldSize), created \(m.created)")
        for (k, v) in m.layout.sorted(by: { $0.key < $1.key }) { print("  layout \(k): \(v)") }
        for (k, v) in m.metrics.sorted(by: { $0.key < $1.key }) { print("  metric \(k): \(v)") }
        let lines = m.config.split(separator: "\n", omittingEmptySubsequences: false)
        if config {
            print("  config:")
            for l in lines { print("    \(l)") }
        } else {
            print("  config: \(m.config.utf8.count) bytes, \(lines.count) lines (--config prints it)")
        }
        var ok = true, total = 0
        for s in m.shards {
            total += s.bytes
            ok = inspectShard(path: (dir as NSString).appendingPathComponent(s.file), expected: s, reader: reader) && ok
        }
        print("\(m.shards.count) shard files, \(total) bytes")
        return ok
    }

    /// Prints one shard's tensors, verifying each; false on any failure.
    func inspectShard(path: String, expected: ShardSummary?, reader: CheckpointReader? = nil) -> Bool {
        let shard: ShardReader
        do {
            shard = try expected.flatMap { s in try reader?.open(s) } ?? ShardReader(path: path)
        } catch {
            print("\n\(path)\n  error: \(error)")
            return false
        }
        let who = expected.map { " (group \($0.group), rank \($0.rank))" } ?? ""
        print("\n\(path)\(who): \(shard.fileSize) bytes, \(shard.records.count) tensors, table CRC-32C \(CRC32C.hex(shard.tableCRC32C))")
        let header = ["name", "dtype", "count", "stored", "compressed", "ratio", "shuffled", "crc32c", "check"]
        var rows: [[String]] = []
        var ok = true
        for r in shard.records {
            var check = "ok"
            do { _ = try shard.storedBytes(r) } catch {
                check = "FAILED"
                ok = false
                print("  error: \(error)")
            }
            let shape = r.shape.isEmpty ? "" : " \(r.shape)"
            rows.append([r.name, r.dtype.rawValue + shape, "\(r.count)", "\(r.storedLength)", "\(r.compressedLength)",
                         String(format: "%.3f", r.compressionRatio), r.shuffled ? "yes" : "no", CRC32C.hex(r.crc32c), check])
        }
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
        for row in [header] + rows {
            print("  " + row.enumerated().map { c, v in c == 0 || c == 1 ? v.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[c] - v.count) + v }.joined(separator: "  "))
        }
        return ok
    }
}
