import Foundation

/// A rough estimate of the memory one process holding every role needs for a
/// run on the built-in tiny model, so that a config no machine can hold is
/// refused with its arithmetic instead of dying of an allocation failure or
/// the OOM killer minutes later. Pure: the caller supplies the machine's RAM.
///
/// All tensors are fp32 (`bytesPerFloat`). With V = vocabulary, D = `dim`,
/// L = `layers`, H = `heads`, K = `kv_heads` × `dim`/`heads` (key/value width),
/// F = `ffn_dim`, T = `data.max_prompt_length` + `data.max_response_length`:
/// - parameters: 2·V·D (embedding and untied head) + L·(2·D² + 2·D·K + 3·D·F + 2·D) + D;
///   gradients the same again; AdamW two moments per parameter;
/// - KV caches: `data.train_batch_size` × `rollout.n` sequences × T tokens × L × K × 2 (keys and values);
/// - activations of one micro-batch (`actor.ppo_micro_batch_size_per_gpu` sequences of T tokens),
///   roughly what backward keeps per token: per layer ten width-D vectors (norms, q, k, v,
///   attention output, residuals), three width-F vectors (gate, up, their product) and H·T
///   attention probabilities; plus the logits and their gradient (2·V).
///
/// It ignores ZeRO-1 sharding and spreads nothing over ranks, so it is what
/// a single-process run needs; ranks sharing a machine need more.
public struct MemoryEstimate: Equatable, Sendable {
    /// Bytes per stored number (fp32).
    public static let bytesPerFloat = 4
    /// Vocabulary assumed when `model.tiny.vocab_size` is null (the tokenizer's;
    /// the built-in character tokenizer has fewer entries).
    public static let assumedVocabSize = 256

    /// Trainable numbers of the model.
    public var parameterCount: Int
    /// Bytes of the parameters.
    public var parameters: Int
    /// Bytes of the gradients.
    public var gradients: Int
    /// Bytes of the two AdamW moments.
    public var adamMoments: Int
    /// Bytes of the KV caches of one rollout batch.
    public var kvCaches: Int
    /// Bytes of the activations of one micro-batch.
    public var activations: Int

    /// The sum of the parts (saturating at `Int.max`).
    public var total: Int { sum(parameters, gradients, adamMoments, kvCaches, activations) }

    /// The estimate for `config`; nil when the model is loaded from `model.path`
    /// (its size is known only once the file is read). Negative settings count as 0;
    /// products saturate at `Int.max` instead of overflowing.
    public init?(config: Config) {
        guard config.model.usesTinyModel else { return nil }
        let t = config.model.tiny
        self.init(config: config, model: ModelDimensions(vocabSize: t.vocabSize ?? Self.assumedVocabSize, dim: t.dim,
                                                         layers: t.layers, heads: t.heads, kvHeads: t.kvHeads, ffnDim: t.ffnDim))
    }

    /// The estimate for `config` training a model of dimensions `model` (a
    /// loaded model's, known once its file is read and before the training
    /// state is allocated).
    public init(config: Config, model m: ModelDimensions) {
        let d = max(0, m.dim), l = max(0, m.layers), h = max(1, m.heads), f = max(0, m.ffnDim)
        let v = max(0, m.vocabSize)
        let kv = mul(max(0, m.kvHeads), d / h)
        let tokens = sum(max(0, config.data.maxPromptLength), max(0, config.data.maxResponseLength))
        let perLayer = sum(mul(2, d, d), mul(2, d, kv), mul(3, d, f), mul(2, d))
        parameterCount = sum(mul(2, v, d), mul(l, perLayer), d)
        parameters = mul(parameterCount, Self.bytesPerFloat)
        gradients = parameters
        adamMoments = mul(2, parameters)
        let sequences = mul(max(0, config.data.trainBatchSize), max(0, config.rollout.n))
        kvCaches = mul(sequences, tokens, l, kv, 2, Self.bytesPerFloat)
        let perToken = sum(mul(l, sum(mul(10, d), mul(3, f), mul(h, tokens))), mul(2, v))
        activations = mul(max(0, config.actor.ppoMicroBatchSizePerGPU), tokens, perToken, Self.bytesPerFloat)
    }

