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
