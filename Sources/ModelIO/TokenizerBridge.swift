import Tokenization

/// Builds the byte-level BPE tokenizer a GGUF file carries (`tokenizer.ggml.model` = `gpt2`).
///
/// `tokenizer.ggml.pre` = `smollm` selects the SmolLM pre-tokenizer; any other
/// value (or none) uses GPT-2's. Special ids stay available from
/// `tokenizerSpec(from:)`. Tokenizer inconsistencies are reported as a
/// `ModelIOError` naming the file.
public func loadTokenizer(from gguf: GGUFFile) throws -> ByteLevelBPE {
    let spec = try tokenizerSpec(from: gguf)
    guard spec.model == "gpt2" else {
        throw ModelIOError(.unsupportedType, file: gguf.path,
                           expected: "a byte-level BPE tokenizer (tokenizer.ggml.model = 'gpt2')",
                           found: "tokenizer.ggml.model = '\(spec.model)'",
                           remedy: "Use a model with a GPT-2 style byte-level BPE tokenizer (e.g. SmolLM2, Qwen2).")
    }
    let pre: PreTokenizerKind = spec.preTokenizer == "smollm" ? .smollm : .gpt2
    do {
        return try ByteLevelBPE(tokens: spec.tokens, merges: spec.merges, tokenTypes: spec.tokenTypes,
                                preTokenizer: pre)
    } catch {
        throw ModelIOError(.malformed, file: gguf.path,
                           expected: "a consistent vocabulary and merge list in tokenizer.ggml.*",
                           found: "\(error)", remedy: Remedy.reconvert)
    }
}

/// The chat template a GGUF file carries: `tokenizer.chat_template`, with the
/// texts of its BOS and EOS tokens (`tokenizer.ggml.bos_token_id` /
/// `eos_token_id` looked up in `tokenizer.ggml.tokens`) for `bos_token` and
/// `eos_token`. A file without a template gives `ModelChatTemplate.chatML`.
///
/// `now` is the clock behind the template's `strftime_now`. Throws a
/// `ModelIOError` naming the file when the metadata is inconsistent or the
/// template uses Jinja outside the supported subset.
public func loadChatTemplate(from gguf: GGUFFile,
                             now: @escaping @Sendable () -> JinjaDateTime = { JinjaDateTime.now() }) throws
    -> ModelChatTemplate {
    guard let value = gguf["tokenizer.chat_template"] else { return .chatML }
    guard let source = value.stringValue else {
        throw ModelIOError(.malformed, file: gguf.path, expected: "metadata 'tokenizer.chat_template' to be a string",
                           found: "a value of GGUF type \(value.typeTag)", remedy: Remedy.reconvert)
    }
    let tokens = gguf["tokenizer.ggml.tokens"]?.stringArray ?? []
    func tokenText(_ key: String) throws -> String? {
        guard let v = gguf[key] else { return nil }
        guard let id = v.intValue, tokens.indices.contains(id) else {
            throw ModelIOError(.malformed, file: gguf.path,
                               expected: "metadata '\(key)' to be a token id below \(tokens.count)",
                               found: "\(v)", remedy: Remedy.reconvert)
        }
        return tokens[id]
    }
    return try parsedChatTemplate(source, bosToken: try tokenText("tokenizer.ggml.bos_token_id"),
                                  eosToken: try tokenText("tokenizer.ggml.eos_token_id"), file: gguf.path, now: now)
}

/// Parses a model's template, turning a `JinjaError` into a `ModelIOError` that names `file`.
func parsedChatTemplate(_ source: String, bosToken: String?, eosToken: String?, file: String,
                        now: @escaping @Sendable () -> JinjaDateTime) throws -> ModelChatTemplate {
    do {
        return try ModelChatTemplate(source: source, bosToken: bosToken, eosToken: eosToken, now: now)
    } catch let error as JinjaError {
        throw ModelIOError(.unsupportedType, file: file,
                           expected: "a chat template in the Jinja subset Tokenization.JinjaTemplate supports",
                           found: "\(error)",
                           remedy: "Extend the interpreter in Sources/Tokenization/Jinja for this construct, or "
                               + "replace the model's chat template with an equivalent one it supports.")
    }
}
