import Configs
import Objectives
import Transformer

/// MOTAB's generation settings (METHODS.md §2; `distillation.*`).
public struct MotabSettings: Equatable, Sendable {
    /// The entropy monitor (w, d, k, m, warm-up); the teacher-entropy monitor
    /// uses the same settings with its own statistics.
    public var monitor: EntropyMonitorSettings
    /// N_max, interventions per rollout at most.
    public var maxInterventions: Int
    /// L_T, tokens per intervention at most.
    public var teacherMaxTokens: Int
    /// Tokens that end a reasoning step (`;` and newline for synthetic traces).
    public var boundaryTokens: Set<Int32>
    /// false = pure on-policy baseline: no monitor, no intervention (the
    /// tokens are then exactly `Model.generate`'s for the same seeds).
    public var monitorEnabled: Bool
    /// Whose entropy is monitored (`distillation.trigger`): the student's
    /// sampling entropy, the teacher's entropy on the student's prefix, or both.
    public var trigger: DistillationTrigger
    /// Teacher trigger: a sequence's tokens not yet scored go to the teacher
    /// (one score request per decode step for every such sequence) at each
    /// step boundary, when this many are waiting, and before the sequence
    /// ends; nil = w. Smaller = earlier detection (shallower rollbacks), more requests.
    public var teacherScoreEvery: Int?
    /// `distillation.trigger=random`: probability that a student token declares a stray.
    public var randomRate: Double = 0
    /// Where the monitors' statistics come from (`distillation.boundary`); with
    /// `family` / `global` the caller passes priors and `monitor.frozen` is set.
    public var boundary: DistillationBoundary = .rollout

    /// Creates settings.
    public init(monitor: EntropyMonitorSettings = EntropyMonitorSettings(), maxInterventions: Int = 4,
                teacherMaxTokens: Int = 64, boundaryTokens: Set<Int32>, monitorEnabled: Bool = true,
                trigger: DistillationTrigger = .student, teacherScoreEvery: Int? = nil) {
        precondition(maxInterventions >= 0 && teacherMaxTokens >= 0, "MotabSettings: N_max and L_T must be ≥ 0")
        precondition((teacherScoreEvery ?? 1) >= 1, "MotabSettings: teacherScoreEvery must be ≥ 1, found \(teacherScoreEvery!)")
        self.monitor = monitor; self.maxInterventions = maxInterventions; self.teacherMaxTokens = teacherMaxTokens
        self.boundaryTokens = boundaryTokens; self.monitorEnabled = monitorEnabled
        self.trigger = trigger; self.teacherScoreEvery = teacherScoreEvery
    }

    /// From the `distillation` section; `on_policy` turns the monitor off.
    /// `boundaryTokens`: the ids of the step separators in the job's tokenizer.
    public init(config c: DistillationConfig, boundaryTokens: Set<Int32>) {
        var monitor = EntropyMonitorSettings(window: c.window, emaDecay: c.emaDecay, k: c.k, consecutive: c.consecutive)
        monitor.frozen = c.boundary != .rollout
        self.init(monitor: monitor, maxInterventions: c.maxInterventions, teacherMaxTokens: c.teacherMaxTokens,
                  boundaryTokens: boundaryTokens, monitorEnabled: c.mode == .motab, trigger: c.trigger)
        randomRate = c.randomRate
        boundary = c.boundary
    }

    /// Tokens waiting for the teacher that make a score request on their own.
    public var teacherScoreInterval: Int { teacherScoreEvery ?? monitor.window }
}

/// Which monitor fired an intervention.
public enum MotabTriggerSource: Equatable, Sendable {
    /// The student's sampling entropy crossed its boundary.
    case student
    /// The teacher's entropy on the student's prefix crossed its boundary.
    case teacher
    /// The random trigger's coin (`distillation.trigger=random`, a control).
    case random
}

/// One teacher intervention in a rollout.
public struct MotabIntervention: Equatable, Sendable {
    /// Response index of the backtrack point b: the response kept
    /// `[0, b)`, and the teacher's tokens start at b in the final response.
    public var position: Int
    /// Response index (before the backtrack) of the first violating token s.
    public var firstViolation: Int
    /// The strayed student suffix that was discarded (its length is the rollback depth; it gets no loss).
    public var discarded: [Int32]
    /// Tokens the teacher wrote.
    public var teacherTokens: Int
    /// The monitor that fired.
    public var trigger: MotabTriggerSource = .student
}

/// A spliced MOTAB rollout: student tokens, teacher steps, resumed student tokens.
public struct MotabCompletion: Equatable, Sendable {
    /// Response tokens (the stop token included when one was emitted).
    public var tokens: [Int32]
    /// Per token: the student's log-prob at the sampling temperature (π_old;
    /// for teacher tokens computed from the student's logits, not sampled).
    public var logProbs: [Float]
    /// Per token: the student's entropy at that position.
    public var entropies: [Float]
    /// Per token: 0 = student, 1 = teacher (`RolloutSample.provenance`).
    public var provenance: [Int32]
    /// Per token: the teacher's log-prob; for student tokens NaN unless
    /// `MotabRollout.scoreWithTeacher` filled it in.
    public var teacherLogProbs: [Float]
    /// Per token: the teacher's entropy at that position, when
    /// `scoreWithTeacher(entropies: true)` asked for it (persistent teacher
    /// boundary); else empty.
    public var teacherEntropies: [Float] = []
    /// (tokens · V) the teacher's full log-softmax row at every response
    /// position, when `scoreWithTeacher(fullRows: true)` asked for it; else empty.
    public var teacherRows: [Float] = []
    /// The interventions, in order.
    public var interventions: [MotabIntervention]
    /// Why it ended.
    public var finishReason: FinishReason
    /// Teacher trigger: teacher entropies the monitor received (tokens scored
    /// for it, discarded ones included); 0 for the student trigger.
    public var teacherMonitorTokens = 0
}
