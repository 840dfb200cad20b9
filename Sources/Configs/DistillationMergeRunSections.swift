/// `distillation`: MOTAB on-policy distillation and its baselines (METHODS §2).
public struct DistillationConfig: Codable, Equatable, Sendable {
    /// Which distillation runs. Default: `motab`.
    public var mode: DistillationMode = .motab
    /// w, tokens in the windowed student entropy Ĥ_t. Default: `16`.
    public var window: Int = 16
    /// Decay of the EMA of accepted-token entropy (mean and variance). Default: `0.99`.
    public var emaDecay: Double = 0.99
    /// k, the boundary is τ = μ + k·σ. Default: `2.0`.
    public var k: Double = 2
    /// m, consecutive tokens above τ that make a stray. Default: `4`.
    public var consecutive: Int = 4
    /// N_max, teacher interventions per rollout at most. Default: `4`.
    public var maxInterventions: Int = 4
    /// L_T, tokens the teacher may write per intervention. Default: `64`.
    public var teacherMaxTokens: Int = 64
    /// α, weight of the cross-entropy on teacher tokens. Default: `1.0`.
    public var alpha: Double = 1
    /// What the monitor watches: `student` (its sampling entropy),
    /// `teacher` (the teacher's entropy on the student's prefix, scored at each
    /// step boundary or every w tokens; same w, EMA boundary, k, m, backtrack
    /// and N_max), `teacher_logratio` (ours: log π_S − log π_T of each student
    /// token, the teacher's surprise, scored the same way), `either` (student
    /// and teacher entropy, each with its own boundary) or `random` (the
    /// control: no monitor, a stray at each student token with probability
    /// `random_rate`). The older `teacher_trigger: true` / `false` means
    /// `teacher` / `student`. Default: `student`.
    public var trigger: DistillationTrigger = .student
    /// Where the boundary's statistics come from: `rollout` (a fresh EMA over
    /// each rollout's accepted tokens), `family` (kept across rollouts and steps
    /// on each rollout rank, one set per prompt family, fixed during a rollout
    /// and updated after it with its kept student tokens) or `global` (the same,
    /// one set for all prompts). Default: `rollout`.
    public var boundary: DistillationBoundary = .rollout
    /// Decay per token of the persistent statistics (`boundary` `family` or
    /// `global`); 0.999 remembers about a thousand tokens. Default: `0.999`.
    public var boundaryDecay: Double = 0.999
    /// `trigger=random`: probability that a student token declares a stray. To
    /// match an arm with R interventions per rollout over L student tokens, use
    /// about R / L. Default: `0.02`.
    public var randomRate: Double = 0.02
    /// The teachers' models, one per teacher rank in rank order (a run's
    /// checkpoint directory, a GGUF or safetensors file, or a Hugging Face
    /// folder); used by the `distill` and `mot` pipelines. Default: `[]`.
    public var teacherModels: [String] = []
    /// Reverse-KL estimator on student tokens: `full` (the teacher's whole
    /// distribution per position) or `sampled` (log π_S − log π_T of the sampled
    /// token as a policy-gradient reward). Default: `full`.
    public var estimator: String = "full"

    /// The defaults.
    public init() {}
}

