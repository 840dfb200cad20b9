/// The arm of a `t3s` run (METHODS §4).
public enum T3SArm: String, ConfigChoice {
    /// Plain SFT on the traces (the baseline; also the pre-run that finds θ_b).
    case sft
    /// Restart from θ_0 with cross-entropy on every token except the imitation anchors.
    case t3s
    /// Anti-T3S: the anchors only.
    case anti
    /// A random mask keeping as many tokens as T3S keeps (the control).
    case random
    /// Reverse-residual transplant: θ_0 + (θ_f − θ_b), no second run.
    case rrt
}

/// How the bottleneck checkpoint θ_b is found.
public enum T3SVariant: String, ConfigChoice {
    /// A full pre-run; θ_b = the probe with the lowest training accuracy.
    case offline
    /// Stop the pre-run once training accuracy has risen `t3s.online_rise` above its minimum.
    case online
}

/// `t3s`: Training-Trajectory-Aware Token Selection (`trainer.pipeline=t3s`).
/// The student (`model.path`) is fine-tuned on the traces of `data.train_files`
/// with the `sft` section's steps, batch and learning rate.
public struct T3SConfig: Codable, Equatable, Sendable {
    /// What the run trains: sft | t3s | anti | random | rrt. Default: `t3s`.
    public var arm: T3SArm = .t3s
    /// offline | online. Default: `offline`.
    public var variant: T3SVariant = .offline
    /// Training examples (the first N of the data stream, cycled in seeded epochs). Default: `200`.
    public var examples: Int = 200
    /// SFT steps between two training-accuracy probes (greedy answers). Default: `10`.
    public var probeFreq: Int = 10
    /// Training prompts each probe answers. Default: `64`.
    public var probePrompts: Int = 64
    /// `online`: the rise of training accuracy above its minimum that ends the pre-run. Default: `0.05`.
    public var onlineRise: Double = 0.05

    /// The defaults.
    public init() {}
}
