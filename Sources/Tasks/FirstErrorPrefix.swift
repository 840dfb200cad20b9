/// Where a generated synthetic trace first goes wrong, cut into the two
/// prefixes MOTAB's premise is measured on (METHODS.md §2, "measure this
/// first"): the student's own prefix through its first wrong step, and the
/// matched correct prefix that differs only in that step (the reference step
/// in its place). Both end on the wrong step's separator, so a teacher asked
/// to continue either one starts at the same place of the derivation.
public struct FirstErrorCut: Equatable, Sendable {
    /// Index (0-based) of the first wrong thinking step.
    public let depth: Int
    /// Character offset of that step in the completion.
    public let stepStart: Int
    /// Character offset of its separator (`;` or newline); the step's text is
    /// `[stepStart, separator)`.
    public let separator: Int
    /// The completion's first `separator + 1` characters: the student's prefix
    /// through its wrong step.
    public let wrongPrefix: String
    /// The same prefix with the reference step in place of the wrong one.
    public let referencePrefix: String
    /// Character offsets of the reference step in `referencePrefix`: `[stepStart, referenceSeparator)`.
    public let referenceSeparator: Int
}

/// Cutting a completion at its first error.
public enum FirstErrorPrefix {
    /// The cut of `completion` for `problem`, or nil when there is none to
    /// measure: every step right, or the first wrong step is a missing one
    /// (the `A:` line came early), an extra one beyond the reference count, or
    /// one the text never finishes (no `;` or newline after it).
    public static func cut(family: any SyntheticFamily, problem: SyntheticProblem, completion: String) throws -> FirstErrorCut? {
        guard let d = try family.firstWrongStep(problem: problem, completion: completion) else { return nil }
        let reference = try family.steps(of: problem)
        let steps = SyntheticTrace.steps(ofCompletion: completion)
        guard d < steps.count, d < reference.count else { return nil }
        let chars = Array(completion), start = steps[d].offset
        guard let sep = (start..<chars.count).first(where: { chars[$0] == ";" || chars[$0] == "\n" }) else { return nil }
        let head = String(chars[0..<start])
        let separatorChar = String(chars[sep])
        return FirstErrorCut(depth: d, stepStart: start, separator: sep,
                             wrongPrefix: String(chars[0...sep]),
                             referencePrefix: head + reference[d] + separatorChar,
                             referenceSeparator: start + reference[d].count)
    }
}
