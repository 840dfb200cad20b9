import Tasks

/// MOTAB's per-batch numbers (METHODS.md §2 "must show").
public enum MotabMetrics {
    /// `motab/interventions_per_rollout` (mean over rollouts),
    /// `motab/rollback_depth` (mean discarded tokens per intervention, 0 when none),
    /// `motab/teacher_token_frac` (teacher tokens ÷ response tokens),
    /// `motab/intervened_rollout_frac`, `motab/teacher_triggered_frac`
    /// (interventions fired by the teacher-entropy monitor ÷ interventions, 0
    /// when none: 0 for `distillation.trigger=student`, 1 for `teacher`) and
    /// `motab/teacher_monitor_tokens_per_rollout` (teacher entropies the monitor
    /// received: the teacher trigger's cost, about the response length).
    public static func batch(_ completions: [MotabCompletion]) -> [String: Double] {
        let n = Double(max(completions.count, 1))
        let interventions = completions.flatMap(\.interventions)
        let tokens = completions.map(\.tokens.count).reduce(0, +)
        let teacher = completions.map { $0.provenance.filter { $0 != 0 }.count }.reduce(0, +)
        let byTeacher = interventions.filter { $0.trigger == .teacher }.count
        return [
            "motab/interventions_per_rollout": Double(interventions.count) / n,
            "motab/rollback_depth": interventions.isEmpty ? 0
                : Double(interventions.map(\.discarded.count).reduce(0, +)) / Double(interventions.count),
            "motab/teacher_token_frac": tokens == 0 ? 0 : Double(teacher) / Double(tokens),
            "motab/intervened_rollout_frac": Double(completions.filter { !$0.interventions.isEmpty }.count) / n,
            "motab/teacher_triggered_frac": interventions.isEmpty ? 0 : Double(byTeacher) / Double(interventions.count),
            "motab/teacher_monitor_tokens_per_rollout": Double(completions.map(\.teacherMonitorTokens).reduce(0, +)) / n,
        ]
    }
}

/// Trigger precision and recall of MOTAB's monitor on synthetic traces, against
/// the first wrong step (`SyntheticFamily.firstWrongStep`'s notion of a step).
///
/// Definitions. For intervention k of a rollout, K_k = text of the final
/// response's first `position` tokens (never edited later: backtracks stop at
/// the last intervention's end) and S_k = K_k + text of the discarded tokens,
/// the student's text when the monitor fired.
/// - The first wrong step of S_k: its thinking steps (`SyntheticTrace`) are
///   compared with the reference; a complete step must equal its reference
///   step; the last step, if S_k does not end with `;` or a newline, is
///   unfinished and is wrong only when it is not a prefix of its reference
///   step; a step beyond the reference count is wrong; when S_k has an `A:`
///   line, a missing step is wrong at the `A:` line. Missing steps of an
///   unfinished text are not judged.
/// - Trigger k is a **true positive** iff S_k has a wrong step and the
///   backtrack point is at or before it: |K_k| ≤ character offset of that step.
///   Otherwise (no wrong step: a false alarm; or the error lies in the kept
///   prefix, so it survives) it is a **false positive**.
/// - A rollout has a **miss** when its final response has a first wrong step
///   (`firstWrongStep`) written by the student: the token holding the step's
///   first character (the `A:` line for a missing step, the last character
///   when there is none) has provenance 0. At most one miss per rollout.
/// - precision = TP / (TP + FP); recall = TP / (TP + misses); nil when the
///   denominator is 0.
public enum MotabTriggerScoring {
    /// Counts over rollouts (add them up across a batch).
    public struct Counts: Equatable, Sendable {
        /// True-positive triggers, false-positive triggers, missed errors.
        public var truePositives = 0, falsePositives = 0, misses = 0
        /// Empty counts.
        public init() {}
        /// Creates counts.
        public init(truePositives: Int, falsePositives: Int, misses: Int) {
            self.truePositives = truePositives; self.falsePositives = falsePositives; self.misses = misses
        }
        /// TP / triggers.
        public var precision: Double? {
            truePositives + falsePositives == 0 ? nil : Double(truePositives) / Double(truePositives + falsePositives)
        }
        /// TP / (TP + misses).
        public var recall: Double? {
            truePositives + misses == 0 ? nil : Double(truePositives) / Double(truePositives + misses)
        }
        /// Adds another rollout's counts.
        public static func + (a: Counts, b: Counts) -> Counts {
            Counts(truePositives: a.truePositives + b.truePositives, falsePositives: a.falsePositives + b.falsePositives,
                   misses: a.misses + b.misses)
        }
        /// `motab/trigger_precision` and `motab/trigger_recall` when defined.
        public var values: [String: Double] {
            var out: [String: Double] = [:]
            if let p = precision { out["motab/trigger_precision"] = p }
            if let r = recall { out["motab/trigger_recall"] = r }
            return out
        }
    }

