/// `data`: which prompts, how long they may be and how many per step.
public struct DataConfig: Codable, Equatable, Sendable {
    /// Training sources: verl JSONL files (a path ending in `.jsonl` or
    /// containing `/`, relative to the working directory; fields `data_source`,
    /// `prompt`, `reward_model.ground_truth`, `extra_info`), benchmark names
    /// (`gsm8k_train`, `gsm8k`, `math`, `math500`, `svamp`, `asdiv`, `mawps`,
    /// `gsm_hard`), or synthetic families named `synthetic:<family>` (e.g.
    /// `synthetic:addition:3`). A single string is read as a one-element list. Default: `[]`.
    public var trainFiles: [String] = []
    /// Validation sources, in the same forms as `train_files`. Default: `[]`.
    public var valFiles: [String] = []
    /// Field of a JSONL record that holds the prompt. Default: `prompt`.
    public var promptKey: String = "prompt"
    /// How benchmark questions are worded and wrapped for the model.
    public var prompt: PromptConfig = PromptConfig()
    /// Longest prompt, in tokens. Default: `512`.
    public var maxPromptLength: Int = 512
    /// Longest response, in tokens. Default: `256`.
    public var maxResponseLength: Int = 256
    /// Prompts per RL step; each gets `rollout.n` responses. Default: `8`.
    public var trainBatchSize: Int = 8
    /// Validation prompts per source; null = every prompt of a file (and 64 per
    /// synthetic family, an endless stream). Default: `null`.
    public var valBatchSize: Int? = nil
    /// Shuffle the training prompts every epoch. Default: `true`.
    public var shuffle: Bool = true
    /// Seed of the data order; null = `trainer.seed`. Default: `null`.
    public var seed: Int? = nil
    /// Use only the first N samples of each file; -1 = all. Default: `-1`.
    public var maxSamples: Int = -1

    /// The defaults.
    public init() {}
}

/// `model`: what is trained.
public struct ModelConfig: Codable, Equatable, Sendable {
    /// Model to start from: a GGUF file or a Hugging Face (safetensors) folder,
    /// or a checkpoint of a run with the built-in tiny model (`<run>/checkpoints`
    /// or one `global_step_<N>`: its weights start a new run); empty = the
    /// built-in tiny Llama described by `model.tiny`. Default: `""`.
    public var path: String = ""
    /// Keep only this many of the loaded model's layers, evenly spaced with the
    /// first and last included (a smaller student initialised from a larger
    /// model); 0 keeps all. Only with `path`. Default: `0`.
    public var keepLayers: Int = 0
    /// Shape of the built-in tiny Llama (used when `path` is empty).
    public var tiny: TinyModelConfig = TinyModelConfig()
    /// Compute precision. Default: `fp32`.
    public var dtype: ComputeDType = .fp32
    /// Scan the weights of a model loaded from `path` for NaN and infinity and
    /// refuse the model if any is found (one pass over the weights). Default: `true`.
    public var checkFinite: Bool = true

    /// The defaults.
    public init() {}

    /// True when the built-in tiny model is used (`path` is empty).
    public var usesTinyModel: Bool { path.isEmpty }
}

/// `model.tiny`: the built-in Llama-family model trained from scratch.
public struct TinyModelConfig: Codable, Equatable, Sendable {
    /// Vocabulary size; null = the tokenizer's. Default: `null`.
    public var vocabSize: Int? = nil
    /// Model width (embedding size). Default: `128`.
    public var dim: Int = 128
    /// Transformer blocks. Default: `4`.
    public var layers: Int = 4
    /// Query heads; must divide `dim`. Default: `4`.
    public var heads: Int = 4
    /// Key/value heads (grouped-query attention); must divide `heads`. Default: `2`.
    public var kvHeads: Int = 2
    /// Hidden width of the SwiGLU feed-forward. Default: `384`.
    public var ffnDim: Int = 384
    /// Longest sequence (prompt + response) the model handles. Default: `96`.
    public var maxSeqLen: Int = 96
    /// RoPE base frequency θ. Default: `10000.0`.
    public var ropeTheta: Double = 10000

    /// The defaults.
    public init() {}
}

/// `rollout`: how responses are sampled.
public struct RolloutConfig: Codable, Equatable, Sendable {
    /// G, responses sampled per prompt (TRL `num_generations`); ≥ 2 for GRPO. Default: `8`.
    public var n: Int = 8
    /// Sampling temperature. Default: `1.0`.
    public var temperature: Double = 1
    /// Nucleus sampling mass; 1 = off. Default: `1.0`.
    public var topP: Double = 1
    /// Tokens to generate at most; null = `data.max_response_length`. Default: `null`.
    public var maxNewTokens: Int? = nil
    /// Sequences per forward pass when scoring log-probs; null =
    /// `actor.ppo_micro_batch_size_per_gpu`. Default: `null`.
    public var logProbMicroBatchSize: Int? = nil
    /// Sampling used for validation.
    public var valKwargs: ValKwargs = ValKwargs()

    /// The defaults.
    public init() {}

    /// The generation limit in tokens: `max_new_tokens`, else `data.max_response_length`.
    public func generationLimit(data: DataConfig) -> Int { maxNewTokens ?? data.maxResponseLength }
}

/// `rollout.val_kwargs`: sampling for validation.
public struct ValKwargs: Codable, Equatable, Sendable {
    /// Responses per validation prompt (the N of `mean@N`). Default: `1`.
    public var n: Int = 1
    /// Temperature when not greedy. Default: `1.0`.
    public var temperature: Double = 1
    /// Greedy decoding (argmax); temperature and top_p are then ignored. Default: `true`.
    public var greedy: Bool = true
    /// Nucleus sampling mass when not greedy. Default: `1.0`.
    public var topP: Double = 1
    /// With `greedy` false: each evaluation also decodes one greedy answer per
    /// prompt, logged as `val-core/<source>/acc/greedy@1` and
    /// `val-core/all/acc/greedy@1` next to the sampled `mean@N`, `pass@k` and
    /// `maj@N` (whose values it does not change). The greedy answers go into
    /// the `trainer.dump_rollouts` file after the sampled ones, every line then
    /// carrying `pass` (`sampled` or `greedy`). Not allowed with `greedy` true,
    /// where `mean@N` already is greedy pass@1. Default: `false`.
    public var greedyPass: Bool = false
    /// Validation prompts a rollout rank decodes at once, each with its KV cache of
    /// `data.max_prompt_length` + `data.max_response_length` positions (vLLM's
    /// max_num_seqs); the answers and seeds do not depend on it. 0 = its whole
    /// share at once. Default: `0`.
    public var maxBatch: Int = 0

    /// The defaults.
    public init() {}
}
