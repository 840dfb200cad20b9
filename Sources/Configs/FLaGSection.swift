/// `flag`: the FLaG hallucination detector scoring every rollout live (METHODS §7).
/// The head is trained offline (`ispo-cluster detect train`); during RL and
/// evaluation its features are read from the forward that generates each answer.
/// Filter and penalty are off by default: with `flag.enable` alone the score is only logged (`flag/*`).
public struct FLaGConfig: Codable, Equatable, Sendable {
    /// Score every rollout and evaluation answer with the head in `flag.head`; logs `flag/*` and `val-flag/*`. Default: `false`.
    public var enable: Bool = false
    /// The head file written by `ispo-cluster detect train` (checkpoint shard format, Docs/CheckpointFormat.md; the JSON heads of earlier versions are still read). If the head records the `--layer` it was trained at, this must match it. Default: `""`.
    public var head: String = ""
    /// Residual depth the head's hidden states were extracted at (`detect features --layer`); -1 = the final-norm input. Default: `-1`.
    public var layer: Int = -1
    /// A rollout counts as flagged when p(wrong) = σ(−S) exceeds this. Default: `0.5`.
    public var threshold: Double = 0.5
    /// Drop flagged rollouts, and any group that leaves with one rollout, before the advantage (RL; needs `flag.enable`; logs `flag/filtered`). Default: `false`.
    public var filter: Bool = false
    /// λ of the reward term −λ·p(wrong) (RL; needs `flag.enable`; 0 = off). Default: `0.0`.
    public var penalty: Double = 0

    /// The defaults.
    public init() {}
}