    /// Character offset of the first wrong step of `text` (see the type's
    /// definition), or nil when every judged step is right.
    public static func firstWrongOffset(family: any SyntheticFamily, problem: SyntheticProblem, text: String) throws -> Int? {
        let reference = try family.steps(of: problem)
        let steps = SyntheticTrace.steps(ofCompletion: text)
        let answerLine = answerLineOffset(text)
        let unfinished = answerLine == nil && !(text.last.map { $0 == ";" || $0 == "\n" } ?? true)
        for (i, step) in steps.enumerated() {
            guard i < reference.count else { return step.offset }
            let isLast = i == steps.count - 1
            if isLast && unfinished {
                if !reference[i].hasPrefix(step.text) { return step.offset }
            } else if step.text != reference[i] {
                return step.offset
            }
        }
        if let a = answerLine, steps.count < reference.count { return a }
        return nil
    }

    /// Scores one rollout. `pieces[t]` is the text of response token t on its
    /// own (the char codec's decode of one id; special tokens decode to ""),
    /// `discarded[k]` the texts of intervention k's discarded tokens.
    public static func score(family: any SyntheticFamily, problem: SyntheticProblem, pieces: [String],
                             provenance: [Int32], interventions: [(position: Int, discarded: [String])]) throws -> Counts {
        precondition(provenance.isEmpty || provenance.count == pieces.count, "score: \(provenance.count) provenance for \(pieces.count) tokens")
        var counts = Counts()
        for iv in interventions {
            let kept = pieces[0..<iv.position].joined()
            let wrong = try firstWrongOffset(family: family, problem: problem, text: kept + iv.discarded.joined())
            if let w = wrong, kept.count <= w { counts.truePositives += 1 } else { counts.falsePositives += 1 }
        }
        let final = pieces.joined()
        if let wrongStep = try family.firstWrongStep(problem: problem, completion: final) {
            let steps = SyntheticTrace.steps(ofCompletion: final)
            let offset = wrongStep < steps.count ? steps[wrongStep].offset : (answerLineOffset(final) ?? max(0, final.count - 1))
            // Character offset → token: walk the pieces.
            var token = pieces.count - 1, chars = 0
            for (t, p) in pieces.enumerated() {
                if offset < chars + p.count { token = t; break }
                chars += p.count
            }
            if token >= 0 && (provenance.isEmpty || provenance[token] == 0) { counts.misses += 1 }
        }
        return counts
    }

    /// Offset of the first line starting with `A:` (as `SyntheticTrace` reads it), nil when none.
    static func answerLineOffset(_ text: String) -> Int? {
        let chars = Array(text)
        var atLineStart = true
        for i in (chars.starts(with: ["T", ":"]) ? 2 : 0)..<chars.count {
            if atLineStart && chars[i] == "A" && i + 1 < chars.count && chars[i + 1] == ":" { return i }
            atLineStart = chars[i] == "\n"
        }
        return nil
    }
}
