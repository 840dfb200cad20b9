import Checkpoint
import Configs
import Foundation
import Merging
import ModelIO
@testable import Roles
import Tensors
import TestSupport
import Transformer
import XCTest

/// `ispo-cluster merge` end to end on tiny models written by the test.
final class ModelMergeTests: XCTestCase {
    let tiny = Transformer.ModelConfig(vocabSize: 16, dim: 8, layers: 2, heads: 2, kvHeads: 1, ffnDim: 12, maxSeqLen: 32)

    /// Random parameters for `config` under HF names.
    func tensors(_ config: Transformer.ModelConfig, seed: UInt64) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, e) in ParameterLayout(config: config).entries.enumerated() {
            out[e.name] = Tensor(shape: e.shape, data: randomValues(e.count, seed: seed &* 1000 &+ UInt64(i)))
        }
        return out
    }

    func writeModel(_ dir: String, _ config: Transformer.ModelConfig, seed: UInt64) throws -> [String: Tensor] {
        let t = tensors(config, seed: seed)
        try exportHuggingFace(config: config, tensors: t, to: dir)
        try Data("{\"model\": {\"type\": \"BPE\"}}".utf8).write(to: URL(fileURLWithPath: dir + "/tokenizer.json"))
        return t
    }

    func testTiesMergeOfTwoSafetensorsModelsMatchesTheOfflineMerge() throws {
        let root = try temporaryDirectory(self)
        let base = try writeModel(root + "/base", tiny, seed: 1)
        let a = try writeModel(root + "/a", tiny, seed: 2)
        let b = try writeModel(root + "/b", tiny, seed: 3)
        let yaml = """
            models:
              - model: base
              - model: a
                parameters: {weight: 0.6, density: 0.5}
              - model: b
                parameters: {weight: 0.4, density: 0.7}
            merge_method: ties
            base_model: base
            parameters: {normalize: true, int8_mask: true}
            dtype: float32
            """
        try yaml.write(toFile: root + "/ties.yaml", atomically: true, encoding: .utf8)
        var lines: [String] = []
        // Model paths are relative to the YAML's folder here (the current directory is elsewhere).
        let summary = try ModelMerge.run(recipePath: root + "/ties.yaml", output: root + "/out") { lines.append($0) }
        XCTAssertEqual(summary.branches.map(\.path), [root + "/a", root + "/b"])
        XCTAssertEqual(summary.base, root + "/base")
        XCTAssertTrue(summary.notes.contains { $0.contains("int8_mask") })
        XCTAssertTrue(lines.contains { $0.hasPrefix("merging 2 models") }, "\(lines)")

        let (config, merged) = try importHuggingFace(directory: root + "/out")
        XCTAssertEqual(config, tiny)
        for f in ["tokenizer.json", "mergekit_config.yml", "config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/out/" + f), f)
        }
        // The same merge on the flat buffers, per tensor.
        let layout = ParameterLayout(config: tiny)
        func flat(_ t: [String: Tensor]) -> [Float] { layout.entries.flatMap { t[$0.name]!.data } }
        let recipe = MergeRecipe(method: .ties, weights: [0.6, 0.4], densities: [0.5, 0.7], normalize: true)
        let expected = Merge.merge(branches: [flat(a), flat(b)], base: flat(base), recipe: recipe,
                                   segments: layout.entries.map(\.range))
        XCTAssertEqual(flat(merged), expected, "fp32 output is bitwise the offline merge")
    }

    func testLinearMergeToOneSafetensorsFileInBF16() throws {
        let root = try temporaryDirectory(self)
        let a = try writeModel(root + "/a", tiny, seed: 4)
        let b = try writeModel(root + "/b", tiny, seed: 5)
        var config = MergeConfig()
        config.models = [MergeModel(model: root + "/a"), MergeModel(model: root + "/b", weight: 3)]
        config.dtype = "bfloat16"
        _ = try ModelMerge.run(config: config, output: root + "/merged.safetensors") { _ in }
        let (read, _) = try readSafetensors(root + "/merged.safetensors")
        let name = "model.layers.1.mlp.down_proj.weight"
        let expected = Merge.linear([a[name]!.data, b[name]!.data], weights: [1, 3])
        // bf16 storage: relative error ≤ 2⁻⁸ (round to nearest even).
        XCTAssertLessThanOrEqual(maxRelativeError(read[name]!.data, expected), 1.0 / 256)
        XCTAssertEqual(read.count, a.count)
    }

    func testArchitectureMismatchIsAClearError() throws {
        let root = try temporaryDirectory(self)
        _ = try writeModel(root + "/a", tiny, seed: 6)
        var deeper = tiny
        deeper.layers = 3
        _ = try writeModel(root + "/b", deeper, seed: 7)
        var config = MergeConfig()
        config.models = [MergeModel(model: root + "/a"), MergeModel(model: root + "/b")]
        XCTAssertThrowsError(try ModelMerge.run(config: config, output: root + "/out") { _ in }) { error in
            XCTAssertEqual("\(error)", "model `\(root)/b`: expected num_hidden_layers 2 as in `\(root)/a`, found "
                            + "num_hidden_layers 3. Merge models of one architecture (same layers, widths, vocabulary, "
                            + "tied embeddings, biases).")
        }
        config.models = [MergeModel(model: root + "/a"), MergeModel(model: root + "/missing")]
        XCTAssertThrowsError(try ModelMerge.run(config: config, output: root + "/out") { _ in }) { error in
            XCTAssertTrue("\(error)".contains("no such file or directory"), "\(error)")
            XCTAssertTrue("\(error)".contains("download the model first"), "\(error)")
        }
    }

    func testCheckpointInputsThatRecordTheirArchitecture() throws {
        let root = try temporaryDirectory(self)
        let a = try writeModel(root + "/a", tiny, seed: 8)
        let layout = ParameterLayout(config: tiny)
        let flatB = randomValues(layout.totalCount, seed: 9)
        let json = String(decoding: try JSONEncoder().encode(tiny), as: UTF8.self)
        let store = CheckpointStore(runDirectory: root + "/run")
        let half = layout.totalCount / 2
        let info = try store.save(step: 4, worldSize: 2, layout: [MergeInputModel.checkpointConfigKey: json], shards: [
            ShardContent(group: "model", rank: 0, tensors: [TensorContent("parameters", floats: Array(flatB[..<half]))]),
            ShardContent(group: "model", rank: 1, tensors: [TensorContent("parameters", floats: Array(flatB[half...]))]),
        ])
        var config = MergeConfig()
        config.models = [MergeModel(model: root + "/a"), MergeModel(model: info.path)]
        _ = try ModelMerge.run(config: config, output: root + "/out") { _ in }
        let (_, merged) = try importHuggingFace(directory: root + "/out")
        let flatA = layout.entries.flatMap { a[$0.name]!.data }
        XCTAssertEqual(layout.entries.flatMap { merged[$0.name]!.data }, Merge.linear([flatA, flatB]))

        // The run directory names its newest complete checkpoint, as CheckpointResolver decides everywhere.
        config.models[1] = MergeModel(model: root + "/run")
        let viaRun = try ModelMerge.run(config: config, output: root + "/out-run") { _ in }
        XCTAssertEqual(viaRun.branches.map(\.path), [root + "/a", root + "/run"])
        let (_, mergedViaRun) = try importHuggingFace(directory: root + "/out-run")
        XCTAssertEqual(layout.entries.flatMap { mergedViaRun[$0.name]!.data }, Merge.linear([flatA, flatB]))

        // Without the recorded architecture: a clear error.
        let bare = try CheckpointStore(runDirectory: root + "/run2").save(step: 1, worldSize: 1, shards: [
            ShardContent(group: "model", rank: 0, tensors: [TensorContent("parameters", floats: flatB)])])
        config.models[1] = MergeModel(model: bare.path)
        XCTAssertThrowsError(try ModelMerge.run(config: config, output: root + "/out2") { _ in }) { error in
            XCTAssertTrue("\(error)".contains("layout key `model_config`"), "\(error)")
        }
    }
}
