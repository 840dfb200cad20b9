import Checkpoint
import Configs
import Foundation
import ModelIO
import Transformer

/// `ispo-cluster export`: a GGUF file or a checkpoint written out as a
/// complete Hugging Face folder (`model.safetensors`, `config.json` with its
/// bos/eos ids, `tokenizer.json`, `tokenizer_config.json` with the chat
/// template, `generation_config.json`) that `ispo-cluster generate --model`
/// and transformers load without a separate tokenizer.
public enum ModelExport {
    /// Exports `path` to the folder `output` and returns notes for the user.
    ///
    /// - `path` a `.gguf` file: weights (dequantised) and its tokenizer.
    /// - `path` a checkpoint (`global_step_<N>`, a run's `checkpoints/` or the
    ///   run directory: the newest verified one): the weights, and the tokenizer
    ///   of `tokenizerFrom` (a `.gguf` file or a Hugging Face folder), else of the
    ///   model the run started from (its config's `model.path`). A run of the
    ///   built-in tiny model has no Hugging Face tokenizer: its folder holds the
    ///   weights and config.json only (the notes say so).
    /// - Throws: `ModelInputError` naming the path for anything else, or the readers' and writers' errors.
    public static func export(_ path: String, to output: String, dtype: SafetensorsDType = .f32,
                              tokenizerFrom: String? = nil) throws -> [String] {
        if path.hasSuffix(".gguf"), FileManager.default.fileExists(atPath: path) {
            if let tokenizerFrom {
                throw ModelInputError(description: "--tokenizer-from \(tokenizerFrom): expected only with a checkpoint, "
                    + "found it with the GGUF file \(path), which carries its own tokenizer; drop --tokenizer-from.")
            }
            try exportHuggingFace(gguf: try GGUFFile(path: path), to: output, dtype: dtype)
            return ["weights, config.json and tokenizer files from \(path)"]
        }
        guard let checkpoint = try CheckpointResolver.resolve(path) else {
            throw ModelInputError(description: "\(path): expected a .gguf file or a checkpoint (a run directory, its "
                + "checkpoints/ folder or one global_step_<N>), found "
                + (FileManager.default.fileExists(atPath: path) ? "neither" : "nothing at that path")
                + ". A Hugging Face folder needs no export; check the path.")
        }
        let model = try ModelSource.loadCheckpoint(checkpoint)
        var notes = ["weights of \(checkpoint)"]
        let source = try tokenizerFrom ?? startingModel(of: checkpoint)
        guard let source else {
            try exportHuggingFace(config: model.config, tensors: model.namedTensors(), to: output, dtype: dtype)
            notes.append("no tokenizer written: the run used the built-in tiny model's character codec, which has no "
                + "Hugging Face form (pass --tokenizer-from <gguf or folder> if the model has a real tokenizer)")
            return notes
        }
        guard let isFolder = TokenizerFiles.isFolder(source) else {
            throw ModelInputError(description: "tokenizer source \(source): expected a .gguf file or a Hugging Face "
                + "folder, found nothing at that path. Pass --tokenizer-from <path> to name it.")
        }
        // The tokenizer first: a GGUF vocabulary that does not fit stops before anything is written.
        let ids = try TokenizerFiles.tokenIDs(of: source)
        try TokenizerFiles.write(from: source, to: output, vocabSize: model.config.vocabSize,
                                 modelMaxLength: model.config.maxSeqLen)
        try exportHuggingFace(config: model.config, tensors: model.namedTensors(), to: output, dtype: dtype, tokenIDs: ids)
        notes.append(isFolder ? "tokenizer files copied from \(source)" : "tokenizer from \(source)")
        return notes
    }

    /// The `model.path` the checkpoint's run started from (nil for the built-in tiny model).
    static func startingModel(of checkpoint: String) throws -> String? {
        let manifest = try CheckpointReader(directory: checkpoint).manifest
        guard !manifest.config.isEmpty else { return nil }
        let config = try Config.load(yamlText: manifest.config)
        let path = config.model.path
        guard !path.isEmpty else { return nil }
        // A run may start from another run's checkpoint: follow it to the model file it came from.
        if let resolved = try CheckpointResolver.resolve(path), resolved != checkpoint {
            return try startingModel(of: resolved)
        }
        return path
    }
}
