/// `actor` (alias section `learner`): the policy update.
public struct ActorConfig: Codable, Equatable, Sendable {
    /// Prompts per optimizer step (verl semantics: × `rollout.n` responses);
    /// must divide `data.train_batch_size`. Default: `8`.
    public var ppoMiniBatchSize: Int = 8
    /// Responses per forward/backward pass on one learner (alias
    /// `ppo_micro_batch_size`); gradients accumulate over micro-batches. Default: `4`.
    public var ppoMicroBatchSizePerGPU: Int = 4
    /// Passes over each step's responses. Default: `1`.
    public var ppoEpochs: Int = 1
    /// ε_low: the ratio is clipped below at 1 − ε_low (TRL `epsilon`). Default: `0.2`.
    public var clipRatioLow: Double = 0.2
    /// ε_high: the ratio is clipped above at 1 + ε_high (DAPO clip-higher; TRL `epsilon_high`). Default: `0.28`.
    public var clipRatioHigh: Double = 0.28
    /// Dual-clip bound c > 1: for negative advantages the token loss is at most −c·Â. Default: `3.0`.
    public var clipRatioC: Double = 3
    /// How token losses are aggregated. Default: `token-mean`.
    public var lossAggMode: LossAggMode = .tokenMean
    /// Entropy bonus coefficient (the loss gets −coeff · H_t). Default: `0.0`.
    public var entropyCoeff: Double = 0
    /// Add a KL-to-reference term to the loss. Default: `false`.
    public var useKLLoss: Bool = false
    /// β, weight of the KL term (TRL `beta`); needs `use_kl_loss`. Default: `0.0`.
    public var klLossCoef: Double = 0
    /// KL estimator: `low_var_kl` (k3), `kl` (k1) or `mse` (k2). Default: `low_var_kl`.
    public var klLossType: KLLossType = .lowVarKL
    /// Global gradient-norm clip; 0 = off. Default: `1.0`.
    public var gradClip: Double = 1
    /// AdamW and the learning-rate schedule.
    public var optim: OptimConfig = OptimConfig()
    /// ZeRO stage: 0 = every learner holds all optimizer state, 1 = AdamW moments sharded. Default: `1`.
    public var zeroStage: Int = 1

    /// The defaults.
    public init() {}
}

/// `actor.optim`: AdamW and its schedule.
public struct OptimConfig: Codable, Equatable, Sendable {
    /// Peak learning rate. Default: `1e-05`.
    public var lr: Double = 1e-5
    /// Decoupled weight decay (AdamW). Default: `0.01`.
    public var weightDecay: Double = 0.01
    /// Adam β1, β2. Default: `[0.9, 0.999]`.
    public var betas: [Double] = [0.9, 0.999]
    /// Adam ε. Default: `1e-08`.
    public var eps: Double = 1e-8
    /// Linear warm-up steps; 0 = use `lr_warmup_steps_ratio`. Default: `0`.
    public var lrWarmupSteps: Int = 0
    /// Warm-up as a fraction of the total steps (when `lr_warmup_steps` is 0). Default: `0.0`.
    public var lrWarmupStepsRatio: Double = 0
    /// Cosine floor as a fraction of `lr`. Default: `0.0`.
    public var minLrRatio: Double = 0
    /// Schedule after warm-up (verl's older name: `warmup_style`). Default: `constant`.
    public var lrSchedulerType: LRSchedulerType = .constant

    /// The defaults.
    public init() {}
}

/// `algorithm`: advantages and the ISPO reward.
public struct AlgorithmConfig: Codable, Equatable, Sendable {
    /// Advantage estimator. Default: `grpo`.
    public var advEstimator: AdvantageEstimator = .grpo
    /// Divide group advantages by the group std; false = Dr.GRPO (R − mean). Default: `true`.
    public var normAdvByStdInGRPO: Bool = true
    /// σ_min, a floor under the group std when dividing by it: Â = (R − mean) / (max(std, σ_min) + ε).
    /// Keeps small reward differences (ISPO's intrinsic terms in an all-wrong group) from becoming
    /// unit-size advantages; 0 = plain GRPO. Dr.GRPO is `norm_adv_by_std_in_grpo=false` with
    /// `actor.loss_agg_mode=seq-mean-token-sum-norm`. Default: `0.0`.
    public var advStdFloor: Double = 0
    /// DAPO dynamic sampling: drop groups whose rewards are all equal and refill.
    public var filterGroups: FilterGroupsConfig = FilterGroupsConfig()
    /// ISPO's intrinsic-signal reward (METHODS §1).
    public var ispo: ISPOConfig = ISPOConfig()

    /// The defaults.
    public init() {}
}

/// `algorithm.filter_groups`: DAPO dynamic sampling.
public struct FilterGroupsConfig: Codable, Equatable, Sendable {
    /// Drop zero-variance groups and sample more prompts to refill the batch. Default: `false`.
    public var enable: Bool = false
    /// Per-response value whose group variance decides (`acc`, `score`, `seq_reward`, `seq_final_reward`). Default: `acc`.
    public var metric: String = "acc"
    /// Generation rounds per step before giving up on refilling; 0 = unlimited. Default: `0`.
    public var maxNumGenBatches: Int = 0

