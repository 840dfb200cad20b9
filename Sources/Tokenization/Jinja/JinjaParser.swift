/// Parses lexer tokens into a statement tree, following Jinja's operator
/// precedence: conditional < or < and < not < comparison/`in` < `+ -` < `~`
/// < `* / // %` < `**` < unary minus < filters and tests < postfix access.
struct JinjaParser {
    private let tokens: [(token: JinjaToken, line: Int)]
    private var index = 0
    private var depth = 0

    /// Parses a whole template into its statement list.
    static func parse(_ tokens: [(token: JinjaToken, line: Int)]) throws -> [JinjaNode] {
        var parser = JinjaParser(tokens: tokens)
        let (body, end) = try parser.parseBody(until: [])
        if let end {
            throw JinjaError(.syntax, "expected a statement, found '{% \(end) %}' with no block to close; remove it "
                + "or add the opening tag", line: parser.line)
        }
        return body
    }

    private init(tokens: [(token: JinjaToken, line: Int)]) { self.tokens = tokens }

    // MARK: token helpers

    private var line: Int { index < tokens.count ? tokens[index].line : (tokens.last?.line ?? 1) }
    private var peek: JinjaToken? { index < tokens.count ? tokens[index].token : nil }
    private func peek(_ offset: Int) -> JinjaToken? {
        index + offset < tokens.count ? tokens[index + offset].token : nil
    }

    private func describe(_ t: JinjaToken?) -> String {
        switch t {
        case nil: return "the end of the template"
        case .text(let s)?: return "text \(s.prefix(20).debugDescription)"
        case .variableBegin?: return "'{{'"
        case .variableEnd?: return "'}}'"
        case .blockBegin?: return "'{%'"
        case .blockEnd?: return "'%}'"
        case .name(let n)?: return "'\(n)'"
        case .string(let s)?: return "the string \(s.prefix(20).debugDescription)"
        case .integer(let i)?: return "the number \(i)"
        case .float(let d)?: return "the number \(d)"
        case .op(let o)?: return "'\(o)'"
        }
    }

    private func error(_ expected: String) -> JinjaError {
        JinjaError(.syntax, "expected \(expected), found \(describe(peek)); fix the template", line: line)
    }

    private mutating func skipOp(_ op: String) -> Bool {
        if peek == .op(op) { index += 1; return true }
        return false
    }

    private mutating func skipName(_ name: String) -> Bool {
        if peek == .name(name) { index += 1; return true }
        return false
    }

    private mutating func expect(_ token: JinjaToken, _ what: String) throws {
        guard peek == token else { throw error(what) }
        index += 1
    }

    private mutating func expectName() throws -> String {
        guard case .name(let n)? = peek else { throw error("a name") }
        index += 1
        return n
    }

    private mutating func enter() throws {
        depth += 1
        if depth > JinjaLimits.maxNestingDepth {
            throw JinjaError(.limit, "expected nesting at most \(JinjaLimits.maxNestingDepth) deep, found deeper; "
                + "simplify the template", line: line)
        }
    }

    /// One more link of a left-nested chain (`a + b + c`, `x|f|g`, `a.b.c`):
    /// each deepens the tree the evaluator recurses into, so it counts as nesting.
    private mutating func link(_ links: inout Int) throws {
        try enter()
        links += 1
    }

    // MARK: statements

    /// Parses nodes until a `{% name %}` with `name` in `ends`; returns that
    /// name (its tag's remaining tokens are left for the caller) or nil at the end.
    private mutating func parseBody(until ends: Set<String>) throws -> ([JinjaNode], String?) {
        try enter()
        defer { depth -= 1 }
        var nodes: [JinjaNode] = []
        while let t = peek {
            switch t {
            case .text(let s):
                index += 1
                nodes.append(.text(s))
            case .variableBegin:
                let l = line
                index += 1
                let e = try parseExpression()
                try expect(.variableEnd, "'}}'")
                nodes.append(.output(e, line: l))
            case .blockBegin:
                index += 1
                guard case .name(let keyword)? = peek else { throw error("a statement keyword after '{%'") }
                if ends.contains(keyword) {
                    index += 1
                    return (nodes, keyword)
                }
                nodes.append(contentsOf: try parseStatement())
            default:
                throw error("text, '{{' or '{%'")
            }
        }
        return (nodes, nil)
    }

