@testable import Checkpoint
import Comm
import Foundation
import TestSupport
import XCTest

/// The directory protocol: staging, commit, listing, retention, a full disk, resharding.
final class StoreTests: XCTestCase {
    /// One rank's model, optimizer and state files.
    func shards(rank: Int, params: [Float], step: Int) -> [ShardContent] {
        [ShardContent(group: "model", rank: rank, tensors: [TensorContent("params", floats: params, dtype: .bf16)]),
         ShardContent(group: "optim", rank: rank, tensors: [TensorContent("m", floats: params.map { $0 * 0.1 }),
                                                           TensorContent("v", floats: params.map { $0 * $0 })]),
         ShardContent(group: "state", rank: rank, tensors: [TensorContent("rng", bytes: [UInt8(rank), UInt8(step), 1, 2]),
                                                           TensorContent("cursor", bytes: Array("\(step * 8)".utf8))])]
    }

    func save(_ store: CheckpointStore, step: Int, metric: Double? = nil, ranks: Int = 2) throws -> CheckpointInfo {
        var g = SplitMix64(seed: UInt64(step))
        let all = (0 ..< ranks).flatMap { shards(rank: $0, params: g.weights(500 + $0), step: step) }
        return try store.save(step: step, worldSize: ranks, layout: ["sharding": "zero1-balanced"], config: "seed: 1\n",
                              metrics: metric.map { ["val/acc": $0] } ?? [:], shards: all)
    }

