/// Bounds that keep a hostile or broken template from hanging or exhausting
/// memory. Exceeding one throws a `JinjaError` of kind `.limit`.
public enum JinjaLimits {
    /// Longest template source accepted, in Unicode scalars (real chat templates
    /// are a few kilobytes).
    public static let maxTemplateLength = 1 << 20
    /// Total loop iterations (all `for` loops together) allowed in one render:
    /// chat templates loop over messages and tools, a few hundred at most.
    public static let maxLoopIterations = 100_000
    /// Largest rendered output, and largest string value or printed value
    /// built, in UTF-8 bytes (16 MiB: millions of tokens, far past any context).
    public static let maxOutputLength = 16 << 20
    /// Work allowed in one render, in units of one expression evaluation, one
    /// list item or dict entry visited (iterating, `in`, `==`, filters), or 16
    /// bytes of string scanned: bounds templates that compute without looping
    /// or scan large values in loops (every fixture template renders a
    /// 500-message conversation well inside it: ChatTemplateFixtureTests).
    public static let maxWorkUnits = 4_000_000
    /// Longest list a template may build (by `+`, `split`, `list`, `range`…).
    public static let maxListLength = 100_000
    /// Total UTF-8 bytes of strings that operators, filters and calls may build
    /// in one render (intermediate concatenations included): bounds the time a
    /// template can spend copying large strings it never prints.
    public static let maxBuiltBytes = 256 << 20
    /// Deepest nesting allowed anywhere: in the parsed template (statements,
    /// parentheses, operator and filter chains), in values the template builds
    /// (lists in lists), and in evaluation at run time (expressions, statements
    /// and macro calls together). Recursion stays far from the stack limit even
    /// in debug builds; real chat templates nest a few dozen levels at most.
    public static let maxNestingDepth = 128
}