    private mutating func closeTag(_ name: String, opened line: Int, found: String?) throws {
        guard found != nil else {
            throw JinjaError(.syntax, "expected '{% \(name) %}' to close the block opened on line \(line), found the "
                + "end of the template; add it", line: line)
        }
        try expect(.blockEnd, "'%}'")
    }

    private mutating func parseStatement() throws -> [JinjaNode] {
        let l = line
        let keyword = try expectName()
        switch keyword {
        case "if":
            var branches: [(condition: JinjaExpr, body: [JinjaNode])] = []
            var condition = try parseExpression()
            var otherwise: [JinjaNode] = []
            while true {
                try expect(.blockEnd, "'%}'")
                let (body, end) = try parseBody(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                if end == "elif" {
                    condition = try parseExpression()
                    continue
                }
                if end == "else" {
                    try expect(.blockEnd, "'%}'")
                    let (rest, end2) = try parseBody(until: ["endif"])
                    otherwise = rest
                    try closeTag("endif", opened: l, found: end2)
                } else {
                    try closeTag("endif", opened: l, found: end)
                }
                return [.ifChain(branches, otherwise: otherwise, line: l)]
            }
        case "for":
            var targets: [String] = []
            let parenthesized = skipOp("(")
            repeat { targets.append(try expectName()) } while skipOp(",")
            if parenthesized { try expect(.op(")"), "')'") }
            try expect(.name("in"), "'in' after the loop variable")
            let iterable = try parseExpression(allowConditional: false)
            var filter: JinjaExpr? = nil
            if skipName("if") { filter = try parseExpression(allowConditional: false) }
            try expect(.blockEnd, "'%}'")
            let (body, end) = try parseBody(until: ["else", "endfor"])
            var otherwise: [JinjaNode] = []
            if end == "else" {
                try expect(.blockEnd, "'%}'")
                let (rest, end2) = try parseBody(until: ["endfor"])
                otherwise = rest
                try closeTag("endfor", opened: l, found: end2)
            } else {
                try closeTag("endfor", opened: l, found: end)
            }
            return [.forLoop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise,
                             line: l)]
        case "set":
            let name = try expectName()
            if peek == .op(",") {
                var names = [name]
                while skipOp(",") { names.append(try expectName()) }
                try expect(.op("="), "'=' in the set statement")
                var values = [try parseExpression()]
                while skipOp(",") { values.append(try parseExpression()) }
                try expect(.blockEnd, "'%}'")
                return [.set(.names(names), values.count == 1 ? values[0] : .list(values), line: l)]
            }
            if skipOp(".") {
                let attribute = try expectName()
                try expect(.op("="), "'=' in the set statement")
                let value = try parseExpression()
                try expect(.blockEnd, "'%}'")
                return [.set(.attribute(name, attribute), value, line: l)]
            }
            if peek == .blockEnd {
                index += 1
                let (body, end) = try parseBody(until: ["endset"])
                try closeTag("endset", opened: l, found: end)
                return [.setBlock(name, body, line: l)]
            }
            try expect(.op("="), "'=' in the set statement")
            let value = try parseExpression()
            try expect(.blockEnd, "'%}'")
            return [.set(.name(name), value, line: l)]
        case "macro":
            let name = try expectName()
            try expect(.op("("), "'(' after the macro name")
            var parameters: [(name: String, defaultValue: JinjaExpr?)] = []
            while peek != .op(")") {
                let parameter = try expectName()
                parameters.append((parameter, skipOp("=") ? try parseExpression() : nil))
                if !skipOp(",") { break }
            }
            try expect(.op(")"), "')' closing the macro's parameters")
            try expect(.blockEnd, "'%}'")
            let (body, end) = try parseBody(until: ["endmacro"])
            if end != nil, case .name? = peek { index += 1 }
            try closeTag("endmacro", opened: l, found: end)
            return [.macro(JinjaMacro(name: name, parameters: parameters, body: body), line: l)]
        case "break", "continue":
            try expect(.blockEnd, "'%}'")
            return [keyword == "break" ? .breakLoop(line: l) : .continueLoop(line: l)]
        case "generation":
            // transformers' assistant-mask marker: renders its body unchanged.
            try expect(.blockEnd, "'%}'")
            let (body, end) = try parseBody(until: ["endgeneration"])
            try closeTag("endgeneration", opened: l, found: end)
            return body
        default:
            throw JinjaError(.syntax, "expected one of the supported statements (if, for, set, macro, break, "
                + "continue, generation), found '\(keyword)'; this interpreter covers the Jinja subset of chat templates",
                line: l)
        }
    }

