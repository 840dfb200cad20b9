import Checkpoint
import Configs
import Foundation
@testable import Roles
import Tasks
import Transformer
import XCTest

/// Every reader that takes a checkpoint path — the resolver itself, the model
/// loader behind `model.path`, distill and MoT teachers, and the resume —
/// picks the same verified checkpoint of a run directory, whatever its
/// pointer file says.
final class CheckpointResolutionTests: XCTestCase {
    static let config = ModelConfig(vocabSize: syntheticAlphabet.count + 2, dim: 16, layers: 1, heads: 2, kvHeads: 1,
                                    ffnDim: 24, maxSeqLen: 40)

    /// A run directory with valid checkpoints of steps 1 and 2 (distinct weights),
    /// a damaged step 3 and `pointer` in latest_checkpointed_iteration.txt.
    func makeRun(pointer: String) throws -> (run: String, weights: [Int: [Float]]) {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-resolve-\(getpid())-\(UUID())").path
        let store = CheckpointStore(runDirectory: run)
        var weights: [Int: [Float]] = [:]
        let json = String(decoding: try JSONEncoder().encode(Self.config), as: UTF8.self)
        for step in 1...3 {
            let model = try ModelSource.randomTiny(config: Self.config, seed: UInt64(step))
            weights[step] = model.parameters.toArray()
            let shards = [ShardContent(group: "model", rank: 0, tensors: [TensorContent("parameters", floats: weights[step]!)])]
            _ = try store.save(step: step, worldSize: 1, layout: ["model_config": json], shards: shards)
        }
        // Step 3 is damaged: one byte of its manifest changes, so DONE no longer matches.
        let manifest = store.path(step: 3) + "/" + CheckpointStore.manifestName
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: manifest)))
        bytes[bytes.count / 2] ^= 0x20
        try Data(bytes).write(to: URL(fileURLWithPath: manifest))
        try pointer.write(toFile: store.root + "/" + CheckpointStore.latestFileName, atomically: true, encoding: .utf8)
        return (run, weights)
    }

    func testEveryReaderPicksTheNewestCheckpointThatVerifies() throws {
        for pointer in ["1\n", "3\n", "not a number"] {
            let (run, weights) = try makeRun(pointer: pointer)
            defer { try? FileManager.default.removeItem(atPath: run) }
            let expected = CheckpointStore(runDirectory: run).path(step: 2)
            for path in [run, run + "/checkpoints"] {
                XCTAssertEqual(try CheckpointResolver.resolve(path), expected, "resolver, \(path), pointer \(pointer)")
                // model.path, MoT teachers (ModelSource), distill teachers (TeacherSpecs), a tiny student.
                XCTAssertEqual(try ModelSource.load(path, maxSeqLen: 40).parameters.toArray(), weights[2])
                let student = try ModelSource.randomTiny(config: Self.config, seed: 9)
                XCTAssertEqual(try TeacherSpecs.load(path, student: student, maxSeqLen: 40).parameters.toArray(), weights[2])
                XCTAssertEqual(try StudentModel.checkpointStudent(path: path, keepLayers: 0, vocabSize: Self.config.vocabSize,
                                                                  need: 40).parameters.toArray(), weights[2])
            }
            // A checkpoint directory names itself, once it verifies; the damaged one is refused.
            XCTAssertEqual(try CheckpointResolver.resolve(CheckpointStore(runDirectory: run).path(step: 1)),
                           CheckpointStore(runDirectory: run).path(step: 1))
            XCTAssertThrowsError(try CheckpointResolver.resolve(CheckpointStore(runDirectory: run).path(step: 3)))
        }
    }

    func testAPathWithNoVerifiedCheckpointIsAnErrorThatListsWhy() throws {
        let (run, _) = try makeRun(pointer: "2")
        defer { try? FileManager.default.removeItem(atPath: run) }
        let store = CheckpointStore(runDirectory: run)
        for step in [1, 2] { try FileManager.default.removeItem(atPath: store.path(step: step) + "/" + CheckpointStore.doneName) }
        XCTAssertThrowsError(try CheckpointResolver.resolve(run)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("global_step_1") && text.contains("global_step_3"), text)
        }
        // Not a checkpoint location at all: a model file or folder is for the model loaders.
        XCTAssertNil(try CheckpointResolver.resolve(FileManager.default.temporaryDirectory.path + "/no-such-\(UUID())"))
    }
}
