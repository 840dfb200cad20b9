/// `algorithm.adv_estimator`: how rewards become advantages.
public enum AdvantageEstimator: String, ConfigChoice {
    /// Group-relative: (R − mean) / (std + ε) over the G responses of a prompt (METHODS §0).
    case grpo
}

/// `actor.loss_agg_mode`: how per-token losses become one number (verl names).
public enum LossAggMode: String, ConfigChoice {
    /// Mean over all response tokens of the batch (DAPO; default).
    case tokenMean = "token-mean"
    /// Mean over sequences of each sequence's token mean (original GRPO).
    case seqMeanTokenMean = "seq-mean-token-mean"
    /// Token sums divided by the max response length (Dr.GRPO).
    case seqMeanTokenSumNorm = "seq-mean-token-sum-norm"
}

/// `actor.kl_loss_type`: the per-token KL estimator (verl names; raw values
/// match `Objectives.KLEstimator`).
public enum KLLossType: String, ConfigChoice {
    /// k1: log π − log π_ref.
    case kl
    /// k2: ½ (log π − log π_ref)².
    case mse
    /// k3: exp(ref − log π) − (ref − log π) − 1 (low variance; default).
    case lowVarKL = "low_var_kl"

    /// Schulman's estimator names.
    public static var aliases: [String: KLLossType] { ["k1": .kl, "k2": .mse, "k3": .lowVarKL] }
}

/// `actor.optim.lr_scheduler_type`: learning-rate shape after warm-up.
public enum LRSchedulerType: String, ConfigChoice {
    /// Constant after linear warm-up.
    case constant
    /// Cosine decay to `min_lr_ratio` × lr after warm-up.
    case cosine
}

/// `algorithm.ispo.set_mode`: how the two token filters combine (METHODS §1).
public enum ISPOSetMode: String, ConfigChoice {
    /// High entropy AND high drift (the paper's choice).
    case intersection
    /// High entropy OR high drift (ablation).
    case union
}

/// `algorithm.ispo.token_credit`: where ISPO's token reward lands (METHODS §1).
public enum ISPOTokenCredit: String, ConfigChoice {
    /// Added to the rollout's scalar reward, so its advantage covers every token (round one).
    case sequence
    /// A group-centred advantage term λ_t·(r_tok − mean) on the critical tokens only.
    case token
}

/// `algorithm.ispo.drift`: the drift-from-base measure d_t (METHODS §1).
public enum ISPODrift: String, ConfigChoice {
    /// |log π_old(o_t) − log π_base(o_t)| of the sampled token.
    case logprob
    /// Full KL(π_old ‖ π_base) over the vocabulary at position t.
    case kl
}

/// `distillation.mode`: which distillation runs (METHODS §2).
public enum DistillationMode: String, ConfigChoice {
    /// Monitored on-policy generation with teacher backtracking.
    case motab
    /// Off-policy SFT on teacher traces (baseline).
    case sft
    /// Pure on-policy distillation without the monitor (baseline).
    case onPolicy = "on_policy"
}

/// `distillation.trigger`: what MOTAB's monitor watches (METHODS §2).
public enum DistillationTrigger: String, ConfigChoice {
    /// The student's sampling entropy of each of its tokens.
    case student
    /// The teacher's entropy on the student's prefix, scored as the prefix grows.
    case teacher
    /// Both, each with its own boundary; the first stray of either fires.
    case either
    /// Control: no monitor; each student token declares a stray with
    /// probability `distillation.random_rate` (set it to match another arm's
    /// intervention rate), with the same backtrack and intervention.
    case random
    /// Ours: the teacher's surprise at each student token, log π_S(x_t) −
    /// log π_T(x_t) (the student's log-prob as sampled minus the teacher's on
    /// the student's prefix), scored and backtracked as `teacher` is. After a
    /// wrong step the teacher can stay confident (low entropy) while giving
    /// the step itself a low probability (Results-MOTAB §1).
    case teacherLogRatio = "teacher_logratio"

    /// `distillation.teacher_trigger` (the older boolean key, an alias of
    /// `distillation.trigger`): `true` is `teacher`, `false` is `student`.
    public static var aliases: [String: DistillationTrigger] { ["true": .teacher, "false": .student] }

    /// Whether the student-entropy monitor runs.
    public var watchesStudent: Bool { self == .student || self == .either }
    /// Whether the teacher-side monitor runs (on the teacher's entropy, or on the log-ratio).
    public var watchesTeacher: Bool { self == .teacher || self == .either || self == .teacherLogRatio }
    /// Whether the teacher-side monitor is fed log π_S − log π_T instead of the teacher's entropy.
    public var teacherSignalIsLogRatio: Bool { self == .teacherLogRatio }
}

/// `distillation.boundary`: whose statistics MOTAB's boundary τ = μ + k·σ is made of.
public enum DistillationBoundary: String, ConfigChoice {
    /// Each rollout's own accepted tokens (a fresh EMA per rollout; round one).
    case rollout
    /// Statistics kept across rollouts and steps, one set per prompt family
    /// (data source); fixed during a rollout, updated after it.
    case family
    /// The same with one set for every prompt.
    case global
}

/// `merge.merge_method`: mergekit's method names (METHODS §3).
public enum MergeMethod: String, ConfigChoice {
    /// Weighted average of the models (MoT's uniform average by default).
    case linear
    /// base + Σ w_k (θ_k − base).
    case taskArithmetic = "task_arithmetic"
    /// Trim to `density`, elect signs, disjoint merge (TIES).
    case ties
    /// Random drop to `density` with rescale (seeded), then linear.
    case dareLinear = "dare_linear"
    /// Random drop to `density` with rescale (seeded), then TIES sign election.
    case dareTies = "dare_ties"
}

/// `model.dtype`: the compute precision.
public enum ComputeDType: String, ConfigChoice {
    /// 32-bit float (the only compute precision implemented).
    case fp32
}

/// `checkpoint.dtype`: precision of saved parameter shards.
public enum CheckpointDType: String, ConfigChoice {
    /// Exact 32-bit floats.
    case fp32
    /// bfloat16 (half the size).
    case bf16
}

/// `checkpoint.nan_policy`: what a learner does with a non-finite loss or gradient.
public enum NaNPolicy: String, ConfigChoice {
    /// Skip the update, count it in the metrics, continue.
    case skip
    /// Stop the run with an error.
    case stop
}

/// `trainer.pipeline`: which job the binary runs.
public enum Pipeline: String, ConfigChoice {
    /// Reinforcement learning (GRPO family, ISPO).
    case rl
    /// Supervised fine-tuning / distillation.
    case sft
    /// Evaluation only.
    case eval
    /// The built-in tiny demo.
    case demo
    /// On-policy distillation from teacher ranks: MOTAB or its baselines (`distillation.mode`).
    case distill
    /// Merge-of-Thought: teacher-branch fine-tuning merged by allreduce, `merge.rounds` rounds.
    case mot
    /// T3S: SFT with imitation-anchor tokens masked (`t3s.*`).
    case t3s
    /// Token Priority: SFT with signed per-token weights Φ (`priority.*`).
    case priority
    /// P2D: selected heads trained on data selected through them (`p2d.*`).
    case p2d

    /// Whether the derived rank layout needs teacher ranks.
    public var usesTeachers: Bool { self == .distill || self == .mot }
}
