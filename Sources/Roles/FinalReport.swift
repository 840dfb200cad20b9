import Foundation

/// What `ispo-cluster run` prints at the end of a run: every `val-core/`
/// metric of the first and the last evaluation side by side, or of the last
/// only when there was one evaluation (e.g. `trainer.val_before_train=false`);
/// nothing without an evaluation. Accuracies (`…/acc/…`: `mean@N`, `pass@k`,
/// `maj@N/mean`, and `greedy@1` from `rollout.val_kwargs.greedy_pass`) are
/// percentages; other values (`val-core/all/ref_loss`) are printed as they are.
public enum FinalReport {
    /// The report's lines, without a trailing newline.
    public static func lines(_ evals: [(step: Int, metrics: [String: Double])], runDirectory: String) -> [String] {
        guard let first = evals.first, let last = evals.last else { return [] }
        var out = ["", "final report (validation on held-out prompts; metrics in \(runDirectory)/metrics.jsonl)"]
        for key in last.metrics.keys.sorted() where key.hasPrefix("val-core/") {
            let b = last.metrics[key] ?? .nan
            if first.step == last.step || first.metrics[key] == nil {
                out.append("  \(key): step \(last.step) \(format(b, key: key))")
            } else {
                let a = first.metrics[key] ?? .nan
                out.append("  \(key): step \(first.step) \(format(a, key: key)) → step \(last.step) \(format(b, key: key))")
            }
        }
        return out
    }

    static func format(_ value: Double, key: String) -> String {
        key.contains("/acc/") ? String(format: "%.1f%%", 100 * value) : String(format: "%.4f", value)
    }
}
