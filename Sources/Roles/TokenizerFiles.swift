import Foundation
import ModelIO

/// The tokenizer an exported or merged Hugging Face folder takes from another model: a Hugging
/// Face folder (its tokenizer files are copied) or a GGUF file (its tokenizer is written as
/// `tokenizer.json`, `tokenizer_config.json` with the chat template and `generation_config.json`).
/// Shared by `ispo-cluster export` (`ModelExport`) and `ispo-cluster merge` (`ModelMerge`).
public enum TokenizerFiles {
    /// The files of a Hugging Face folder that belong to its tokenizer, chat template and
    /// generation settings (the files mergekit copies from its donor model).
    public static let huggingFaceFiles = [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "added_tokens.json",
        "vocab.json", "merges.txt", "chat_template.jinja", "chat_template.json", "generation_config.json",
    ]

    /// Whether `path` is a folder (else a file, e.g. `.gguf`); nil when nothing is there.
    static func isFolder(_ path: String) -> Bool? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        return isDirectory.boolValue
    }

    /// Whether `path` can give a tokenizer: a Hugging Face folder with `tokenizer.json` or
    /// `tokenizer.model`, or a `.gguf` file.
    public static func hasTokenizer(_ path: String) -> Bool {
        switch isFolder(path) {
        case true?:
            return ["tokenizer.json", "tokenizer.model"].contains {
                FileManager.default.fileExists(atPath: path + "/" + $0)
            }
        case false?: return path.hasSuffix(".gguf")
        case nil: return false
        }
    }

    /// The bos/eos/pad ids `config.json` should carry: a folder's `generation_config.json`, else
    /// its `config.json` (the first of a list); a GGUF file's `tokenizer.ggml.*_token_id`.
    /// - Throws: `ModelInputError` when nothing is at `source`; the GGUF reader's errors.
    public static func tokenIDs(of source: String) throws -> HuggingFaceTokenIDs {
        switch isFolder(source) {
        case true?:
            return HuggingFaceTokenIDs(bos: firstID("bos_token_id", in: source), eos: firstID("eos_token_id", in: source),
                                       pad: firstID("pad_token_id", in: source))
        case false?:
            return HuggingFaceTokenIDs(try tokenizerSpec(from: GGUFFile(path: source)))
        case nil:
            throw missing(source)
        }
    }

    /// Writes the tokenizer of `source` into the folder `output` (created if needed). A GGUF
    /// tokenizer must fit the model's `vocabSize` embedding rows.
    /// - Throws: `ModelInputError` for a missing source or a GGUF vocabulary larger than
    ///   `vocabSize`; the readers' and writers' errors.
    public static func write(from source: String, to output: String, vocabSize: Int, modelMaxLength: Int) throws {
        guard let folder = isFolder(source) else { throw missing(source) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: output, withIntermediateDirectories: true)
        if folder {
            for file in huggingFaceFiles where fm.fileExists(atPath: source + "/" + file) {
                try? fm.removeItem(atPath: output + "/" + file)
                try fm.copyItem(atPath: source + "/" + file, toPath: output + "/" + file)
            }
            return
        }
        let spec = try tokenizerSpec(from: GGUFFile(path: source))
        guard spec.tokens.count <= vocabSize else {
            throw ModelInputError(description: "tokenizer source \(source): expected at most \(vocabSize) tokens (the "
                + "model's vocabulary), found \(spec.tokens.count). Take the tokenizer of the model the weights came from.")
        }
        try writeHuggingFaceTokenizer(spec, source: source, to: output, modelMaxLength: modelMaxLength)
    }

    /// `key` of a folder's generation_config.json, else of its config.json (first of a list).
    static func firstID(_ key: String, in folder: String) -> Int? {
        for name in ["generation_config.json", "config.json"] {
            guard let data = FileManager.default.contents(atPath: folder + "/" + name),
                  let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { continue }
            if let n = json[key] as? Int { return n }
            if let list = json[key] as? [Int], let n = list.first { return n }
        }
        return nil
    }

    static func missing(_ source: String) -> ModelInputError {
        ModelInputError(description: "tokenizer source \(source): expected a .gguf file or a Hugging Face folder, found "
            + "nothing at that path. Check the path.")
    }
}