    // MARK: expressions

    private mutating func parseExpression(allowConditional: Bool = true) throws -> JinjaExpr {
        try enter()
        defer { depth -= 1 }
        let value = try parseOr()
        guard allowConditional, skipName("if") else { return value }
        let condition = try parseOr()
        let otherwise = skipName("else") ? try parseExpression() : nil
        return .conditional(condition: condition, then: value, otherwise: otherwise)
    }

    private mutating func parseOr() throws -> JinjaExpr {
        var left = try parseAnd()
        var links = 0
        defer { depth -= links }
        while skipName("or") {
            try link(&links)
            left = .binary("or", left, try parseAnd())
        }
        return left
    }

    private mutating func parseAnd() throws -> JinjaExpr {
        var left = try parseNot()
        var links = 0
        defer { depth -= links }
        while skipName("and") {
            try link(&links)
            left = .binary("and", left, try parseNot())
        }
        return left
    }

    private mutating func parseNot() throws -> JinjaExpr {
        if peek == .name("not") {
            index += 1
            try enter()
            defer { depth -= 1 }
            return .unary("not", try parseNot())
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> JinjaExpr {
        var left = try parseMath1()
        var links = 0
        defer { depth -= links }
        while true {
            if case .op(let o)? = peek, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                index += 1
                try link(&links)
                left = .binary(o, left, try parseMath1())
            } else if skipName("in") {
                try link(&links)
                left = .binary("in", left, try parseMath1())
            } else if peek == .name("not"), peek(1) == .name("in") {
                index += 2
                try link(&links)
                left = .binary("not in", left, try parseMath1())
            } else {
                return left
            }
        }
    }

    private mutating func parseMath1() throws -> JinjaExpr {
        var left = try parseConcat()
        var links = 0
        defer { depth -= links }
        while case .op(let o)? = peek, o == "+" || o == "-" {
            index += 1
            try link(&links)
            left = .binary(o, left, try parseConcat())
        }
        return left
    }

    private mutating func parseConcat() throws -> JinjaExpr {
        var left = try parseMath2()
        var links = 0
        defer { depth -= links }
        while skipOp("~") {
            try link(&links)
            left = .binary("~", left, try parseMath2())
        }
        return left
    }

    private mutating func parseMath2() throws -> JinjaExpr {
        var left = try parsePow()
        var links = 0
        defer { depth -= links }
        while case .op(let o)? = peek, ["*", "/", "//", "%"].contains(o) {
            index += 1
            try link(&links)
            left = .binary(o, left, try parsePow())
        }
        return left
    }

    private mutating func parsePow() throws -> JinjaExpr {
        var left = try parseUnary()
        var links = 0
        defer { depth -= links }
        while skipOp("**") {
            try link(&links)
            left = .binary("**", left, try parseUnary())
        }
        return left
    }

    private mutating func parseUnary(withFilters: Bool = true) throws -> JinjaExpr {
        try enter()
        defer { depth -= 1 }
        var node: JinjaExpr
        if skipOp("-") {
            node = .unary("-", try parseUnary(withFilters: false))
        } else if skipOp("+") {
            node = .unary("+", try parseUnary(withFilters: false))
        } else {
            node = try parsePostfix(try parsePrimary())
        }
        if withFilters { node = try parseFiltersAndTests(node) }
        return node
    }

    private mutating func parsePrimary() throws -> JinjaExpr {
        guard let t = peek else { throw error("an expression") }
        index += 1
        switch t {
        case .name(let n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case .string(var s):
            while case .string(let more)? = peek { s += more; index += 1 }
            return .literal(.string(s))
        case .integer(let i): return .literal(.integer(i))
        case .float(let d): return .literal(.float(d))
        case .op("("):
            let first = try parseExpression()
            if skipOp(",") {
                var items = [first]
                while peek != .op(")") {
                    items.append(try parseExpression())
                    if !skipOp(",") { break }
                }
                try expect(.op(")"), "')'")
                return .list(items)
            }
            try expect(.op(")"), "')'")
            return first
        case .op("["):
            var items: [JinjaExpr] = []
            while peek != .op("]") {
                items.append(try parseExpression())
                if !skipOp(",") { break }
            }
            try expect(.op("]"), "']' closing the list")
            return .list(items)
        case .op("{"):
            var pairs: [(JinjaExpr, JinjaExpr)] = []
            while peek != .op("}") {
                let key = try parseExpression()
                try expect(.op(":"), "':' in the dict literal")
                pairs.append((key, try parseExpression()))
                if !skipOp(",") { break }
            }
            try expect(.op("}"), "'}' closing the dict literal")
            return .dict(pairs)
        default:
            index -= 1
            throw error("an expression")
        }
    }

    private mutating func parsePostfix(_ base: JinjaExpr) throws -> JinjaExpr {
        var node = base
        var links = 0
        defer { depth -= links }
        while true {
            if peek == .op(".") || peek == .op("[") || peek == .op("(") { try link(&links) }
            if skipOp(".") {
                if case .integer(let i)? = peek {
                    index += 1
                    node = .index(node, .literal(.integer(i)))
                } else {
                    node = .attribute(node, try expectName())
                }
            } else if skipOp("[") {
                node = try parseSubscript(node)
            } else if peek == .op("(") {
                node = .call(node, try parseArguments())
            } else {
                return node
            }
        }
    }

    /// After `[`: an index or a slice `start:stop:step` (each part optional).
    private mutating func parseSubscript(_ base: JinjaExpr) throws -> JinjaExpr {
        var parts: [JinjaExpr?] = [nil]
        var isSlice = false
        while peek != .op("]") {
            if skipOp(":") {
                isSlice = true
                parts.append(nil)
                guard parts.count <= 3 else { throw error("at most two ':' in a slice") }
                continue
            }
            guard parts[parts.count - 1] == nil else { throw error("':' or ']'") }
            parts[parts.count - 1] = try parseExpression()
        }
        index += 1
        if !isSlice {
            guard let key = parts[0] else { throw error("an index inside '[]'") }
            return .index(base, key)
        }
        return .slice(base, start: parts[0], stop: parts.count > 1 ? parts[1] : nil,
                      step: parts.count > 2 ? parts[2] : nil)
    }

    private mutating func parseArguments() throws -> JinjaArguments {
        try expect(.op("("), "'('")
        var args = JinjaArguments()
        while peek != .op(")") {
            if case .name(let n)? = peek, peek(1) == .op("=") {
                index += 2
                args.keyword.append((n, try parseExpression()))
            } else {
                args.positional.append(try parseExpression())
            }
            if !skipOp(",") { break }
        }
        try expect(.op(")"), "')' closing the argument list")
        return args
    }

    private static let notTestArgument: Set<String> = ["else", "or", "and", "is", "in", "not", "if"]

    private mutating func parseFiltersAndTests(_ base: JinjaExpr) throws -> JinjaExpr {
        var node = base
        var links = 0
        defer { depth -= links }
        while true {
            if peek == .op("|") || peek == .name("is") { try link(&links) }
            if skipOp("|") {
                let name = try parseDottedName()
                let args = peek == .op("(") ? try parseArguments() : JinjaArguments()
                node = .filter(node, name: name, args)
            } else if skipName("is") {
                let negated = skipName("not")
                let name = try parseTestName()
                var args = JinjaArguments()
                if peek == .op("(") {
                    args = try parseArguments()
                } else if let t = peek, startsBareTestArgument(t) {
                    args.positional = [try parsePostfix(try parsePrimary())]
                }
                node = .test(node, name: name, args, negated: negated)
            } else {
                return node
            }
        }
    }

    private mutating func parseDottedName() throws -> String {
        var name = try expectName()
        while skipOp(".") { name += "." + (try expectName()) }
        return name
    }

    /// Test names may be keywords that are otherwise literals (`is none`, `is true`).
    private mutating func parseTestName() throws -> String {
        guard case .name(let n)? = peek else { throw error("a test name after 'is'") }
        index += 1
        return n
    }

    private func startsBareTestArgument(_ t: JinjaToken) -> Bool {
        switch t {
        case .string, .integer, .float: return true
        case .name(let n): return !JinjaParser.notTestArgument.contains(n)
        default: return false
        }
    }
}
