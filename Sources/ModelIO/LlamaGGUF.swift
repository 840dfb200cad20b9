import Foundation
import Tensors
import Transformer

/// The tokenizer a GGUF file carries in its `tokenizer.ggml.*` metadata.
public struct GGUFTokenizerSpec: Equatable, Sendable {
    /// `tokenizer.ggml.model`, e.g. `gpt2` for byte-level BPE or `llama` for SentencePiece.
    public var model: String
    /// `tokenizer.ggml.pre`, the pre-tokenizer name (e.g. `smollm`), if given.
    public var preTokenizer: String?
    /// `tokenizer.ggml.tokens`, indexed by token id.
    public var tokens: [String]
    /// `tokenizer.ggml.merges` ("a b" pairs in priority order); empty if absent.
    public var merges: [String]
    /// `tokenizer.ggml.token_type` (1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte), if given.
    public var tokenTypes: [Int32]?
    /// `tokenizer.ggml.bos_token_id`.
    public var bosTokenID: Int?
    /// `tokenizer.ggml.eos_token_id`.
    public var eosTokenID: Int?
    /// `tokenizer.ggml.unknown_token_id`.
    public var unknownTokenID: Int?
    /// `tokenizer.ggml.padding_token_id`.
    public var paddingTokenID: Int?
    /// `tokenizer.ggml.add_bos_token`.
    public var addBOS: Bool?
    /// `tokenizer.chat_template` (Jinja source), if given.
    public var chatTemplate: String?
}

/// Reads the tokenizer vocabulary, merges and special ids from a GGUF file's metadata.
public func tokenizerSpec(from gguf: GGUFFile) throws -> GGUFTokenizerSpec {
    func fail(_ key: String, _ expected: String, _ found: String) -> ModelIOError {
        ModelIOError(.missing, file: gguf.path, expected: "metadata '\(key)' holding \(expected)", found: found,
                     remedy: "Use a GGUF converted with its tokenizer (llama.cpp's convert_hf_to_gguf.py embeds it).")
    }
    guard let tokensValue = gguf["tokenizer.ggml.tokens"] else {
        throw fail("tokenizer.ggml.tokens", "the token strings", "no such key")
    }
    guard let tokens = tokensValue.stringArray else {
        throw fail("tokenizer.ggml.tokens", "an array of strings", "a value of GGUF type \(tokensValue.typeTag)")
    }
    var merges: [String] = []
    if let m = gguf["tokenizer.ggml.merges"] {
        guard let list = m.stringArray else {
            throw fail("tokenizer.ggml.merges", "an array of strings", "a value of GGUF type \(m.typeTag)")
        }
        merges = list
    }
    var types: [Int32]? = nil
    if let t = gguf["tokenizer.ggml.token_type"] {
        guard let list = t.arrayValue, list.count == tokens.count else {
            throw fail("tokenizer.ggml.token_type", "one integer per token (\(tokens.count))",
                       "\(t.arrayValue.map { "\($0.count) entries" } ?? "a value of GGUF type \(t.typeTag)")")
        }
        var out: [Int32] = []
        out.reserveCapacity(list.count)
        for v in list {
            guard let i = v.intValue, let i32 = Int32(exactly: i) else {
                throw fail("tokenizer.ggml.token_type", "32-bit integers", "\(v)")
            }
            out.append(i32)
        }
        types = out
    }
    func id(_ key: String) throws -> Int? {
        guard let v = gguf[key] else { return nil }
        guard let i = v.intValue, i >= 0, i < tokens.count else {
            throw ModelIOError(.malformed, file: gguf.path,
                               expected: "metadata '\(key)' to be a token id below \(tokens.count)",
                               found: "\(v)", remedy: Remedy.reconvert)
        }
        return i
    }
    return GGUFTokenizerSpec(
        model: gguf["tokenizer.ggml.model"]?.stringValue ?? "gpt2",
        preTokenizer: gguf["tokenizer.ggml.pre"]?.stringValue,
        tokens: tokens, merges: merges, tokenTypes: types,
        bosTokenID: try id("tokenizer.ggml.bos_token_id"),
        eosTokenID: try id("tokenizer.ggml.eos_token_id"),
        unknownTokenID: try id("tokenizer.ggml.unknown_token_id"),
        paddingTokenID: try id("tokenizer.ggml.padding_token_id"),
        addBOS: gguf["tokenizer.ggml.add_bos_token"]?.boolValue,
        chatTemplate: gguf["tokenizer.chat_template"]?.stringValue)
}

