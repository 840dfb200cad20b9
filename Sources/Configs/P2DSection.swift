/// What a `p2d` run trains (METHODS §6).
public enum P2DArm: String, ConfigChoice {
    /// Every parameter on the whole pool: the reference time t_full_sft of AER.
    case full
    /// Every parameter on a random `p2d.data_fraction` of the pool.
    case randomData = "random_data"
    /// The P2D heads on a random `p2d.data_fraction` of the pool.
    case p2dHeadsRandomData = "p2d_heads_random_data"
    /// As many random heads as P2D selects, on the P2D data.
    case randomHeadsP2DData = "random_heads_p2d_data"
    /// The P2D heads on the P2D data.
    case p2d
}

/// How a `p2d` run scores the candidate pool.
public enum P2DDataScore: String, ConfigChoice {
    /// [ours] The in-context gain of a sample as a demonstration on the probe set,
    /// minus the same gain with the selected heads ablated.
    case icl
    /// Cosine between the sample's gradient on the selected heads and the probe set's.
    case gradient
}

/// `p2d`: From Parameters to Data (`trainer.pipeline=p2d`). A proxy fine-tune
/// ranks attention heads; the top heads pick the data; only those heads are
/// trained on it. Training uses the `sft` section's batch and learning rate;
/// `sft.steps` is the `full` arm's length.
public struct P2DConfig: Codable, Equatable, Sendable {
    /// full | random_data | p2d_heads_random_data | random_heads_p2d_data | p2d. Default: `p2d`.
    public var arm: P2DArm = .p2d
    /// Candidate examples (the first N of the data stream). Default: `1000`.
    public var pool: Int = 1000
    /// Examples of the proxy fine-tune (the first of the pool). Default: `100`.
    public var proxyExamples: Int = 100
    /// Steps of the proxy fine-tune. Default: `20`.
    public var proxySteps: Int = 20
    /// The fraction of attention heads selected. Default: `0.1`.
    public var headFraction: Double = 0.1
    /// The fraction of the pool selected. Default: `0.1`.
    public var dataFraction: Double = 0.1
    /// How the pool is scored: icl | gradient. Default: `icl`.
    public var dataScore: P2DDataScore = .icl
    /// Probe examples (the stream's examples after the pool) the scores are measured on. Default: `16`.
    public var probeExamples: Int = 16
    /// Steps of the subset arms; 0 = as many epochs as the `full` arm
    /// (round(sft.steps · p2d.data_fraction), at least 1). Default: `0`.
    public var subsetSteps: Int = 0

    /// The defaults.
    public init() {}
}