/// `merge`: Merge-of-Thought rounds, in mergekit's schema (METHODS §3).
public struct MergeConfig: Codable, Equatable, Sendable {
    /// mergekit method. Default: `linear`.
    public var mergeMethod: MergeMethod = .linear
    /// The models (branches) and their parameters; empty = every teacher
    /// branch with equal weight. Default: `[]`.
    public var models: [MergeModel] = []
    /// Reference model for task vectors (`task_arithmetic`, `ties`, `dare_*`);
    /// null = the student at the start of the round. Default: `null`.
    public var baseModel: String? = nil
    /// Parameters for every model unless a model sets its own.
    public var parameters: MergeParameters = MergeParameters()
    /// mergekit's `dtype` (`float32`, `float16`, `bfloat16`): merging is always done in fp32;
    /// `ispo-cluster merge` writes its output in this dtype unless `out_dtype` is set. Default: `float32`.
    public var dtype: String = "float32"
    /// mergekit's `out_dtype`: dtype of the file `ispo-cluster merge` writes; null = `dtype`. Default: `null`.
    public var outDtype: String? = nil
    /// mergekit's `tokenizer_source` (`ispo-cluster merge` only): `base` (the base model's, else the
    /// first model's tokenizer), or a model path whose tokenizer has the same vocabulary; null = the
    /// base's tokenizer files copied as they are. Default: `null`.
    public var tokenizerSource: String? = nil
    /// mergekit's `chat_template` (`ispo-cluster merge` only): a Jinja template, or `auto` (the
    /// template most of the models carry), written to `chat_template.jinja`. Default: `null`.
    public var chatTemplate: String? = nil
    /// T, merge rounds. Default: `3`.
    public var rounds: Int = 3
    /// E, epochs each branch trains on its teacher's traces per round. Default: `1`.
    public var epochsPerRound: Int = 1
    /// Seed of DARE's random drops; null = `trainer.seed`. Default: `null`.
    public var seed: Int? = nil
    /// What the `mot` pipeline trains: `none` (Merge-of-Thought), or a baseline:
    /// `teacher` (one single-teacher run on teacher `teacher_index`'s traces; the
    /// best of K such runs is the best-single-teacher baseline), `most_traces`
    /// (the teacher with the most correct traces, ties to the lower index; the
    /// older name `single`), `union` (all teachers' traces pooled). Default: `none`.
    public var baseline: MoTBaseline = .none
    /// `baseline=teacher`: which teacher's traces (0-based, in rank order). Default: `0`.
    public var teacherIndex: Int = 0
    /// A baseline's optimizer steps per round: `steps` (as many as all MoT
    /// branches together take: equal total steps) or `epochs` (E epochs over
    /// its own traces: equal epochs). Default: `steps`.
    public var baselineBudget: MoTBaselineBudget = .steps
    /// Mechanism measurements after every round when > 0: each branch's greedy
    /// accuracy on this many validation prompts per family (before the merge),
    /// and the loss barrier between branches 0 and 1 on this many traces per
    /// teacher. Default: `0`.
    public var probePrompts: Int = 0
    /// Prompts each teacher writes traces for (the same prompts for every teacher;
    /// incorrect traces are dropped unless `keep_wrong_traces`). Default: `256`.
    public var tracePrompts: Int = 256
    /// Keep a teacher's traces whose answer does not verify as well (unfiltered
    /// traces: a teacher at 90 % then trains its branch on 10 % wrong traces);
    /// `mot/teacher_<k>/trace_acc` still counts the correct ones. Default: `false`.
    public var keepWrongTraces: Bool = false

    /// The defaults.
    public init() {}
}

/// `merge.baseline`: Merge-of-Thought or one of its baselines (METHODS §3).
public enum MoTBaseline: String, ConfigChoice {
    /// Merge-of-Thought: K branches, one per teacher, merged every round.
    case none
    /// One student trained on the traces of teacher `merge.teacher_index`.
    case teacher
    /// One student trained on the traces of the teacher with the most correct
    /// traces (not the best single-teacher run: that is the best `teacher` run).
    case mostTraces = "most_traces"
    /// One student trained on the union of all teachers' traces.
    case union

    /// `single`, the older name of `most_traces`.
    public static var aliases: [String: MoTBaseline] { ["single": .mostTraces] }
}

/// `merge.baseline_budget`: a baseline's optimizer steps per round.
public enum MoTBaselineBudget: String, ConfigChoice {
    /// As many as all MoT branches together (equal total steps).
    case steps
    /// E epochs over its own traces (equal epochs).
    case epochs
}

