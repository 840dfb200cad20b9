@testable import Checkpoint
import Foundation
import TestSupport
import XCTest

/// The store-level half of "a resume never silently starts over": every
/// damaged `global_step_<N>` is reported with its reason, a DONE or manifest
/// that names another step is rejected, and damaged directories can be set aside.
final class ResumeSafetyTests: XCTestCase {
    func save(_ store: CheckpointStore, step: Int) throws {
        try store.save(step: step, worldSize: 1, config: "x: 1\n",
                       shards: [ShardContent(group: "model", rank: 0, tensors: [TensorContent("p", floats: [1, 2, 3])])])
    }

    /// DONE with the manifest's true CRC but another step, as a copied or hand-edited DONE would be.
    func testADoneNamingAnotherStepIsRejected() throws {
        let store = CheckpointStore(directory: try temporaryDirectory(self))
        try save(store, step: 3)
        let dir = store.path(step: 3)
        let json = try Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))
        let crc = CRC32C.hex(CRC32C.checksum(Array(json)))
        try Data("step 7\nmanifest_crc32c \(crc)\n".utf8).write(to: URL(fileURLWithPath: dir + "/DONE"))
        assertCheckpointError(try CheckpointReader(directory: dir), kind: .malformed,
                              mentions: ["DONE", "`step 3`", "`step 7`"])
        let scan = try store.scan()
        XCTAssertTrue(scan.complete.isEmpty)
        XCTAssertEqual(scan.damaged.map(\.step), [3])
        XCTAssertTrue(scan.damaged[0].reason.contains("step 7"), scan.damaged[0].reason)
        // A DONE without a step line is rejected too.
        try Data("manifest_crc32c \(crc)\n".utf8).write(to: URL(fileURLWithPath: dir + "/DONE"))
        assertCheckpointError(try CheckpointReader(directory: dir), kind: .malformed, mentions: ["no `step <N>` line"])
        // The right fields without the final newline, or with an extra line: not what a commit writes.
        for text in ["step 3\nmanifest_crc32c \(crc)", "step 3\nmanifest_crc32c \(crc)\nnote x\n"] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/DONE"))
            assertCheckpointError(try CheckpointReader(directory: dir), kind: .malformed, mentions: ["DONE", "exactly"])
        }
        try Data("step 3\nmanifest_crc32c \(crc)\n".utf8).write(to: URL(fileURLWithPath: dir + "/DONE"))
        XCTAssertEqual(try CheckpointReader(directory: dir).manifest.step, 3)
    }

    /// A whole valid step-3 checkpoint renamed global_step_5: its files agree, its name does not.
    func testADirectoryNamedForAnotherStepIsRejected() throws {
        let root = try temporaryDirectory(self)
        let store = CheckpointStore(directory: root)
        try save(store, step: 3)
        try FileManager.default.moveItem(atPath: store.path(step: 3), toPath: store.path(step: 5))
        assertCheckpointError(try CheckpointReader(directory: store.path(step: 5)), kind: .malformed,
                              mentions: ["global_step_5", "step 5", "step 3"])
        XCTAssertNil(try store.latest())
        XCTAssertEqual(try store.scan().damaged.map(\.name), ["global_step_5"])
    }

    func testQuarantineSetsADamagedCheckpointAsideAndStepCanBeSavedAgain() throws {
        let root = try temporaryDirectory(self)
        let store = CheckpointStore(directory: root)
        try save(store, step: 1)
        try save(store, step: 2)
        // One byte of the newest manifest changed: it no longer matches DONE.
        let manifest = store.path(step: 2) + "/manifest.json"
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: manifest)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: manifest))
        let scan = try store.scan()
        XCTAssertEqual(scan.complete.map(\.step), [1])
        XCTAssertEqual(scan.damaged.map(\.step), [2])
        XCTAssertTrue(scan.damaged[0].reason.contains("CRC-32C"), scan.damaged[0].reason)

        let moved = try store.quarantine(step: 2, now: Date(timeIntervalSince1970: 0))
        XCTAssertEqual((moved as NSString).lastPathComponent, "corrupt_global_step_2_19700101T000000Z")
        XCTAssertTrue(FileManager.default.fileExists(atPath: moved + "/manifest.json"), "the files stay for inspection")
        // A second quarantine of the same step in the same second does not overwrite the first.
        try save(store, step: 2)
        let again = try store.quarantine(step: 2, now: Date(timeIntervalSince1970: 0))
        XCTAssertEqual((again as NSString).lastPathComponent, "corrupt_global_step_2_19700101T000000Z_2")
        let after = try store.scan()
        XCTAssertEqual(after.complete.map(\.step), [1])
        XCTAssertTrue(after.damaged.isEmpty, "quarantined directories are not damaged checkpoints: \(after.damaged)")
        XCTAssertEqual(after.ignored.filter { $0.reason.contains("set aside") }.count, 2)
        try save(store, step: 2)
        XCTAssertEqual(try store.list().map(\.step), [1, 2])
    }

    /// A run directory under a regular file: errno's reason, not "Input/output error".
    func testCreatingADirectoryUnderAFileSaysNotADirectory() throws {
        let root = try temporaryDirectory(self)
        let file = root + "/plain"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        assertCheckpointError(try FileOps.makeDirectory(file + "/run/checkpoints"), kind: .writeFailed,
                              mentions: [file, "Not a directory"])
        do { try FileOps.makeDirectory(file + "/run") } catch {
            XCTAssertFalse("\(error)".contains("Input/output"), "\(error)")
        }
        try FileOps.makeDirectory(root + "/a/b/c")
        XCTAssertTrue(FileOps.isDirectory(root + "/a/b/c"))
        try FileOps.makeDirectory(root + "/a/b/c")  // existing: no error
    }
}
