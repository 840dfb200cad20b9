/// Parses lexer tokens into a statement tree, following Jinja's operator
/// precedence: conditional < or < and < not < comparison/`in` < `+ -` < `~`
/// < `* / // %` < `**` < unary minus < filters and tests < postfix access.
struct JinjaParser {
    let tokens: [(token: JinjaToken, line: Int)]
    var index = 0
    var depth = 0

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

    var line: Int { index < tokens.count ? tokens[index].line : (tokens.last?.line ?? 1) }
    var peek: JinjaToken? { index < tokens.count ? tokens[index].token : nil }
    func peek(_ offset: Int) -> JinjaToken? {
        index + offset < tokens.count ? tokens[index + offset].token : nil
    }

    func describe(_ t: JinjaToken?) -> String {
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

    func error(_ expected: String) -> JinjaError {
        JinjaError(.syntax, "expected \(expected), found \(describe(peek)); fix the template", line: line)
    }

    mutating func skipOp(_ op: String) -> Bool {
        if peek == .op(op) { index += 1; return true }
        return false
    }

    mutating func skipName(_ name: String) -> Bool {
        if peek == .name(name) { index += 1; return true }
        return false
    }

    mutating func expect(_ token: JinjaToken, _ what: String) throws {
        guard peek == token else { throw error(what) }
        index += 1
    }

    mutating func expectName() throws -> String {
        guard case .name(let n)? = peek else { throw error("a name") }
        index += 1
        return n
    }

    mutating func enter() throws {
        depth += 1
        if depth > JinjaLimits.maxNestingDepth {
            throw JinjaError(.limit, "expected nesting at most \(JinjaLimits.maxNestingDepth) deep, found deeper; "
                + "simplify the template", line: line)
        }
    }

    /// One more link of a left-nested chain (`a + b + c`, `x|f|g`, `a.b.c`):
    /// each deepens the tree the evaluator recurses into, so it counts as nesting.
    mutating func link(_ links: inout Int) throws {
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
}
