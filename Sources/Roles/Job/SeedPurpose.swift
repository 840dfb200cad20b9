/// What a random stream is for. Every stream of a run is
/// `SeedMixer.derive(run:step:sample:purpose:)` of the run seed and one of
/// these values, so two streams never share a seed and a value, once given,
/// never changes (checkpoints and results depend on it).
enum SeedPurpose: UInt64 {
    /// Training rollouts of RL and on-policy distillation (per sample).
    case rollout = 0
    /// The tiny model's initial weights.
    case initialization = 1
    /// The supervised warm start's prompts.
    case warmStartData = 7
    /// Validation generations.
    case evaluation = 9
    /// Teacher traces of the `distill` pipeline's `sft` mode.
    case distillTeacherTraces = 11
    /// MoT: the trace prompts and the teachers' greedy traces.
    case motTraces = 21
    /// MoT: a branch's batch order in a round.
    case motBranchOrder = 31
    /// MoT baselines (single teacher, union): the batch order in a round.
    case motBaselineOrder = 32
    /// MoT: the permutation of one epoch over a branch's traces.
    case motEpochPermutation = 33
    /// T3S: the epoch permutations of the training examples.
    case t3sOrder = 41
    /// T3S: the random-mask control.
    case t3sRandomMask = 42
    /// Token Priority: which traces the testbed corrupts, and the junk tokens.
    case priorityCorruption = 51
    /// Token Priority: the `random` mode's mask.
    case priorityRandomMask = 52
    /// P2D: the random-data and random-heads controls.
    case p2dRandomControl = 61
}

/// How the training prompt stream is indexed: step k's generation batches
/// draw batches k·`batchesPerStep` + 0, 1, … (dynamic sampling refills with
/// at most this many), so every step's prompts are a pure function of the
/// seed and the step, whatever the pipeline.
enum PromptStream {
    /// Generation batches a step may draw before the next step's first one.
    static let batchesPerStep = 64

    /// The stream index of step `step`'s first generation batch.
    static func firstBatch(ofStep step: Int) -> Int { step * batchesPerStep }
}
