/// How a `priority` run weighs each trace token (METHODS §5).
public enum PriorityMode: String, ConfigChoice {
    /// Φ = 1 on every token: plain SFT, the baseline.
    case uniform
    /// Φ = 0 on the tokens the testbed marks (injected noise, toxic answers), 1 elsewhere: an oracle mask.
    case hard
    /// Rho-1: Φ = 1 on the top `priority.keep_fraction` tokens by excess loss
    /// (loss_student − loss_reference), 0 elsewhere.
    case rho1
    /// Φ = σ(excess loss / `priority.temperature`), rescaled to mean 1.
    case soft
    /// Φ = −1 on the marked tokens (bounded unlikelihood), +1 elsewhere.
    case signed
    /// Φ = 0 on as many tokens as the testbed marks, drawn at random (seeded)
    /// over all trace tokens, 1 elsewhere: the control for `hard`, same ratio, no oracle.
    case random
}

/// The corruption a `priority` run's traces carry ([ours]: the testbeds of METHODS §5).
public enum PriorityTestbed: String, ConfigChoice {
    /// The traces as the data gives them.
    case clean
    /// `priority.noise_rate` of the traces get `priority.noise_tokens` random tokens inserted.
    case noise
    /// `priority.toxic_rate` of the traces end in a wrong answer (the true answer + 1).
    case toxic
}

/// `priority`: SFT with per-token priorities Φ (`trainer.pipeline=priority`).
/// The student (`model.path`, else the tiny model) is fine-tuned on the traces
/// of `data.train_files` with the `sft` section's steps, batch and learning rate.
public struct PriorityConfig: Codable, Equatable, Sendable {
    /// How tokens are weighed: uniform | hard | rho1 | soft | signed | random. Default: `uniform`.
    public var mode: PriorityMode = .uniform
    /// The corruption of the training traces: clean | noise | toxic. Default: `clean`.
    public var testbed: PriorityTestbed = .clean
    /// Training examples (the first N of the data stream, cycled in seeded epochs). Default: `200`.
    public var examples: Int = 200
    /// `noise`: the fraction of traces that get junk tokens. Default: `0.3`.
    public var noiseRate: Double = 0.3
    /// `noise`: junk tokens inserted into each corrupted trace, at seeded positions. Default: `4`.
    public var noiseTokens: Int = 4
    /// `toxic`: the fraction of traces whose answer is replaced by the true answer + 1. Default: `0.3`.
    public var toxicRate: Double = 0.3
    /// `rho1`/`soft`: the reference model, `initial` (the starting student) or a
    /// checkpoint, run directory or model path. Default: `initial`.
    public var reference: String = "initial"
    /// `rho1`: the fraction of trace tokens kept. Default: `0.6`.
    public var keepFraction: Double = 0.6
    /// `rho1`/`soft`: steps between recomputations of the excess loss; 0 = once, before training. Default: `0`.
    public var refresh: Int = 0
    /// `soft`: τ of σ(excess / τ). Default: `0.5`.
    public var temperature: Double = 0.5
    /// SFT steps between two training-accuracy probes (greedy answers). Default: `10`.
    public var probeFreq: Int = 10
    /// Training prompts each probe answers. Default: `64`.
    public var probePrompts: Int = 64

    /// The defaults.
    public init() {}
}
