/// Bounds that keep a hostile or broken template from hanging or exhausting
/// memory. Exceeding one throws a `JinjaError` of kind `.limit`.
public enum JinjaLimits {
    /// Longest template source accepted, in Unicode scalars (real chat templates
    /// are a few kilobytes).
    public static let maxTemplateLength = 1 << 20
    /// Total loop iterations (all `for` loops together) allowed in one render:
    /// chat templates loop over messages and tools, a few hundred at most.
    public static let maxLoopIterations = 100_000
    /// Largest rendered output, and largest string value built, in Unicode scalars.
    public static let maxOutputLength = 16 << 20
    /// Deepest nesting of expressions or statements, for the parser and the
    /// evaluator alike (keeps recursion far from the stack limit).
    public static let maxNestingDepth = 200
}
