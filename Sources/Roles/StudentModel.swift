import Checkpoint
import Configs
import Foundation
import Tasks
import Tensors
import Transformer

/// The model a job trains (`model.*`) and its codec: the built-in tiny model
/// on the synthetic alphabet, a tiny model's checkpoint (weights and
/// architecture start the run), or a real model (GGUF, Hugging Face), each
/// optionally cut to `model.keep_layers` evenly spaced layers.
enum StudentModel {
    /// Loads the student on this rank. Every rank reads the same file (or
    /// seeds the same initialisation), so the weights agree before the first sync.
    static func load(config: Config, runSeed: UInt64) throws -> (Model, TextCodec) {
        let need = config.data.maxPromptLength + config.data.maxResponseLength
        if config.model.usesTinyModel {
            try PromptWrappingSetup.checkCharacterLevel(config.data.prompt)
            let codec = try CharCodec(alphabet: syntheticAlphabet)
            let t = config.model.tiny
            let mc = ModelConfig(vocabSize: codec.vocabSize, dim: t.dim, layers: t.layers, heads: t.heads,
                                 kvHeads: t.kvHeads, ffnDim: t.ffnDim, maxSeqLen: t.maxSeqLen, ropeTheta: Float(t.ropeTheta))
            let model = try Model(config: mc)
            model.initialize(seed: SeedMixer.derive(run: runSeed, purpose: SeedPurpose.initialization.rawValue))
            return (model, codec)
        }
        let path = config.model.path
        if CheckpointResolver.isCheckpointLocation(path) {
            // A tiny model's checkpoint: its weights (and architecture) start this run.
            try PromptWrappingSetup.checkCharacterLevel(config.data.prompt)
            let codec = try CharCodec(alphabet: syntheticAlphabet)
            return (try checkpointStudent(path: path, keepLayers: config.model.keepLayers, vocabSize: codec.vocabSize,
                                          need: need), codec)
        }
        let context = ContextSource(
            name: "data.max_prompt_length (\(config.data.maxPromptLength)) + data.max_response_length "
                + "(\(config.data.maxResponseLength)) + 64 positions of margin",
            remedy: "Lower data.max_prompt_length or data.max_response_length, or use a model with a longer context.")
        let loaded = try ModelLoading.load(path: path, maxSeqLen: need + 64, checkFinite: config.model.checkFinite,
                                           contextSource: context)
        let prompt = config.data.prompt
        let codec = BPECodec(tokenizer: loaded.tokenizer, chatTemplate: loaded.chatTemplate,
                             wrapping: try PromptWrappingSetup.wrapping(prompt, modelTemplate: loaded.chatTemplate),
                             system: prompt.system)
        return (try keeping(config.model.keepLayers, of: loaded.model, source: path), codec)
    }

    /// The model saved in checkpoint `path`, checked against the built-in
    /// tokenizer's `vocabSize` and the run's sequence length `need`, with
    /// `keepLayers` of its layers (0 = all).
    static func checkpointStudent(path: String, keepLayers: Int, vocabSize: Int, need: Int) throws -> Model {
        let saved = try ModelSource.load(path, maxSeqLen: need)
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
    static func keeping(_ keep: Int, of model: Model, source: String) throws -> Model {
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
