import Foundation

/// Which complete checkpoints to keep (`checkpoint.keep_last`, `keep_best`, `best_metric`).
public struct RetentionPolicy: Equatable, Sendable {
    /// Keep the newest N; 0 keeps every checkpoint (nothing is deleted).
    public var keepLast: Int
    /// Also keep the N best by `metric`; 0 = none.
    public var keepBest: Int
    /// Manifest metric ranking checkpoints for `keepBest`.
    public var metric: String
    /// Whether a larger metric is better (accuracy) or worse (loss).
    public var higherIsBetter: Bool

    /// A policy; `keepLast` 0 keeps everything.
    public init(keepLast: Int, keepBest: Int = 0, metric: String = "", higherIsBetter: Bool = true) {
        precondition(keepLast >= 0 && keepBest >= 0, "RetentionPolicy: negative counts \(keepLast), \(keepBest)")
        self.keepLast = keepLast
        self.keepBest = keepBest
        self.metric = metric
        self.higherIsBetter = higherIsBetter
    }

    /// The steps to keep among `checkpoints` (step, metric value or nil): the
    /// newest `keepLast`, the `keepBest` best with a finite metric (ties go to the
    /// newer step), and always the newest. Pure.
    public func stepsToKeep(_ checkpoints: [(step: Int, metric: Double?)]) -> Set<Int> {
        let steps = checkpoints.map(\.step).sorted()
        guard keepLast > 0 else { return Set(steps) }
        var keep = Set(steps.suffix(keepLast))
        if let newest = steps.last { keep.insert(newest) }
        var ranked: [(step: Int, value: Double)] = []
        for c in checkpoints { if let v = c.metric, v.isFinite { ranked.append((c.step, v)) } }
        let better = higherIsBetter
        ranked.sort { a, b in
            if a.value != b.value { return better ? a.value > b.value : a.value < b.value }
            return a.step > b.step
        }
        for (step, _) in ranked.prefix(keepBest) { keep.insert(step) }
        return keep
    }
}

extension CheckpointStore {
    /// Deletes the complete checkpoints `policy` does not keep; returns their
    /// steps. Each is first renamed to `tmp_deleting_global_step_<N>` (atomic:
    /// readers stop seeing it at once), then removed; a crash in between leaves
    /// only a `tmp_` directory for `removeStaleStaging()`. Incomplete and
    /// foreign directories are left alone; the newest complete one is always kept.
    @discardableResult
    public func retain(_ policy: RetentionPolicy) throws -> [Int] {
        let complete = try list()
        let keep = policy.stepsToKeep(complete.map { ($0.step, $0.manifest.metrics[policy.metric]) })
        var deleted: [Int] = []
        for c in complete where !keep.contains(c.step) {
            let doomed = (root as NSString).appendingPathComponent(Self.stagingPrefix + "deleting_" + Self.directoryName(step: c.step))
            try FileOps.removeTree(doomed)
            try FileOps.rename(c.path, to: doomed)
            try FileOps.syncDirectory(root)
            try FileOps.removeTree(doomed)
            deleted.append(c.step)
        }
        return deleted
    }
}
