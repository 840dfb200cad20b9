import Foundation
import Transformer

/// Per-step sums of what the rollout ranks saw in a `motab` / `on_policy`
/// step, reduced over the world by name (learners need no completions, only
/// these numbers for the metrics).
struct MotabStepSums {
    /// The named sums (`MetricSums` reduces them by key).
    var sums = MetricSums()

    /// Every key, so that all ranks reduce the same set whatever they saw.
    static let keys = ["rollouts", "interventions", "discarded_tokens", "teacher_tokens", "response_tokens",
                       "intervened_rollouts", "trigger_tp", "trigger_fp", "trigger_misses", "judged_rollouts",
                       "teacher_triggered", "teacher_monitor_tokens", "teacher_requests", "error_rollouts"]

    /// All sums at zero.
    init() { for k in Self.keys { sums.add(k, 0) } }

    /// Sums already added up (e.g. reduced over the world).
    init(sums: MetricSums) { self.sums = sums }

    /// Adds one spliced rollout.
    mutating func add(_ c: MotabCompletion) {
        sums.add("rollouts", 1)
        sums.add("interventions", Double(c.interventions.count))
        sums.add("discarded_tokens", Double(c.interventions.map(\.discarded.count).reduce(0, +)))
        sums.add("teacher_tokens", Double(c.provenance.filter { $0 != 0 }.count))
        sums.add("response_tokens", Double(c.tokens.count))
        sums.add("intervened_rollouts", c.interventions.isEmpty ? 0 : 1)
        sums.add("teacher_triggered", Double(c.interventions.filter { $0.trigger == .teacher }.count))
        sums.add("teacher_monitor_tokens", Double(c.teacherMonitorTokens))
    }

    /// Adds one rollout's trigger judgement against the first wrong step.
    mutating func add(_ t: MotabTriggerScoring.Counts) {
        sums.add("trigger_tp", Double(t.truePositives)); sums.add("trigger_fp", Double(t.falsePositives))
        sums.add("trigger_misses", Double(t.misses)); sums.add("judged_rollouts", 1)
        sums.add("error_rollouts", t.truePositives + t.misses > 0 ? 1 : 0)
    }

    /// The `motab/…` metrics (`MotabMetrics.batch`'s definitions over the whole step; trigger
    /// precision/recall only where defined and rollouts were judged).
    var metrics: [String: Double] {
        let v = sums
        let n = max(v["rollouts"], 1), interventions = v["interventions"]
        var m: [String: Double] = [
            "motab/interventions_per_rollout": interventions / n,
            "motab/rollback_depth": interventions > 0 ? v["discarded_tokens"] / interventions : 0,
            "motab/teacher_token_frac": v["response_tokens"] > 0 ? v["teacher_tokens"] / v["response_tokens"] : 0,
            "motab/intervened_rollout_frac": v["intervened_rollouts"] / n,
            "motab/teacher_triggered_frac": interventions > 0 ? v["teacher_triggered"] / interventions : 0,
            "motab/teacher_monitor_tokens_per_rollout": v["teacher_monitor_tokens"] / n,
            "motab/teacher_requests": v["teacher_requests"],
        ]
        if v["judged_rollouts"] > 0 {
            let c = MotabTriggerScoring.Counts(truePositives: Int(v["trigger_tp"]), falsePositives: Int(v["trigger_fp"]),
                                               misses: Int(v["trigger_misses"]))
            m.merge(c.values) { $1 }
            m["motab/trigger_true_positives"] = v["trigger_tp"]
            m["motab/trigger_false_positives"] = v["trigger_fp"]
            m["motab/missed_errors"] = v["trigger_misses"]
            // The base rate a trigger's precision is read against: judged rollouts in
            // which the student made an error (caught by a trigger, or missed).
            m["motab/base_error_rate"] = v["error_rollouts"] / v["judged_rollouts"]
        }
        return m
    }
}

/// MOTAB's generation as a rollout engine's generator: the student writes
/// under the entropy monitor with teacher backtracking (or, for `on_policy`,
/// without the monitor), then the teacher scores every response. The
/// completions stay here for the step's MOTAB sums.
final class MotabGenerator: SequenceGenerator {
    let rollout: MotabRollout
    /// Score with full teacher rows (`full` estimator) or the sampled tokens' log-probs.
    let fullRows: Bool
    /// The last call's completions, in prompt order.
    private(set) var completions: [MotabCompletion] = []
    /// The last call's seconds in the teacher's scoring pass.
    private(set) var scoreSeconds = 0.0

    /// Persistent boundary statistics (`distillation.boundary` `family` / `global`), nil for `rollout`.
    let boundary: MotabBoundaryStore?
    /// The key of each prompt of a call (its data source); used with `boundary`.
    let keyOf: ([Int32]) -> String

    init(rollout: MotabRollout, fullRows: Bool, boundary: MotabBoundaryStore? = nil, keyOf: @escaping ([Int32]) -> String = { _ in "all" }) {
        self.rollout = rollout; self.fullRows = fullRows; self.boundary = boundary; self.keyOf = keyOf
    }

    var maxSeqLen: Int { rollout.model.config.maxSeqLen }

    func generate(prompts: [[Int32]], options: SamplingOptions, seeds: [UInt64]) throws -> [GeneratedSequence] {
        let keys = boundary.map { b in prompts.map { b.key(keyOf($0)) } } ?? []
        if let b = boundary {
            completions = try rollout.generate(prompts: prompts, options: options, seeds: seeds,
                                               studentPriors: keys.map { b.student.prior($0) },
                                               teacherPriors: keys.map { b.teacher.prior($0) })
        } else {
            completions = try rollout.generate(prompts: prompts, options: options, seeds: seeds)
        }
        let t = Date()
        try rollout.scoreWithTeacher(prompts: prompts, completions: &completions, fullRows: fullRows,
                                     entropies: boundary != nil && rollout.settings.trigger.watchesTeacher
                                         && !rollout.settings.trigger.teacherSignalIsLogRatio)
        scoreSeconds = Date().timeIntervalSince(t)
        boundary?.fold(completions, keys: keys)
        return completions.map {
            GeneratedSequence(tokens: $0.tokens, logProbs: $0.logProbs, entropies: $0.entropies, provenance: $0.provenance,
                              teacherLogProbs: $0.teacherLogProbs, teacherRows: $0.teacherRows)
        }
    }
}