    /// The defaults.
    public init() {}

    /// The metrics `metric` may name (verl's).
    public static let metrics = ["acc", "score", "seq_reward", "seq_final_reward"]
}

/// `algorithm.ispo`: Intrinsic Signal Policy Optimization, every constant of METHODS §1.
public struct ISPOConfig: Codable, Equatable, Sendable {
    /// Replace the binary reward by ISPO's composite reward. Default: `false`.
    public var enable: Bool = false
    /// Compute the signals and log the `ispo/*` diagnostics without changing
    /// the reward (for GRPO baselines); implied by `enable`. Default: `false`.
    public var diagnostics: Bool = false
    /// λ_s, weight of the sequence signal r_seq. Default: `0.2`.
    public var lambdaSeq: Double = 0.2
    /// λ_t, weight of the directional token reward r_tok. Default: `0.2`.
    public var lambdaTok: Double = 0.2
    /// ρ_H, fraction of a rollout's tokens kept by the entropy filter. Default: `0.2`.
    public var rhoEntropy: Double = 0.2
    /// ρ_Δ, fraction of a rollout's tokens kept by the drift-from-base filter. Default: `0.2`.
    public var rhoDrift: Double = 0.2
    /// How the two filters combine into the critical set C. Default: `intersection`.
    public var setMode: ISPOSetMode = .intersection
    /// Drift measure d_t. Default: `logprob`.
    public var drift: ISPODrift = .logprob
    /// κ, confidence above which a wrong rollout's token is penalized by the hinge. Default: `0.7`.
    public var kappa: Double = 0.7
    /// γ, weight of the hinge penalty γ·max(0, π(o_t) − κ). Default: `1.0`.
    public var gamma: Double = 1
    /// Use the sequence signal r_seq (ablation switch). Default: `true`.
    public var sequenceSignal: Bool = true
    /// Use the token reward r_tok (ablation switch). Default: `true`.
    public var tokenReward: Bool = true
    /// Asymmetric token reward (correct: confidence; wrong: entropy − hinge); false = symmetric. Default: `true`.
    public var asymmetric: Bool = true
    /// Apply the hallucinated-certainty hinge on wrong rollouts (ablation switch). Default: `true`.
    public var hinge: Bool = true
    /// Where the token reward goes: `sequence` (into the scalar reward, round one) or
    /// `token` (an advantage term on the critical tokens only). Default: `sequence`.
    public var tokenCredit: ISPOTokenCredit = .sequence
    /// Centre the sequence signal: r_seq = (2R_o − 1)·tanh((I − μ_I)/s) with μ_I the
    /// running mean of I; false = tanh(I/s) (round one). Default: `false`.
    public var centreSequence: Bool = false
    /// The jitter control arm: GRPO's outcome reward plus seeded Gaussian noise whose
    /// variance matches, each step, the pooled within-group variance of ISPO's intrinsic
    /// terms λ_s·r_seq + λ_t·r_tok (computed as diagnostics); excludes `enable`. Default: `false`.
    public var jitterControl: Bool = false
    /// Answer-token probability above which a wrong answer counts as a
    /// hallucinated certainty in the diagnostics. Default: `0.9`.
    public var certaintyThreshold: Double = 0.9

    /// The defaults.
    public init() {}

    /// The largest λ_s + λ_t for which every correct rollout still outranks every wrong one.
    public static let maxLambdaSum = 0.4

    /// Whether the signals are computed at all (`enable` or `diagnostics`).
    public var computesSignals: Bool { enable || diagnostics || jitterControl }
}

/// `reward`: shaping of the verifier's outcome.
public struct RewardConfig: Codable, Equatable, Sendable {
    /// DAPO soft overlong punishment.
    public var overlongBuffer: OverlongBufferConfig = OverlongBufferConfig()
    /// Time limit of one verifier check, in seconds; a timeout scores 0 and is counted. Default: `1.0`.
    public var timeoutSeconds: Double = 1
    /// Reward added when the answer is well-formed (extractable), even if wrong. Default: `0.0`.
    public var formatReward: Double = 0

    /// The defaults.
    public init() {}
}

/// `reward.overlong_buffer` (verl `reward_model.overlong_buffer`): DAPO's soft length penalty.
public struct OverlongBufferConfig: Codable, Equatable, Sendable {
    /// Penalize responses that enter the last `len` tokens before the length limit. Default: `false`.
    public var enable: Bool = false
    /// Buffer length in tokens; the penalty grows linearly across it. Default: `64`.
    public var len: Int = 64
    /// Penalty at the hard limit (reward − factor at the last token). Default: `1.0`.
    public var penaltyFactor: Double = 1

    /// The defaults.
    public init() {}
}