    /// `parameters 1.2 GiB (N numbers), gradients …, …` for messages.
    public var breakdown: String {
        "parameters \(Self.gib(parameters)) (\(parameterCount) numbers × \(Self.bytesPerFloat) bytes), "
            + "gradients \(Self.gib(gradients)), AdamW moments \(Self.gib(adamMoments)), "
            + "KV caches \(Self.gib(kvCaches)), activations \(Self.gib(activations))"
    }

    /// Bytes as `12.35 GiB`.
    public static func gib(_ bytes: Int) -> String {
        String(format: "%.2f GiB", Double(bytes) / Double(1 << 30))
    }
}

/// a·b·… saturating at `Int.max` (all inputs ≥ 0).
private func mul(_ xs: Int...) -> Int {
    xs.reduce(1) { acc, x in
        let (p, overflow) = acc.multipliedReportingOverflow(by: x)
        return overflow ? Int.max : p
    }
}

/// a+b+… saturating at `Int.max` (all inputs ≥ 0).
private func sum(_ xs: Int...) -> Int {
    xs.reduce(0) { acc, x in
        let (s, overflow) = acc.addingReportingOverflow(x)
        return overflow ? Int.max : s
    }
}

/// A model's size as the memory estimate needs it.
public struct ModelDimensions: Equatable, Sendable {
    public var vocabSize: Int, dim: Int, layers: Int, heads: Int, kvHeads: Int, ffnDim: Int

    /// Creates dimensions.
    public init(vocabSize: Int, dim: Int, layers: Int, heads: Int, kvHeads: Int, ffnDim: Int) {
        self.vocabSize = vocabSize; self.dim = dim; self.layers = layers; self.heads = heads
        self.kvHeads = kvHeads; self.ffnDim = ffnDim
    }
}

extension Config {
    /// The problem when training a loaded model of dimensions `model` (`model.path`)
    /// would exceed `memoryBytes`: refused before the gradients, optimizer state
    /// and KV caches are allocated, with the estimate by part.
    public func memoryProblem(model: ModelDimensions, memoryBytes: Int) -> ConfigProblem? {
        let e = MemoryEstimate(config: self, model: model)
        guard e.total > memoryBytes else { return nil }
        return ConfigProblem(
            "training \(self.model.path) (\(e.parameterCount) parameters) needs an estimated \(MemoryEstimate.gib(e.total)) "
                + "of memory but the machine has \(MemoryEstimate.gib(memoryBytes)) of RAM: \(e.breakdown); expected the "
                + "estimate to fit in RAM: lower data.train_batch_size, rollout.n, data.max_response_length or "
                + "actor.ppo_micro_batch_size_per_gpu, keep fewer layers (model.keep_layers), or use a smaller model")
    }

    /// The problem when the tiny model's `MemoryEstimate` exceeds `memoryBytes`
    /// (the machine's RAM), with the estimate broken down by part and the keys to lower.
    func memoryProblem(memoryBytes: Int) -> ConfigProblem? {
        guard let e = MemoryEstimate(config: self), e.total > memoryBytes else { return nil }
        let t = model.tiny, tokens = data.maxPromptLength + data.maxResponseLength
        return ConfigProblem(
            "the run needs an estimated \(MemoryEstimate.gib(e.total)) of memory but the machine has "
                + "\(MemoryEstimate.gib(memoryBytes)) of RAM: \(e.breakdown); KV caches are data.train_batch_size "
                + "(\(data.trainBatchSize)) × rollout.n (\(rollout.n)) sequences × \(tokens) tokens "
                + "(data.max_prompt_length + data.max_response_length) × model.tiny.layers (\(t.layers)) × key/value "
                + "width (\(t.kvHeads * (t.dim / max(1, t.heads)))) × 2 × \(MemoryEstimate.bytesPerFloat) bytes; "
                + "activations are for actor.ppo_micro_batch_size_per_gpu (\(actor.ppoMicroBatchSizePerGPU)) "
                + "sequences; the model is model.tiny.dim (\(t.dim)), model.tiny.layers (\(t.layers)), "
                + "model.tiny.ffn_dim (\(t.ffnDim)); expected the estimate to fit in RAM: lower the largest part")
    }
}