/// The model shape a GGUF file describes (architectures `llama` and `qwen2`).
///
/// `llama` GGUFs use interleaved RoPE (llama.cpp's converter permutes the Q/K
/// rows); `qwen2` GGUFs are not permuted and use rotate-half (NEOX) RoPE.
public func modelConfig(from gguf: GGUFFile) throws -> ModelConfig {
    let file = gguf.path
    guard let arch = gguf["general.architecture"]?.stringValue else {
        throw ModelIOError(.missing, file: file, expected: "metadata 'general.architecture' (a string)",
                           found: gguf["general.architecture"].map { "\($0)" } ?? "no such key",
                           remedy: Remedy.reconvert)
    }
    guard arch == "llama" || arch == "qwen2" else {
        throw ModelIOError(.unsupportedType, file: file, expected: "general.architecture 'llama' or 'qwen2'",
                           found: "'\(arch)'", remedy: "Use a Llama- or Qwen2-family model.")
    }
    func int(_ key: String, default value: Int? = nil) throws -> Int {
        let full = "\(arch).\(key)"
        guard let v = gguf[full] else {
            if let value { return value }
            throw ModelIOError(.missing, file: file, expected: "metadata '\(full)'", found: "no such key",
                               remedy: Remedy.reconvert)
        }
        guard let i = v.intValue, i > 0, i <= 1 << 28 else {
            throw ModelIOError(.malformed, file: file, expected: "'\(full)' to be one positive integer",
                               found: "\(v)", remedy: Remedy.reconvert)
        }
        return i
    }
    func float(_ key: String, default value: Float) throws -> Float {
        let full = "\(arch).\(key)"
        guard let v = gguf[full] else { return value }
        guard let d = v.doubleValue, d.isFinite, d > 0 else {
            throw ModelIOError(.malformed, file: file, expected: "'\(full)' to be a positive number",
                               found: "\(v)", remedy: Remedy.reconvert)
        }
        return Float(d)
    }
    let dim = try int("embedding_length")
    let heads = try int("attention.head_count")
    var vocab = gguf.tensorInfo(named: "token_embd.weight").flatMap { $0.dimensions.count == 2 ? $0.shape[0] : nil }
    if vocab == nil { vocab = gguf["tokenizer.ggml.tokens"]?.arrayValue?.count }
    if vocab == nil { vocab = try int("vocab_size") }
    let config = ModelConfig(
        vocabSize: vocab ?? 0, dim: dim, layers: try int("block_count"), heads: heads,
        kvHeads: try int("attention.head_count_kv", default: heads), ffnDim: try int("feed_forward_length"),
        maxSeqLen: try int("context_length"), ropeTheta: try float("rope.freq_base", default: 10000),
        ropeStyle: arch == "llama" ? .interleaved : .rotateHalf,
        normEps: try float("attention.layer_norm_rms_epsilon", default: 1e-5),
        tiedEmbeddings: gguf.tensorInfo(named: "output.weight") == nil,
        qkvBias: gguf.tensorInfo(named: "blk.0.attn_q.bias") != nil)
    do { try config.validate() } catch {
        throw ModelIOError(.malformed, file: file, expected: "a consistent model shape", found: "\(error)",
                           remedy: Remedy.reconvert)
    }
    if let rot = gguf["\(arch).rope.dimension_count"], rot.intValue != config.headDim {
        throw ModelIOError(.unsupportedType, file: file,
                           expected: "RoPE over the whole head (\(arch).rope.dimension_count = \(config.headDim))",
                           found: "\(rot)", remedy: "Partial-rotary models are not supported.")
    }
    if let scaling = gguf["\(arch).rope.scaling.type"]?.stringValue, scaling != "none" {
        throw ModelIOError(.unsupportedType, file: file, expected: "no RoPE scaling",
                           found: "\(arch).rope.scaling.type = '\(scaling)'",
                           remedy: "RoPE-scaled (long-context) variants are not supported; use the base model.")
    }
    return config
}

