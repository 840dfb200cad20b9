import Configs
import Objectives

/// A rollout rank's persistent boundary statistics (`distillation.boundary`
/// `family` or `global`): one `PersistentBoundary` per monitored signal, kept
/// by the distill pipeline across steps. Rollouts start from their key's
/// statistics with a frozen boundary; afterwards their kept student tokens
/// are folded in (the student's sampling entropies, and the teacher-side
/// signal at those positions when a teacher trigger is on: the teacher's
/// entropies, or log π_S − log π_T for `teacher_logratio`).
///
/// Not in checkpoints: a resumed run starts these statistics empty (as the
/// first step of a fresh run does: no stray before `warmup` tokens).
final class MotabBoundaryStore {
    /// `family` or `global`.
    let mode: DistillationBoundary
    /// The student-entropy and teacher-entropy statistics.
    var student: PersistentBoundary, teacher: PersistentBoundary

    /// Whether the teacher-side statistics are of log π_S − log π_T (`teacher_logratio`) rather than entropies.
    let teacherLogRatio: Bool

    /// Empty statistics; nil for `boundary=rollout` (nothing persists).
    init?(mode: DistillationBoundary, decay: Double, teacherLogRatio: Bool = false) {
        guard mode != .rollout else { return nil }
        self.mode = mode; self.teacherLogRatio = teacherLogRatio
        student = PersistentBoundary(decay: decay); teacher = PersistentBoundary(decay: decay)
    }

    /// The key of a prompt from `dataSource`.
    func key(_ dataSource: String) -> String { mode == .global ? "all" : dataSource }

    /// Folds finished rollouts in, in order; `keys[i]` is completion i's key.
    func fold(_ completions: [MotabCompletion], keys: [String]) {
        for (c, key) in zip(completions, keys) {
            let kept = c.provenance.indices.filter { c.provenance[$0] == 0 && $0 < c.entropies.count }
            student.fold(kept.map { Double(c.entropies[$0]) }, key: key)
            if teacherLogRatio {  // teacherLogProbs of student tokens: filled by scoreWithTeacher (NaN if not)
                teacher.fold(kept.map { Double(c.logProbs[$0] - c.teacherLogProbs[$0]) }.filter(\.isFinite), key: key)
            } else if !c.teacherEntropies.isEmpty {
                teacher.fold(kept.map { Double(c.teacherEntropies[$0]) }.filter(\.isFinite), key: key)
            }
        }
    }

    /// `motab/boundary_student_tau` and `_teacher_tau`: τ = μ + kσ averaged over keys
    /// (teacher only when it has statistics).
    func metrics(k: Double) -> [String: Double] {
        var m: [String: Double] = [:]
        for (name, b) in [("student", student), ("teacher", teacher)] where !b.statistics.isEmpty {
            let taus = b.statistics.values.map { $0.boundary(k: k) }
            m["motab/boundary_\(name)_tau"] = taus.reduce(0, +) / Double(taus.count)
        }
        return m
    }
}
