/// Runs a parsed template: statements write to `output`, expressions produce
/// `JinjaValue`s. Loop iterations and output size are counted against
/// `JinjaLimits` so a hostile template cannot hang or exhaust memory.
struct JinjaEvaluator {
    /// Variable scopes, innermost last; each `for` iteration pushes one.
    var scopes: [[String: JinjaValue]]
    /// Storage for `namespace()` objects (`JinjaValue.namespace` indexes it).
    var namespaces: [JinjaObject] = []
    /// The clock behind `strftime_now`.
    let now: @Sendable () -> JinjaDateTime
    /// Macros defined so far (`JinjaValue.macro` indexes it).
    var macros: [JinjaMacro] = []
    /// Evaluation and statement recursion in progress (macro calls included),
    /// bounded by `JinjaLimits.maxNestingDepth` so no template can overflow the stack.
    var depth = 0
    /// What the template has printed so far (macros swap in a fresh one while they run).
    var output = ""
    private var outputLength = 0
    private var iterations = 0
    /// Work done so far (shared with helpers that cannot mutate the evaluator).
    let budget = JinjaBudget()
    var builtBytes = 0
    /// Line of the statement being run, for error messages.
    var line = 1

    /// Names of the global functions templates may call.
    static let globalFunctions: Set<String> = ["raise_exception", "strftime_now", "namespace", "range", "dict"]

    init(variables: [String: JinjaValue], now: @escaping @Sendable () -> JinjaDateTime) {
        scopes = [variables, [:]]
        self.now = now
    }

    enum Signal { case normal, breakLoop, continueLoop }

    // MARK: statements

    mutating func run(_ nodes: [JinjaNode]) throws -> Signal {
        for node in nodes {
            let signal = try run(node)
            if signal != .normal { return signal }
        }
        return .normal
    }

    private mutating func emit(_ text: String) throws {
        outputLength += text.utf8.count
        guard outputLength <= JinjaLimits.maxOutputLength else {
            throw JinjaError(.limit, "expected at most \(JinjaLimits.maxOutputLength) bytes of output, found "
                + "more; the template or the conversation is far too large", line: line)
        }
        output += text
    }

    mutating func enter() throws {
        depth += 1
        guard depth <= JinjaLimits.maxNestingDepth else {
            throw JinjaError(.limit, "expected evaluation nested at most \(JinjaLimits.maxNestingDepth) deep, found "
                + "deeper (recursive macros or very long operator chains); simplify the template", line: line)
        }
    }

    private mutating func run(_ node: JinjaNode) throws -> Signal {
        try enter()
        defer { depth -= 1 }
        switch node {
        case .text(let s):
            try emit(s)
        case .output(let e, let l):
            line = l
            try emit(try JinjaFormatting.str(try eval(e)))
        case .ifChain(let branches, let otherwise, let l):
            line = l
            for branch in branches {
                if try eval(branch.condition).isTruthy { return try run(branch.body) }
            }
            return try run(otherwise)
        case .forLoop(let targets, let iterable, let filter, let body, let otherwise, let l):
            line = l
            return try runFor(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise)
        case .set(let target, let e, let l):
            line = l
            let value = try eval(e)
            switch target {
            case .name(let n):
                scopes[scopes.count - 1][n] = value
            case .names(let names):
                let parts = try iterate(value)
                guard parts.count == names.count else {
                    throw JinjaError(.runtime, "expected \(names.count) values to unpack into "
                        + "\(names.joined(separator: ", ")), found \(parts.count)", line: l)
                }
                for (n, v) in zip(names, parts) { scopes[scopes.count - 1][n] = v }
            case .attribute(let n, let attribute):
                guard case .namespace(let i) = lookup(n) else {
                    throw JinjaError(.runtime, "expected '\(n)' to be a namespace() in 'set \(n).\(attribute)', found "
                        + "\(lookup(n).typeName); create it with {% set \(n) = namespace() %}", line: l)
                }
                namespaces[i][attribute] = value
            }
        case .setBlock(let n, let body, let l):
            line = l
            let saved = output
            output = ""
            _ = try run(body)
            let captured = output
            output = saved
            scopes[scopes.count - 1][n] = .string(captured)
        case .macro(let m, _):
            macros.append(m)
            scopes[scopes.count - 1][m.name] = .macro(macros.count - 1)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    private mutating func countIteration() throws {
        iterations += 1
        guard iterations <= JinjaLimits.maxLoopIterations else {
            throw JinjaError(.limit, "expected at most \(JinjaLimits.maxLoopIterations) loop iterations in one "
                + "render, found more; the template loops too long", line: line)
        }
    }

    /// The items a `for` loop visits: list items, dict keys, string characters; undefined is empty.
    func iterate(_ value: JinjaValue) throws -> [JinjaValue] {
        switch value {
        case .array(let a):
            try budget.charge(a.count)
            return a
        case .object(let o):
            try budget.charge(o.keys.count)
            return o.keys.map { .string($0) }
        case .string(let s):
            guard case .array(let characters) = try checkedList(s.unicodeScalars.map { .string(String($0)) }) else {
                return []
            }
            return characters
        case .undefined: return []
        default:
            throw JinjaError(.runtime, "expected a list, dict or string to iterate over, found a \(value.typeName)",
                             line: line)
        }
    }

    private func bind(_ targets: [String], _ item: JinjaValue, into scope: inout [String: JinjaValue]) throws {
        if targets.count == 1 {
            scope[targets[0]] = item
            return
        }
        guard case .array(let parts) = item, parts.count == targets.count else {
            throw JinjaError(.runtime, "expected \(targets.count) values to unpack into \(targets.joined(separator: ", ")), "
                + "found \(JinjaFormatting.brief(item))", line: line)
        }
        for (t, v) in zip(targets, parts) { scope[t] = v }
    }

    private mutating func runFor(targets: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode],
                                 otherwise: [JinjaNode]) throws -> Signal {
        var items = try iterate(try eval(iterable))
        if let filter {
            var kept: [JinjaValue] = []
            for item in items {
                try countIteration()
                var scope: [String: JinjaValue] = [:]
                try bind(targets, item, into: &scope)
                scopes.append(scope)
                defer { scopes.removeLast() }
                if try eval(filter).isTruthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty { return try run(otherwise) }
        let n = items.count
        for (i, item) in items.enumerated() {
            try countIteration()
            var scope: [String: JinjaValue] = [:]
            scope["loop"] = .object(JinjaObject([
                ("index0", .integer(i)), ("index", .integer(i + 1)),
                ("revindex0", .integer(n - i - 1)), ("revindex", .integer(n - i)),
                ("first", .bool(i == 0)), ("last", .bool(i == n - 1)), ("length", .integer(n)),
                ("previtem", i > 0 ? items[i - 1] : .undefined("loop.previtem")),
                ("nextitem", i < n - 1 ? items[i + 1] : .undefined("loop.nextitem")),
            ]))
            try bind(targets, item, into: &scope)
            scopes.append(scope)
            let signal = try run(body)
            scopes.removeLast()
            if signal == .breakLoop { break }
        }
        return .normal
    }
}