/// GGUF name and Hugging Face shape for each Hugging Face parameter name of `config`.
func parameterNames(_ config: ModelConfig) -> [(hf: String, gguf: String, shape: [Int])] {
    let d = config.dim, q = config.heads * config.headDim, kv = config.kvHeads * config.headDim, f = config.ffnDim
    var pairs: [(String, String, [Int])] = [("model.embed_tokens.weight", "token_embd.weight", [config.vocabSize, d])]
    let perLayer = [
        ("input_layernorm.weight", "attn_norm.weight", [d]),
        ("self_attn.q_proj.weight", "attn_q.weight", [q, d]), ("self_attn.k_proj.weight", "attn_k.weight", [kv, d]),
        ("self_attn.v_proj.weight", "attn_v.weight", [kv, d]),
        ("self_attn.o_proj.weight", "attn_output.weight", [d, q]),
        ("post_attention_layernorm.weight", "ffn_norm.weight", [d]),
        ("mlp.gate_proj.weight", "ffn_gate.weight", [f, d]), ("mlp.up_proj.weight", "ffn_up.weight", [f, d]),
        ("mlp.down_proj.weight", "ffn_down.weight", [d, f]),
    ]
    let bias = [("self_attn.q_proj.bias", "attn_q.bias", [q]), ("self_attn.k_proj.bias", "attn_k.bias", [kv]),
                ("self_attn.v_proj.bias", "attn_v.bias", [kv])]
    for l in 0 ..< config.layers {
        for (hf, gg, shape) in perLayer + (config.qkvBias ? bias : []) {
            pairs.append(("model.layers.\(l).\(hf)", "blk.\(l).\(gg)", shape))
        }
    }
    pairs.append(("model.norm.weight", "output_norm.weight", [d]))
    if !config.tiedEmbeddings { pairs.append(("lm_head.weight", "output.weight", [config.vocabSize, d])) }
    return pairs
}

/// Reads a Llama- or Qwen2-family model from GGUF: its config and every
/// parameter dequantised to fp32 under its Hugging Face name and shape.
///
/// Q/K weights keep the file's RoPE layout, which `config.ropeStyle` records.
/// Tensors are decoded in parallel. Throws naming the first missing or
/// mis-shaped tensor.
public func llamaModel(from gguf: GGUFFile) throws -> (config: ModelConfig, tensors: [String: Tensor]) {
    let config = try modelConfig(from: gguf)
    // Each block has at least 9 tensors: a block_count beyond that cannot be satisfied
    // (and must not make us list millions of names).
    guard config.layers <= gguf.tensors.count / 9 else {
        throw ModelIOError(.missing, file: gguf.path,
                           expected: "9 tensors for each of the \(config.layers) blocks in block_count",
                           found: "only \(gguf.tensors.count) tensors in the file", remedy: Remedy.reconvert)
    }
    let names = parameterNames(config)
    for (hf, gg, want) in names {
        guard let info = gguf.tensorInfo(named: gg) else {
            throw ModelIOError(.missing, file: gguf.path, expected: "tensor '\(gg)' (Hugging Face '\(hf)')",
                               found: "no such tensor", remedy: Remedy.reconvert)
        }
        guard info.shape == want else {
            throw ModelIOError(.shapeMismatch, file: gguf.path,
                               expected: "tensor '\(gg)' of shape \(want) (from the file's metadata)",
                               found: "shape \(info.shape) (ne \(info.dimensions))", remedy: Remedy.reconvert)
        }
    }
    let results = ResultSlots(count: names.count)
    DispatchQueue.concurrentPerform(iterations: names.count) { i in
        results.set(i, Result { try gguf.tensor(named: names[i].gguf) })
    }
    var tensors: [String: Tensor] = [:]
    tensors.reserveCapacity(names.count)
    for (i, pair) in names.enumerated() {
        tensors[pair.hf] = try results.get(i)
    }
    return (config, tensors)
}

/// Lock-protected result slots filled from concurrent workers.
final class ResultSlots: @unchecked Sendable {
    private var slots: [Result<Tensor, Error>?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ r: Result<Tensor, Error>) {
        lock.lock()
        slots[i] = r
        lock.unlock()
    }

    func get(_ i: Int) throws -> Tensor {
        lock.lock()
        let r = slots[i]
        lock.unlock()
        guard let r else {
            throw ModelIOError(.malformed, file: "(internal)", expected: "a decoded tensor", found: "none",
                               remedy: "Report this as a bug.")
        }
        return try r.get()
    }
}