/// One entry of `merge.models` (mergekit: `- model: … parameters: {…}`).
public struct MergeModel: Codable, Equatable, Sendable {
    /// Model name or path (a teacher branch name in a MoT run). Default: `""`.
    public var model: String = ""
    /// Per-model parameters; unset ones fall back to `merge.parameters`.
    public var parameters: MergeParameters = MergeParameters()

    /// The defaults.
    public init() {}

    /// A model with the given parameters.
    public init(model: String, weight: Double? = nil, density: Double? = nil) {
        self.model = model
        parameters.weight = weight
        parameters.density = density
    }
}

/// mergekit `parameters` (scalars only; per-layer gradients are not supported).
public struct MergeParameters: Codable, Equatable, Sendable {
    /// Relative weight of a model (negative subtracts its task vector); null = equal weights. Default: `null`.
    public var weight: Double? = nil
    /// Fraction of task-vector entries kept (`ties`, `dare_*`), in (0, 1]; null = 1. Default: `null`.
    public var density: Double? = nil
    /// Divide by the sum of weights (method-level, top-level `parameters` only); null = mergekit's
    /// default for the method (true for `linear` and `ties`, false otherwise). Default: `null`.
    public var normalize: Bool? = nil
    /// Scale of the merged task vector (`task_arithmetic`, `ties`, `dare_*`; method-level); null = 1. Default: `null`.
    public var lambda: Double? = nil
    /// After sparsifying (`ties`, `dare_*`), scale each tensor's kept task-vector entries back to its L1
    /// norm (method-level); null = mergekit's default (true for `dare_*`, false for `ties`). Default: `null`.
    public var rescale: Bool? = nil
    /// mergekit memory option; accepted for compatibility, no effect. Default: `null`.
    public var int8Mask: Bool? = nil

    /// The defaults.
    public init() {}
}

/// `checkpoint`: when and how runs are saved and resumed.
public struct CheckpointConfig: Codable, Equatable, Sendable {
    /// Save every N steps; -1 = never. Default: `-1`.
    public var saveFreq: Int = -1
    /// `auto` (resume from the latest checkpoint of the run if any), `disable`,
    /// or a checkpoint directory path. Default: `auto`.
    public var resumeMode: String = "auto"
    /// Keep the newest N checkpoints; 0 = keep all. Default: `3`.
    public var keepLast: Int = 3
    /// Also keep the N best by `best_metric`; 0 = none. Default: `0`.
    public var keepBest: Int = 0
    /// Metric key (higher is better, e.g. `val-core/addition/acc/mean@1`) ranking
    /// checkpoints for `keep_best`; empty = none. Default: `""`.
    public var bestMetric: String = ""
    /// Precision of saved parameters. Default: `fp32`.
    public var dtype: CheckpointDType = .fp32
    /// Byte-shuffle floats before zstd (smaller files). Default: `true`.
    public var shuffleBytes: Bool = true
    /// What to do with a non-finite loss or gradient. Default: `skip`.
    public var nanPolicy: NaNPolicy = .skip
    /// Seconds every rank may wait for the others while a checkpoint is written; on expiry the job
    /// aborts naming the ranks that did not respond (the previous checkpoint stays valid); 0 = no limit. Default: `600`.
    public var writeTimeoutS: Double = 600
    /// Dotted config keys a resume may change beyond the always-allowed ones
    /// (learning rate and schedule, lengths of the run, logging, saving, cluster
    /// layout, timeouts); a key ending in `.*` allows its whole subtree. Each
    /// allowed change is printed. Default: `[]`.
    public var allowConfigChange: [String] = []

    /// The defaults.
    public init() {}
}

