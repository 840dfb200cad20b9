import Foundation
import Tokenization

/// The special token ids a Hugging Face folder records in `config.json` and
/// `generation_config.json` (transformers reads `eos_token_id` there to stop).
public struct HuggingFaceTokenIDs: Equatable, Sendable {
    /// `bos_token_id`, if the model has one.
    public var bos: Int?
    /// `eos_token_id`, if the model has one.
    public var eos: Int?
    /// `pad_token_id`, if the model has one.
    public var pad: Int?

    /// The ids.
    public init(bos: Int? = nil, eos: Int? = nil, pad: Int? = nil) {
        self.bos = bos; self.eos = eos; self.pad = pad
    }

    /// The ids a GGUF tokenizer declares (`tokenizer.ggml.{bos,eos,padding}_token_id`).
    public init(_ spec: GGUFTokenizerSpec) {
        self.init(bos: spec.bosTokenID, eos: spec.eosTokenID, pad: spec.paddingTokenID)
    }

    /// The set ids under their config.json keys.
    var json: [String: Any] {
        var out: [String: Any] = [:]
        if let bos { out["bos_token_id"] = bos }
        if let eos { out["eos_token_id"] = eos }
        if let pad { out["pad_token_id"] = pad }
        return out
    }
}

/// Writes the tokenizer of a GGUF file as Hugging Face files in `directory`:
/// `tokenizer.json` (model BPE with the vocabulary and merges, the byte-level
/// pre-tokenizer, SmolLM's one-digit split when `tokenizer.ggml.pre` is
/// `smollm`, byte-level decoder, the special tokens as added tokens),
/// `tokenizer_config.json` (bos/eos/pad/unk tokens, `model_max_length`, and
/// `chat_template` copied from the metadata key `tokenizer.chat_template` when
/// the GGUF has one) and `generation_config.json` (bos/eos/pad ids).
///
/// Pre-tokenizers other than `smollm` are written as GPT-2's split, which is
/// what `loadTokenizer(from:)` uses for them too. The special tokens are the
/// ones `ByteLevelBPE` treats as special (GGUF token types 3 and 4, and `<|…|>`).
/// - Throws: `ModelIOError` for a tokenizer that is not byte-level BPE or has
///   repeated token strings, or when a file cannot be written.
public func writeHuggingFaceTokenizer(_ spec: GGUFTokenizerSpec, source: String, to directory: String,
                                      modelMaxLength: Int) throws {
    guard spec.model == "gpt2" else {
        throw ModelIOError(.unsupportedType, file: source,
                           expected: "a byte-level BPE tokenizer (tokenizer.ggml.model = 'gpt2') to write tokenizer.json",
                           found: "tokenizer.ggml.model = '\(spec.model)'",
                           remedy: "Export a model with a GPT-2 style byte-level BPE tokenizer (e.g. SmolLM2, Qwen2), "
                               + "or copy the original tokenizer.json into the exported folder.")
    }
    let smollm = spec.preTokenizer == "smollm"
    let bpe: ByteLevelBPE
    do {
        bpe = try ByteLevelBPE(tokens: spec.tokens, merges: spec.merges, tokenTypes: spec.tokenTypes,
                               preTokenizer: smollm ? .smollm : .gpt2)
    } catch {
        throw ModelIOError(.malformed, file: source, expected: "a consistent vocabulary and merge list in tokenizer.ggml.*",
                           found: "\(error)", remedy: Remedy.reconvert)
    }
    var vocab: [String: Int] = [:]
    vocab.reserveCapacity(spec.tokens.count)
    for (id, token) in spec.tokens.enumerated() {
        if let earlier = vocab[token] {
            throw ModelIOError(.malformed, file: source, expected: "one id per token string in tokenizer.ggml.tokens",
                               found: "\(token.debugDescription) at ids \(earlier) and \(id)",
                               remedy: "tokenizer.json cannot hold a repeated token; copy the original tokenizer.json instead.")
        }
        vocab[token] = id
    }
    let special = (0 ..< spec.tokens.count).filter { bpe.isSpecial(Int32($0)) }
    func tokenText(_ id: Int?) -> Any { id.map { spec.tokens[$0] as Any } ?? NSNull() }

    let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
    let preTokenizer: [String: Any] = smollm
        ? ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel]]
        : byteLevel
    var postProcessor: [String: Any] = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true]
    if spec.addBOS == true, let bos = spec.bosTokenID {
        // llama.cpp prepends BOS for such models; transformers does it through the post-processor.
        let name = spec.tokens[bos]
        postProcessor = [
            "type": "TemplateProcessing",
            "single": [["SpecialToken": ["id": name, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
            "pair": [["SpecialToken": ["id": name, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                     ["SpecialToken": ["id": name, "type_id": 1]], ["Sequence": ["id": "B", "type_id": 1]]],
            "special_tokens": [name: ["id": name, "ids": [bos], "tokens": [name]]],
        ]
    }
    let tokenizer: [String: Any] = [
        "version": "1.0",
        "truncation": NSNull(),
        "padding": NSNull(),
        "added_tokens": special.map { id -> [String: Any] in
            ["id": id, "content": spec.tokens[id], "single_word": false, "lstrip": false, "rstrip": false,
             "normalized": false, "special": true]
        },
        "normalizer": NSNull(),
        "pre_tokenizer": preTokenizer,
        "post_processor": postProcessor,
        "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
        "model": [
            "type": "BPE", "dropout": NSNull(), "unk_token": tokenText(spec.unknownTokenID),
            "continuing_subword_prefix": NSNull(), "end_of_word_suffix": NSNull(), "fuse_unk": false,
            "byte_fallback": false, "ignore_merges": false, "vocab": vocab, "merges": spec.merges,
        ] as [String: Any],
    ]
    var config: [String: Any] = [
        "add_prefix_space": false,
        "added_tokens_decoder": Dictionary(uniqueKeysWithValues: special.map { id in
            (String(id), ["content": spec.tokens[id], "lstrip": false, "normalized": false, "rstrip": false,
                          "single_word": false, "special": true] as [String: Any])
        }),
        "bos_token": tokenText(spec.bosTokenID),
        "eos_token": tokenText(spec.eosTokenID),
        "pad_token": tokenText(spec.paddingTokenID),
        "unk_token": tokenText(spec.unknownTokenID),
        "clean_up_tokenization_spaces": false,
        "model_max_length": modelMaxLength,
        "tokenizer_class": "GPT2Tokenizer",
    ]
    if let template = spec.chatTemplate { config["chat_template"] = template }
    if let addBOS = spec.addBOS { config["add_bos_token"] = addBOS }
    try writeJSON(tokenizer, to: directory + "/tokenizer.json", what: "tokenizer.json")
    try writeJSON(config, to: directory + "/tokenizer_config.json", what: "tokenizer_config.json")
    try writeGenerationConfig(HuggingFaceTokenIDs(spec), to: directory)
}

/// Writes `generation_config.json` with the special ids (what transformers'
/// `generate` and `ModelLoading` read the EOS from).
public func writeGenerationConfig(_ ids: HuggingFaceTokenIDs, to directory: String) throws {
    var json = ids.json
    json["_from_model_config"] = true
    try writeJSON(json, to: directory + "/generation_config.json", what: "generation_config.json")
}

/// Pretty, key-sorted JSON written atomically.
func writeJSON(_ object: [String: Any], to path: String, what: String) throws {
    do {
        let data = try JSONSerialization.data(withJSONObject: object,
                                              options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw ModelIOError(.writeFailed, file: path, expected: "to write \(what)",
                           found: "an error (\(error.localizedDescription))",
                           remedy: "Check that the folder is writable and the disk has space.")
    }
}

/// Exports a GGUF file as a complete Hugging Face folder: `model.safetensors`
/// and `config.json` (with its bos/eos ids, rotate-half RoPE), plus the
/// tokenizer files of `writeHuggingFaceTokenizer`, so the folder loads with
/// no separate tokenizer. Weights are dequantised to fp32 and stored in `dtype`.
public func exportHuggingFace(gguf: GGUFFile, to directory: String, dtype: SafetensorsDType = .f32) throws {
    let spec = try tokenizerSpec(from: gguf)
    let (config, tensors) = try llamaModel(from: gguf)
    try exportHuggingFace(config: config, tensors: tensors, to: directory, dtype: dtype, tokenIDs: HuggingFaceTokenIDs(spec))
    try writeHuggingFaceTokenizer(spec, source: gguf.path, to: directory, modelMaxLength: config.maxSeqLen)
}
