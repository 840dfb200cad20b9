/// One named parameter inside the flat buffers.
public struct ParameterEntry: Equatable, Sendable {
    /// Hugging Face Llama name, e.g. `model.layers.3.self_attn.q_proj.weight`.
    public let name: String
    /// PyTorch shape; Linear weights are (out, in).
    public let shape: [Int]
    /// First float of this parameter in the flat buffer.
    public let offset: Int
    /// Whether AdamW applies weight decay (matrices yes; norms, biases no).
    public let decays: Bool
    /// Flat ranges of each attention head's rows (Q/K/V weights and biases,
    /// and O's input columns are not contiguous so O has none); empty otherwise.
    /// P2D's head masks are built from these.
    public let headSlices: [Range<Int>]

    /// Number of floats.
    public var count: Int { shape.reduce(1, *) }
    /// `offset ..< offset + count`.
    public var range: Range<Int> { offset..<(offset + count) }
}

/// Where every parameter lives in the single flat fp32 buffer shared by the
/// parameters, the gradients and the AdamW moments. Order follows the model:
/// embeddings, then each block, then the final norm and an untied head.
public struct ParameterLayout: Equatable, Sendable {
    /// All parameters in buffer order.
    public let entries: [ParameterEntry]
    /// Total floats.
    public let totalCount: Int
    private let index: [String: Int]

    /// Builds the layout for `config`.
    public init(config c: ModelConfig) {
        var entries: [ParameterEntry] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int], decays: Bool, headRows: Int = 0) {
            let count = shape.reduce(1, *)
            var slices: [Range<Int>] = []
            if headRows > 0 {
                let perRow = shape.count == 2 ? shape[1] : 1
                let heads = shape[0] / headRows
                slices = (0..<heads).map { h in (offset + h * headRows * perRow)..<(offset + (h + 1) * headRows * perRow) }
            }
            entries.append(ParameterEntry(name: name, shape: shape, offset: offset, decays: decays, headSlices: slices))
            offset += count
        }
        let hd = c.headDim, C = c.dim
        add("model.embed_tokens.weight", [c.vocabSize, C], decays: true)
        for l in 0..<c.layers {
            let p = "model.layers.\(l)."
            add(p + "input_layernorm.weight", [C], decays: false)
            add(p + "self_attn.q_proj.weight", [c.heads * hd, C], decays: true, headRows: hd)
            add(p + "self_attn.k_proj.weight", [c.kvHeads * hd, C], decays: true, headRows: hd)
            add(p + "self_attn.v_proj.weight", [c.kvHeads * hd, C], decays: true, headRows: hd)
            if c.qkvBias {
                add(p + "self_attn.q_proj.bias", [c.heads * hd], decays: false, headRows: hd)
                add(p + "self_attn.k_proj.bias", [c.kvHeads * hd], decays: false, headRows: hd)
                add(p + "self_attn.v_proj.bias", [c.kvHeads * hd], decays: false, headRows: hd)
            }
            add(p + "self_attn.o_proj.weight", [C, c.heads * hd], decays: true)
            add(p + "post_attention_layernorm.weight", [C], decays: false)
            add(p + "mlp.gate_proj.weight", [c.ffnDim, C], decays: true)
            add(p + "mlp.up_proj.weight", [c.ffnDim, C], decays: true)
            add(p + "mlp.down_proj.weight", [C, c.ffnDim], decays: true)
        }
        add("model.norm.weight", [C], decays: false)
        if !c.tiedEmbeddings { add("lm_head.weight", [c.vocabSize, C], decays: true) }
        self.entries = entries
        self.totalCount = offset
        var idx: [String: Int] = [:]
        for (i, e) in entries.enumerated() { idx[e.name] = i }
        self.index = idx
    }

    /// The entry called `name`, or nil.
    public func entry(_ name: String) -> ParameterEntry? { index[name].map { entries[$0] } }

    /// The entry called `name`; the name must exist (programmer error otherwise).
    public subscript(name: String) -> ParameterEntry {
        guard let e = entry(name) else { preconditionFailure("ParameterLayout: no parameter named \(name)") }
        return e
    }
}
