/// `sft`: the supervised warm start that teaches the answer format before RL
/// (the `demo` pipeline), also the SFT settings of the `mot` branches.
/// `ispo-cluster run --sft-steps/--sft-batch/--sft-lr` set these keys.
public struct SFTConfig: Codable, Equatable, Sendable {
    /// Optimizer steps of the warm start; 0 = none (flag `--sft-steps`). Default: `180`.
    public var steps: Int = 180
    /// Sequences per step, over all learners together (flag `--sft-batch`). Default: `32`.
    public var batchSize: Int = 32
    /// Peak learning rate (5% warm-up, cosine to 10%) (flag `--sft-lr`). Default: `0.003`.
    public var lr: Double = 3e-3
    /// Sequences per forward/backward pass of the t3s, priority and p2d pipelines
    /// (gradients accumulate over a learner's share of the batch; the step is
    /// unchanged, only peak activation memory falls), and per teacher-forced
    /// scoring pass of those pipelines and of `trainer.val_loss_examples`;
    /// 0 = the whole share at once, and 16 sequences per scoring pass. Default: `0`.
    public var microBatchSize: Int = 0
    /// Fraction of warm-start examples written as direct answers with the thinking emptied
    /// (`T:\nA:42`), so ISPO's log π(a | q, ∅) is in distribution (METHODS §1). Default: `0.0`.
    public var directAnswerFrac: Double = 0

    /// The defaults.
    public init() {}
}