    func testSaveListLoadAndLatestPointer() throws {
        let run = try temporaryDirectory(self)
        let store = CheckpointStore(runDirectory: run)
        XCTAssertNil(try store.latest())
        for step in [2, 4, 10] { try save(store, step: step) }
        XCTAssertEqual(try store.list().map(\.step), [2, 4, 10])
        let latest = try XCTUnwrap(store.latest())
        XCTAssertEqual(latest.path, run + "/checkpoints/global_step_10")
        XCTAssertEqual(try String(contentsOfFile: run + "/checkpoints/latest_checkpointed_iteration.txt", encoding: .utf8), "10\n")
        for f in ["manifest.json", "DONE", "model/rank_00000.shard", "optim/rank_00001.shard", "state/rank_00001.shard"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: latest.path + "/" + f), f)
        }
        let reader = try CheckpointReader(directory: latest.path)
        XCTAssertEqual(reader.manifest.worldSize, 2)
        XCTAssertEqual(reader.manifest.config, "seed: 1\n")
        XCTAssertEqual(reader.manifest.layout["sharding"], "zero1-balanced")
        XCTAssertEqual(reader.manifest.shards.count, 6)
        try reader.verifyAll()
        var g = SplitMix64(seed: 10)
        let p0 = g.weights(500)
        XCTAssertEqual(try reader.open(group: "optim", rank: 0).floats("m"), p0.map { $0 * 0.1 })
        XCTAssertEqual(try reader.open(group: "state", rank: 1).bytes("rng"), [1, 10, 1, 2])
        let json = try String(contentsOfFile: latest.path + "/manifest.json", encoding: .utf8)
        for key in ["\"format_version\" : 1", "\"world_size\" : 2", "\"table_crc32c\"", "\"crc32c\"", "\"dtype\" : \"bf16\""] {
            XCTAssertTrue(json.contains(key), key)
        }
        assertCheckpointError(try save(store, step: 10), kind: .conflict, mentions: ["global_step_10"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/checkpoints/tmp_global_step_10"))
        try CheckpointReader(directory: latest.path).verifyAll()
    }

    func testIncompleteDirectoriesAreIgnored() throws {
        let run = try temporaryDirectory(self)
        let store = CheckpointStore(runDirectory: run)
        try save(store, step: 1)
        // A crashed save: shards written, no commit.
        try store.prepareStaging(step: 9)
        let w = try store.shardWriter(step: 9, group: "model", rank: 0)
        try w.add("params", floats: [1, 2, 3])
        try w.finish()
        // A directory with the right name but no DONE, and one whose manifest does not match DONE.
        let saved2 = try save(store, step: 2), saved3 = try save(store, step: 3)
        try FileManager.default.removeItem(atPath: saved2.path + "/DONE")
        try Data("{\"format\": 1}".utf8).write(to: URL(fileURLWithPath: saved3.path + "/manifest.json"))
        let scan = try store.scan()
        XCTAssertEqual(scan.complete.map(\.step), [1])
        XCTAssertEqual(Set(scan.ignored.map(\.name)), ["tmp_global_step_9", "global_step_2", "global_step_3"])
        XCTAssertEqual(try store.latest()?.step, 1)
        assertCheckpointError(try CheckpointReader(directory: store.stagingPath(step: 9)), kind: .incomplete,
                              mentions: ["tmp_global_step_9", "staging"])
        assertCheckpointError(try CheckpointReader(directory: saved2.path), kind: .incomplete, mentions: ["global_step_2/DONE"])
        assertCheckpointError(try CheckpointReader(directory: saved3.path), kind: .checksumMismatch,
                              mentions: ["global_step_3/manifest.json"])
        XCTAssertEqual(try store.removeStaleStaging(), ["tmp_global_step_9"])
    }

    func testDamagedShardInCommittedCheckpointNamesTheFile() throws {
        let store = CheckpointStore(runDirectory: try temporaryDirectory(self))
        let info = try save(store, step: 5)
        let victim = info.path + "/optim/rank_00001.shard"
        var b = try Array(Data(contentsOf: URL(fileURLWithPath: victim)))
        b[60] ^= 4
        try Data(b).write(to: URL(fileURLWithPath: victim))
        assertCheckpointError(try CheckpointReader(directory: info.path).verifyAll(), kind: .checksumMismatch,
                              mentions: [victim, "'m'"])
        try Data(b.dropLast(3)).write(to: URL(fileURLWithPath: victim))
        assertCheckpointError(try CheckpointReader(directory: info.path).open(group: "optim", rank: 1), kind: .truncated,
                              mentions: [victim, "manifest.json"])
    }

    func testRetentionPolicyIsPure() {
        let c: [(step: Int, metric: Double?)] = [(1, 0.5), (2, 0.9), (3, nil), (4, 0.7), (5, .nan), (6, 0.9), (7, 0.1)]
        XCTAssertEqual(RetentionPolicy(keepLast: 2).stepsToKeep(c), [6, 7])
        XCTAssertEqual(RetentionPolicy(keepLast: 2, keepBest: 1, metric: "acc").stepsToKeep(c), [6, 7])  // tie 0.9: newer
        XCTAssertEqual(RetentionPolicy(keepLast: 1, keepBest: 2, metric: "acc").stepsToKeep(c), [2, 6, 7])
        XCTAssertEqual(RetentionPolicy(keepLast: 1, keepBest: 2, metric: "loss", higherIsBetter: false).stepsToKeep(c), [1, 7])
        XCTAssertEqual(RetentionPolicy(keepLast: 0, keepBest: 1).stepsToKeep(c), Set(1 ... 7))  // 0 = keep all
        XCTAssertEqual(RetentionPolicy(keepLast: 10).stepsToKeep(c), Set(1 ... 7))
        XCTAssertEqual(RetentionPolicy(keepLast: 1).stepsToKeep([]), [])
    }

    func testRetainDeletesOthersAndKeepsTheLatest() throws {
        let run = try temporaryDirectory(self)
        let store = CheckpointStore(runDirectory: run)
        for (step, acc) in [(1, 0.2), (2, 0.8), (3, 0.5), (4, 0.3), (5, 0.4)] { try save(store, step: step, metric: acc, ranks: 1) }
        try store.prepareStaging(step: 6)  // a save in progress is not touched
        let deleted = try store.retain(RetentionPolicy(keepLast: 2, keepBest: 1, metric: "val/acc"))
        XCTAssertEqual(deleted, [1, 3])
        XCTAssertEqual(try store.list().map(\.step), [2, 4, 5])
        XCTAssertTrue(FileManager.default.fileExists(atPath: store.stagingPath(step: 6)))
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: store.root).contains { $0.contains("deleting") })
        for c in try store.list() { try CheckpointReader(directory: c.path).verifyAll() }
        XCTAssertEqual(try store.retain(RetentionPolicy(keepLast: 1)), [2, 4])
        XCTAssertEqual(try store.latest()?.step, 5)
    }

    /// A disk that fills at every possible point of a save: the error says the
    /// disk is full, the staging directory is gone, and step 1 still loads.
    func testFullDiskKeepsThePreviousCheckpoint() throws {
        let run = try temporaryDirectory(self)
        var store = CheckpointStore(runDirectory: run)
        try save(store, step: 1)
        let total = try save(CheckpointStore(runDirectory: try temporaryDirectory(self)), step: 2).manifest.shards
            .reduce(0) { $0 + $1.bytes }
        var failures = 0
        for budget in stride(from: 0, to: total + 2_000, by: 97) {
            store.budget = DiskBudget(bytes: budget)
            do {
                try save(store, step: 2)
                try store.retain(RetentionPolicy(keepLast: 1))  // back to step 1 only, for the next budget
                try FileManager.default.removeItem(atPath: store.path(step: 2))
            } catch let e as CheckpointError {
                failures += 1
                XCTAssertEqual(e.kind, .diskFull, "\(e)")
                XCTAssertTrue(e.description.contains("No space left on device"), "\(e)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: store.stagingPath(step: 2)), "budget \(budget)")
                if FileManager.default.fileExists(atPath: store.path(step: 2)) {
                    // Only the pointer file failed: the checkpoint itself is complete.
                    store.budget = nil
                    try CheckpointReader(directory: store.path(step: 2)).verifyAll()
                    try FileManager.default.removeItem(atPath: store.path(step: 2))
                }
            }
            store.budget = nil
            XCTAssertEqual(try store.list().map(\.step), [1], "budget \(budget)")
            try CheckpointReader(directory: store.path(step: 1)).verifyAll()
            XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: store.root).contains { $0.hasPrefix("tmp_") })
        }
        XCTAssertGreaterThan(failures, 10)
        XCTAssertEqual(try String(contentsOfFile: store.root + "/latest_checkpointed_iteration.txt", encoding: .utf8), "1\n")
    }

    func testReshardPureFunction() {
        let whole = (0 ..< 11).map(Float.init)
        func split(_ parts: Int) -> [[Float]] {
            var out: [[Float]] = [], lo = 0
            for c in Resharding.balancedCounts(total: 11, parts: parts) { out.append(Array(whole[lo ..< lo + c])); lo += c }
            return out
        }
        XCTAssertEqual(Resharding.reshard(split(2), parts: 1), [whole])
        XCTAssertEqual(Resharding.reshard(split(1), parts: 2), split(2))
        XCTAssertEqual(Resharding.reshard(split(3), parts: 2), split(2))
        XCTAssertEqual(Resharding.reshard(split(2), parts: 3), split(3))
        XCTAssertEqual(Resharding.reshard(split(3), parts: 12).map(\.count), Array(repeating: 1, count: 11) + [0])
        let custom = Resharding.reshard(split(3), parts: 2) { total, _ in [2, total - 2] }
        XCTAssertEqual(custom, [[0, 1], Array(whole[2...])])
        for (t, p) in [(0, 1), (10, 3), (11, 4), (1 << 20, 7), (5, 8)] {
            XCTAssertEqual(Resharding.balancedCounts(total: t, parts: p), shardCounts(total: t, parts: p), "\(t)/\(p)")
        }
        XCTAssertEqual(Resharding.pieces(oldCounts: [4, 4, 3], range: 3 ..< 9).map { [$0.shard, $0.range.lowerBound, $0.range.upperBound] },
                       [[0, 3, 4], [1, 0, 4], [2, 0, 1]])
    }

    func testReshardFromCheckpoint() throws {
        let store = CheckpointStore(runDirectory: try temporaryDirectory(self))
        var g = SplitMix64(seed: 9)
        let whole = g.weights(1001)
        for writers in [1, 2, 3] {
            var lo = 0, contents: [ShardContent] = []
            for (r, c) in Resharding.balancedCounts(total: whole.count, parts: writers).enumerated() {
                contents.append(ShardContent(group: "optim", rank: r, tensors: [TensorContent("m", floats: Array(whole[lo ..< lo + c]))]))
                lo += c
            }
            let info = try store.save(step: writers, worldSize: writers, shards: contents)
            let reader = try CheckpointReader(directory: info.path)
            XCTAssertEqual(try reader.concatenated(tensor: "m", group: "optim"), whole)
            for readers in [1, 2, 3] {
                let got = try (0 ..< readers).map { try reader.resharded(tensor: "m", group: "optim", rank: $0, parts: readers) }
                XCTAssertEqual(got, Resharding.reshard([whole], parts: readers), "\(writers) → \(readers)")
            }
        }
    }
}
