/// Partial-correctness labels of synthetic completions (METHODS §1, the
/// mechanism measurement): how many thinking steps of a completion match the
/// valid derivation before the first wrong one. A wrong answer that got three
/// carries right before slipping scores 3; one that went wrong at once scores 0.
public enum PartialCorrectness {
    /// The number of leading thinking steps of `completion` that equal the
    /// reference derivation of `prompt` under the family `spec` (`chain:3`).
    /// nil when `spec` is not a synthetic family or the prompt is not one it writes.
    public static func correctSteps(spec: String, prompt: String, completion: String) -> Int? {
        guard let family = try? SyntheticFamilies.named(spec) else { return nil }
        let problem = SyntheticProblem(prompt: prompt, thinking: "", answer: "")
        guard let reference = try? family.steps(of: problem) else { return nil }
        let got = SyntheticTrace.steps(ofCompletion: completion).map(\.text)
        var n = 0
        while n < reference.count && n < got.count && got[n] == reference[n] { n += 1 }
        return n
    }
}
