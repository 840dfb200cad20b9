/// Accuracy estimators over sampled answers, as pure functions.
public enum PassAtK {
    /// Greedy pass@1: the fraction of problems whose greedy answer is correct (0 for none).
    public static func greedyPass1(_ correct: [Bool]) -> Double {
        correct.isEmpty ? 0 : Double(correct.filter { $0 }.count) / Double(correct.count)
    }

    /// avg@k (verl's `mean@k`): each problem's fraction of correct samples,
    /// averaged over problems (0 for none).
    public static func averageAccuracy(_ groups: [[Bool]]) -> Double {
        let per = groups.filter { !$0.isEmpty }.map { g in Double(g.filter { $0 }.count) / Double(g.count) }
        return per.isEmpty ? 0 : per.reduce(0, +) / Double(per.count)
    }

    /// Unbiased pass@k for one problem with `n` samples of which `c` are
    /// correct (Chen et al. 2021): 1 − C(n−c, k)/C(n, k), computed as
    /// 1 − Π_{i=n−c+1}^{n} (1 − k/i) so no binomial overflows. Needs 1 ≤ k ≤ n.
    public static func unbiased(n: Int, c: Int, k: Int) -> Double {
        precondition(k >= 1 && k <= n && c >= 0 && c <= n, "pass@k needs 1 <= k <= n and 0 <= c <= n (n \(n), c \(c), k \(k))")
        if c == 0 { return 0 }
        if n - c < k { return 1 }
        var notPass = 1.0
        for i in (n - c + 1)...n { notPass *= 1 - Double(k) / Double(i) }
        return 1 - notPass
    }

    /// Unbiased pass@k averaged over the problems that have at least `k`
    /// samples; nil when none has.
    public static func unbiased(_ groups: [[Bool]], k: Int) -> Double? {
        let usable = groups.filter { $0.count >= k }
        guard !usable.isEmpty else { return nil }
        return usable.map { unbiased(n: $0.count, c: $0.filter { $0 }.count, k: k) }.reduce(0, +) / Double(usable.count)
    }

    /// The majority vote of one problem's samples: the answer key given most
    /// often (samples without an answer do not vote), ties broken by which key
    /// appeared first; correct when that answer's first sample is correct.
    /// False when no sample has an answer.
    public static func majorityCorrect(_ samples: [(key: String?, correct: Bool)]) -> Bool {
        var counts: [String: (count: Int, first: Int, correct: Bool)] = [:]
        for (i, s) in samples.enumerated() {
            guard let key = s.key else { continue }
            if let e = counts[key] { counts[key] = (e.count + 1, e.first, e.correct) } else { counts[key] = (1, i, s.correct) }
        }
        let best = counts.values.max { a, b in a.count != b.count ? a.count < b.count : a.first > b.first }
        return best?.correct ?? false
    }

    /// maj@k averaged over problems (0 for none).
    public static func majority(_ groups: [[(key: String?, correct: Bool)]]) -> Double {
        groups.isEmpty ? 0 : Double(groups.filter { majorityCorrect($0) }.count) / Double(groups.count)
    }
}

/// One judged sample of a validation run.
public struct EvalSample: Equatable, Sendable {
    /// Benchmark or family (`gsm8k`, `math500`, `chain:8`).
    public var dataSource: String
    /// Identifies the problem within its source; samples of one problem share it.
    public var problemID: String
    /// The verifier's verdict.
    public var correct: Bool
    /// The normalised answer for majority voting (`AnswerVerifier.answerKey`), nil when none was extracted.
    public var answerKey: String?

    /// A judged sample.
    public init(dataSource: String, problemID: String, correct: Bool, answerKey: String? = nil) {
        self.dataSource = dataSource
        self.problemID = problemID
        self.correct = correct
        self.answerKey = answerKey
    }
}

/// Validation metrics per data source, keyed like verl.
public enum EvalMetrics {
    /// For each source, with N the largest number of samples of any of its problems:
    /// - `val-core/<source>/acc/mean@N`: avg@N (greedy pass@1 when N = 1);
    /// - `val-core/<source>/acc/maj@N/mean`: majority vote (N > 1);
    /// - `val-core/<source>/acc/pass@k`: unbiased pass@k for each k in `ks`
    ///   (default: 1, 2, 4, … up to N, and N), over problems with ≥ k samples;
    /// - `val-aux/<source>/num_problems` and `val-aux/<source>/num_samples`.
    public static func perSource(_ samples: [EvalSample], ks: [Int]? = nil) -> [String: Double] {
        var order: [String: [String]] = [:]
        var groups: [String: [String: [EvalSample]]] = [:]
        for s in samples {
            if groups[s.dataSource]?[s.problemID] == nil { order[s.dataSource, default: []].append(s.problemID) }
            groups[s.dataSource, default: [:]][s.problemID, default: []].append(s)
        }
        var out: [String: Double] = [:]
        for (source, ids) in order {
            let problems = ids.compactMap { groups[source]?[$0] }
            let n = problems.map(\.count).max() ?? 0
            let verdicts = problems.map { $0.map(\.correct) }
            let prefix = "val-core/\(source)/acc/"
            out[prefix + "mean@\(n)"] = PassAtK.averageAccuracy(verdicts)
            if n > 1 { out[prefix + "maj@\(n)/mean"] = PassAtK.majority(problems.map { $0.map { ($0.answerKey, $0.correct) } }) }
            var kList = ks ?? Array(sequence(first: 1) { $0 * 2 }.prefix { $0 <= n }) + [n]
            kList = Array(Set(kList.filter { $0 >= 1 })).sorted()
            for k in kList { if let v = PassAtK.unbiased(verdicts, k: k) { out[prefix + "pass@\(k)"] = v } }
            out["val-aux/\(source)/num_problems"] = Double(problems.count)
            out["val-aux/\(source)/num_samples"] = Double(verdicts.map(\.count).reduce(0, +))
        }
        return out
    }

    /// The greedy pass of a sampled evaluation (`rollout.val_kwargs.greedy_pass`),
    /// one answer per problem: `val-core/<source>/acc/greedy@1` for each source
    /// and `val-core/all/acc/greedy@1` over all problems. The `greedy@` name
    /// keeps them apart from the sampled `mean@N` and `pass@k` of the same
    /// evaluation. A problem with several samples counts its first.
    public static func greedy(_ samples: [EvalSample]) -> [String: Double] {
        var seen = Set<String>(), bySource: [String: [Bool]] = [:], all: [Bool] = []
        for s in samples where seen.insert(s.dataSource + "\u{0}" + s.problemID).inserted {
            bySource[s.dataSource, default: []].append(s.correct)
            all.append(s.correct)
        }
        var out = ["val-core/all/acc/greedy@1": PassAtK.greedyPass1(all)]
        for (source, verdicts) in bySource { out["val-core/\(source)/acc/greedy@1"] = PassAtK.greedyPass1(verdicts) }
        return out
    }
}
