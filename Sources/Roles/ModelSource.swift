import Checkpoint
import Foundation
import Transformer

/// The one way to load a network from a path, for students (`model.path`),
/// distill and MoT teachers alike: a `.gguf` file, a Hugging Face folder,
/// a checkpoint directory, a run's `checkpoints/` directory or a run
/// directory (the last two: their newest checkpoint that verifies, as
/// `CheckpointResolver` decides).
enum ModelSource {
    /// Loads `path`. A model file is set up for `maxSeqLen` positions; a
    /// checkpoint keeps the architecture its manifest records.
    static func load(_ path: String, maxSeqLen: Int) throws -> Model {
        if let checkpoint = try CheckpointResolver.resolve(path) { return try loadCheckpoint(checkpoint) }
        return try ModelLoading.load(path: path, maxSeqLen: maxSeqLen).model
    }

    /// A model from checkpoint directory `path`: the architecture from the
    /// manifest's `model_config`, the parameters from the `model` group's shards.
    static func loadCheckpoint(_ path: String) throws -> Model {
        let reader = try CheckpointReader(directory: path)
        guard let json = reader.manifest.layout["model_config"] else {
            throw JobError("checkpoint \(path): expected its architecture in manifest.json (layout key model_config), found "
                           + "none (written by an older ispo-cluster); retrain it, or export it to a Hugging Face folder")
        }
        let config: ModelConfig
        do { config = try JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8)) } catch {
            throw JobError("checkpoint \(path): `model_config` is not a model configuration: \(error)")
        }
        let model = try Model(config: config)
        let params = try reader.concatenated(tensor: "parameters", group: "model")
        guard params.count == model.parameters.count else {
            throw JobError("checkpoint \(path): expected \(model.parameters.count) parameters (its model_config), found \(params.count)")
        }
        model.parameters.write(params)
        return model
    }

    /// A randomly initialised model of `config` (tests, and a stand-in before a
    /// trained teacher exists).
    static func randomTiny(config: ModelConfig, seed: UInt64) throws -> Model {
        let m = try Model(config: config)
        m.initialize(seed: seed)
        return m
    }
}
