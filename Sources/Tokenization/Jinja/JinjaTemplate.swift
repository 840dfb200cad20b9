/// A parsed Jinja template in the subset that chat templates use, ready to
/// render many times.
///
/// Supported: `{{ }}`, `{% %}`, `{# #}` with `-`/`+` whitespace control and
/// transformers' `trim_blocks`/`lstrip_blocks`; `if/elif/else`, `for` (with
/// `loop.*`, unpacking, an `if` filter, `else`, `break`/`continue`), `set`
/// (names, tuples, `ns.attr`, blocks), `namespace()`, `macro` (with defaults,
/// keyword arguments, `varargs`/`kwargs`); literals, lists, dicts,
/// attribute/item access, slices, calls, filters, tests, arithmetic, `~`,
/// comparisons, `in`, `and/or/not`, `a if c else b`; Python string and dict
/// methods; the globals `raise_exception`, `strftime_now`, `namespace`,
/// `range`, `dict`. Not supported: `call` blocks, `raw`, `include`,
/// `import`, inheritance, `str.format`.
public struct JinjaTemplate: Sendable {
    private let nodes: [JinjaNode]

    /// Parses `source`; throws a `JinjaError` (`.syntax` or `.limit`) naming
    /// the template line when it is not valid in the supported subset.
    public init(_ source: String) throws {
        nodes = try JinjaParser.parse(try JinjaLexer.tokenize(source))
    }

    /// Renders with `variables` as the template's globals; `now` supplies the
    /// time for `strftime_now`. Throws `JinjaError`: `.raised` for
    /// `raise_exception`, `.limit` past `JinjaLimits`, `.runtime` otherwise.
    public func render(_ variables: [String: JinjaValue],
                       now: @escaping @Sendable () -> JinjaDateTime = { JinjaDateTime.now() }) throws -> String {
        var evaluator = JinjaEvaluator(variables: variables, now: now)
        do {
            _ = try evaluator.run(nodes)
        } catch let error as JinjaError where error.line == nil {
            throw JinjaError(error.kind, error.message, line: evaluator.line)
        }
        return evaluator.output
    }
}
