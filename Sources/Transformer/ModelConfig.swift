/// How rotary position embeddings pair up the dimensions of a head.
public enum RopeStyle: String, Codable, Sendable, CaseIterable {
    /// Hugging Face / PyTorch Llama: dimension i pairs with i + headDim/2.
    case rotateHalf = "rotate_half"
    /// GGUF / llama.cpp / Meta original: dimension 2i pairs with 2i+1.
    case interleaved
}

/// Shape of a Llama/Qwen2-family decoder.
public struct ModelConfig: Codable, Equatable, Sendable {
    /// Vocabulary size (rows of the embedding and the LM head).
    public var vocabSize: Int
    /// Residual width d.
    public var dim: Int
    /// Number of decoder blocks.
    public var layers: Int
    /// Query heads.
    public var heads: Int
    /// Key/value heads (GQA when fewer than `heads`; must divide it).
    public var kvHeads: Int
    /// Hidden width of the SwiGLU MLP.
    public var ffnDim: Int
    /// Longest sequence the model is set up for (KV cache and RoPE tables).
    public var maxSeqLen: Int
    /// RoPE base frequency θ.
    public var ropeTheta: Float
    /// Which RoPE pairing the weights were trained with.
    public var ropeStyle: RopeStyle
    /// RMSNorm ε.
    public var normEps: Float
    /// LM head shares the embedding matrix.
    public var tiedEmbeddings: Bool
    /// Q, K and V projections carry a bias (Qwen2).
    public var qkvBias: Bool

    /// Per-head width, `dim / heads`.
    public var headDim: Int { dim / heads }

    /// Creates a config; call `validate()` before building a model from user input.
    public init(vocabSize: Int, dim: Int, layers: Int, heads: Int, kvHeads: Int, ffnDim: Int,
                maxSeqLen: Int, ropeTheta: Float = 10000, ropeStyle: RopeStyle = .rotateHalf,
                normEps: Float = 1e-5, tiedEmbeddings: Bool = false, qkvBias: Bool = false) {
        self.vocabSize = vocabSize; self.dim = dim; self.layers = layers; self.heads = heads
        self.kvHeads = kvHeads; self.ffnDim = ffnDim; self.maxSeqLen = maxSeqLen
        self.ropeTheta = ropeTheta; self.ropeStyle = ropeStyle; self.normEps = normEps
        self.tiedEmbeddings = tiedEmbeddings; self.qkvBias = qkvBias
    }

    /// Checks that the sizes fit together; the message names each offending term.
    public func validate() throws {
        func fail(_ s: String) throws -> Never { throw ModelConfigError(message: s) }
        for (name, v) in [("vocabSize", vocabSize), ("dim", dim), ("layers", layers), ("heads", heads),
                          ("kvHeads", kvHeads), ("ffnDim", ffnDim), ("maxSeqLen", maxSeqLen)] where v <= 0 {
            try fail("model.\(name) must be positive, found \(v)")
        }
        if dim % heads != 0 {
            try fail("model.dim (\(dim)) must be divisible by model.heads (\(heads)); choose heads that divide dim")
        }
        if heads % kvHeads != 0 {
            try fail("model.heads (\(heads)) must be a multiple of model.kvHeads (\(kvHeads)) for grouped-query attention")
        }
        if headDim % 2 != 0 {
            try fail("head dimension dim/heads = \(headDim) must be even for RoPE")
        }
    }

    /// The benchmark reference: 6 layers, d 256, 8 heads, vocab 8192, sequence 256.
    public static let benchReference = ModelConfig(
        vocabSize: 8192, dim: 256, layers: 6, heads: 8, kvHeads: 8, ffnDim: 768, maxSeqLen: 256)
}

/// A model configuration that cannot be built.
public struct ModelConfigError: Error, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public let message: String
    public var description: String { message }
}