/// `trainer` (alias section `logger`): the run as a whole.
public struct TrainerConfig: Codable, Equatable, Sendable {
    /// Project name in metrics and logs. Default: `ispo-cluster`.
    public var projectName: String = "ispo-cluster"
    /// Experiment (run) name. Default: `default`.
    public var experimentName: String = "default"
    /// Run directory; empty = `runs/<experiment_name>`. Default: `""`.
    public var defaultLocalDir: String = ""
    /// RL steps to run (alias `total_training_steps`); null = `total_epochs` passes over the data. Default: `null`.
    public var totalSteps: Int? = nil
    /// Passes over the training data when `total_steps` is null. Default: `1`.
    public var totalEpochs: Int = 1
    /// Validate every N steps; -1 = never. Default: `-1`.
    public var testFreq: Int = -1
    /// Validate once before the first step. Default: `true`.
    public var valBeforeTrain: Bool = true
    /// Write a metrics line every N steps. Default: `1`.
    public var logFreq: Int = 1
    /// Per validation source, the first N prompts whose reference completion (the
    /// data set's worked solution, or the synthetic trace) each evaluation scores by
    /// teacher-forced mean per-token loss, logged as `val-aux/<source>/ref_loss` and
    /// `val-core/all/ref_loss` (what TRL calls eval_loss); with `dump_rollouts` each
    /// completion's summed loss also goes to `<run>/ref_loss/<step>.jsonl`; 0 = off. Default: `0`.
    public var valLossExamples: Int = 0
    /// Write the training rollouts to `<run>/rollouts/<step>.jsonl` and every
    /// validation generation (prompt, response, ground_truth, data_source,
    /// correct, extracted, step) to `<run>/generations/<step>.jsonl`. Default: `true`.
    public var dumpRollouts: Bool = true
    /// Seconds a step (and, separately, an evaluation) may take before a rank that waits for a
    /// frozen or cut-off rank aborts the job, naming it; 0 = no limit. Default: `1800`.
    public var stepTimeoutS: Double = 1800
    /// The same for the start-up (model and teacher loading, resume, warm start) together with
    /// the first step; null = 3 × `step_timeout_s`. Default: `null`.
    public var firstStepTimeoutS: Double? = nil
    /// Seconds after SIGUSR1, SIGTERM or SIGINT within which the current step must end and its
    /// checkpoint be written; past it the job exits without a new checkpoint. Default: `120`.
    public var signalGraceS: Double = 120
    /// Seed of the run (top-level alias `seed`); every stream derives from it. Default: `1`.
    public var seed: Int = 1
    /// Which job runs. Default: `rl`.
    public var pipeline: Pipeline = .rl

    /// The defaults.
    public init() {}

    /// The run directory: `default_local_dir`, or `runs/<experiment_name>` when empty.
    public var runDirectory: String { defaultLocalDir.isEmpty ? "runs/\(experimentName)" : defaultLocalDir }

    /// The budget of the start-up and first step: `first_step_timeout_s`, or 3 × `step_timeout_s` when null.
    public var firstStepBudgetS: Double { firstStepTimeoutS ?? 3 * stepTimeoutS }
}

/// `cluster`: which rank plays which role.
public struct ClusterConfig: Codable, Equatable, Sendable {
    /// Rank layout: a name in `Cluster/` (e.g. `rl-8`) or a YAML path; empty = derived
    /// from the world size and the pipeline. Default: `""`.
    public var layout: String = ""
    /// Learner ranks; 0 = derive. Default: `0`.
    public var learners: Int = 0
    /// Rollout-worker ranks; 0 = derive. Default: `0`.
    public var rolloutWorkers: Int = 0
    /// Teacher ranks; 0 = derive. Default: `0`.
    public var teachers: Int = 0
    /// BLAS/worker threads per rank; 0 = automatic. Default: `0`.
    public var threadsPerRank: Int = 0

    /// The defaults.
    public init() {}
}

extension MergeConfig {
    /// Spellings accepted by `merge.dtype` and `merge.out_dtype` (mergekit's and the short ones).
    public static let dtypeSpellings = ["float32", "fp32", "float16", "fp16", "half", "bfloat16", "bf16"]
}
