/// Expression parsing, by precedence from the conditional down to primaries.
extension JinjaParser {
    mutating func parseExpression(allowConditional: Bool = true) throws -> JinjaExpr {
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
