import Checkpoint
import Foundation
import Transformer

/// Students that start from a saved model: one of our checkpoints (weights
/// only, as a new run's initialisation), and layer-dropped copies of a loaded
/// model (`model.keep_layers`).
public enum CheckpointModels {
    /// True when `path` is a checkpoint directory (`global_step_<N>` with a
    /// manifest) or a run's `checkpoints` directory (with its latest-step file).
    public static func isCheckpoint(_ path: String) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: path + "/" + CheckpointStore.manifestName)
            || fm.fileExists(atPath: path + "/latest_checkpointed_iteration.txt")
    }

    /// The model saved in checkpoint `path`, checked against the built-in
    /// tokenizer's `vocabSize` and the run's sequence length `need`, with
    /// `keepLayers` of its layers (0 = all).
    public static func student(path: String, keepLayers: Int, vocabSize: Int, need: Int) throws -> Model {
        let saved = try MoTTeacherLoading.load(path: path, maxSeqLen: need)
        guard saved.config.maxSeqLen >= need else {
            throw JobError("model.path=\(path): the saved model holds \(saved.config.maxSeqLen) positions, this run needs "
                           + "\(need) (data.max_prompt_length + data.max_response_length); lower those lengths")
        }
        guard saved.config.vocabSize == vocabSize else {
            throw JobError("model.path=\(path): expected a checkpoint of the built-in tiny model (vocabulary of "
                           + "\(vocabSize) characters), found a vocabulary of \(saved.config.vocabSize). A checkpoint of a "
                           + "run on a GGUF or Hugging Face model is continued with checkpoint.resume_mode, not model.path.")
        }
        return try keeping(keepLayers, of: saved, source: path)
    }

    /// `model` itself when `keep` is 0, else a copy with `keep` evenly spaced layers.
    public static func keeping(_ keep: Int, of model: Model, source: String) throws -> Model {
        guard keep > 0 else { return model }
        guard keep <= model.config.layers else {
            throw JobError("model.keep_layers=\(keep): \(source) has only \(model.config.layers) layers; "
                           + "choose 1…\(model.config.layers), or 0 for all")
        }
        let kept = Model.evenlySpacedLayers(keep: keep, of: model.config.layers)
        print("ispo-cluster: student keeps layers \(kept) of \(model.config.layers) from \(source)")
        return try model.keepingLayers(kept)
    }
}
