/// Expression evaluation: names, access, calls, macros, operators.
extension JinjaEvaluator {
    func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() {
            if let v = scope[name] { return v }
        }
        if JinjaEvaluator.globalFunctions.contains(name) { return .function(name) }
        return .undefined(name)
    }

    func undefinedError(_ name: String) -> JinjaError {
        JinjaError(.runtime, "expected '\(name)' to be defined, found it undefined; check the variable names or "
            + "guard with 'is defined'", line: line)
    }

    /// `base.name`: dict keys, namespace attributes; anything else is undefined.
    func attribute(_ base: JinjaValue, _ name: String) throws -> JinjaValue {
        switch base {
        case .undefined(let n): throw undefinedError(n)
        case .object(let o): return o[name] ?? .undefined(name)
        case .namespace(let i): return namespaces[i][name] ?? .undefined(name)
        default: return .undefined(name)
        }
    }

    /// `base[key]`: list and string indices (negative from the end), dict keys.
    func item(_ base: JinjaValue, _ key: JinjaValue) throws -> JinjaValue {
        switch (base, key) {
        case (.undefined(let n), _): throw undefinedError(n)
        case (.array(let a), .integer(let i)):
            let j = i < 0 ? a.count + i : i
            return a.indices.contains(j) ? a[j] : .undefined("[\(i)]")
        case (.string(let s), .integer(let i)):
            let scalars = Array(s.unicodeScalars)
            let j = i < 0 ? scalars.count + i : i
            return scalars.indices.contains(j) ? .string(String(scalars[j])) : .undefined("[\(i)]")
        case (_, .string(let k)): return try attribute(base, k)
        default: return .undefined("[\(JinjaFormatting.brief(key))]")
        }
    }

    /// Evaluates `e`, counting the step and the bytes of any string an
    /// operator, filter or call built against `JinjaLimits`.
    mutating func eval(_ e: JinjaExpr) throws -> JinjaValue {
        try enter()
        defer { depth -= 1 }
        try budget.charge(1)
        let value = try evalNode(e)
        switch (e, value) {
        case (.binary, .string(let s)), (.filter, .string(let s)), (.call, .string(let s)):
            builtBytes += s.utf8.count
            guard builtBytes <= JinjaLimits.maxBuiltBytes else {
                throw JinjaError(.limit, "expected at most \(JinjaLimits.maxBuiltBytes) bytes of strings built in one "
                    + "render, found more; the template builds too many large strings", line: line)
            }
        default: break
        }
        return value
    }

    private mutating func evalNode(_ e: JinjaExpr) throws -> JinjaValue {
        switch e {
        case .literal(let v): return v
        case .name(let n): return lookup(n)
        case .list(let items): return try checkedNesting(try checkedList(try items.map { try eval($0) }))
        case .dict(let pairs):
            var o = JinjaObject()
            for (k, v) in pairs {
                guard case .string(let key) = try eval(k) else {
                    throw JinjaError(.runtime, "expected string keys in a dict literal, found another type", line: line)
                }
                o[key] = try eval(v)
            }
            return try checkedNesting(.object(o))
        case .attribute(let base, let name): return try attribute(try eval(base), name)
        case .index(let base, let key): return try item(try eval(base), try eval(key))
        case .slice(let base, let start, let stop, let step):
            return try slice(try eval(base), start: start.map { try eval($0) }, stop: stop.map { try eval($0) },
                             step: step.map { try eval($0) })
        case .call(let callee, let args):
            let (positional, keyword) = try evalArguments(args)
            if case .attribute(let receiver, let method) = callee {
                let r = try eval(receiver)
                if case .object(let o) = r, let f = o[method], case .function(let name) = f {
                    return try callGlobal(name, positional, keyword)
                }
                return try callMethod(r, method, positional, keyword)
            }
            let f = try eval(callee)
            if case .macro(let i) = f { return try callMacro(macros[i], positional, keyword) }
            guard case .function(let name) = f else {
                if case .undefined(let n) = f {
                    throw JinjaError(.runtime, "expected a callable '\(n)', found it undefined; the supported globals "
                        + "are \(JinjaEvaluator.globalFunctions.sorted().joined(separator: ", "))", line: line)
                }
                throw JinjaError(.runtime, "expected a function to call, found a \(f.typeName)", line: line)
            }
            return try callGlobal(name, positional, keyword)
        case .filter(let base, let name, let args):
            let value = try eval(base)
            let (positional, keyword) = try evalArguments(args)
            return try applyFilter(name, value, positional, keyword)
        case .test(let base, let name, let args, let negated):
            let value = try eval(base)
            let (positional, _) = try evalArguments(args)
            let result = try applyTest(name, value, positional)
            return .bool(negated ? !result : result)
        case .unary(let op, let operand):
            let v = try eval(operand)
            switch op {
            case "not": return .bool(!v.isTruthy)
            case "-":
                if case .integer(let i) = v { return .integer(-i) }
                if let d = v.number { return .float(-d) }
                throw JinjaError(.runtime, "expected a number after unary '-', found a \(v.typeName)", line: line)
            default:
                guard v.number != nil else {
                    throw JinjaError(.runtime, "expected a number after unary '+', found a \(v.typeName)", line: line)
                }
                return v
            }
        case .binary(let op, let l, let r):
            let left = try eval(l)
            if op == "and" { return left.isTruthy ? try eval(r) : left }
            if op == "or" { return left.isTruthy ? left : try eval(r) }
            return try binary(op, left, try eval(r))
        case .conditional(let condition, let then, let otherwise):
            if try eval(condition).isTruthy { return try eval(then) }
            return try otherwise.map { try eval($0) } ?? .undefined("else branch")
        }
    }

    /// Runs a macro's body in a scope that sees the template's globals and
    /// top-level variables plus its parameters (`varargs`/`kwargs` collect
    /// extras), and returns what the body printed.
    private mutating func callMacro(_ m: JinjaMacro, _ positional: [JinjaValue], _ keyword: [String: JinjaValue])
        throws -> JinjaValue {
        let savedScopes = scopes
        let savedOutput = output
        scopes = Array(scopes.prefix(2))
        output = ""
        defer {
            scopes = savedScopes
            output = savedOutput
        }
        var local: [String: JinjaValue] = [:]
        scopes.append(local)
        var rest = keyword
        for (i, p) in m.parameters.enumerated() {
            let value: JinjaValue
            if i < positional.count {
                value = positional[i]
            } else if let v = rest.removeValue(forKey: p.name) {
                value = v
            } else if let d = p.defaultValue {
                value = try eval(d)
            } else {
                value = .undefined(p.name)
            }
            local[p.name] = value
            scopes[scopes.count - 1] = local
        }
        local["varargs"] = .array(Array(positional.dropFirst(m.parameters.count)))
        local["kwargs"] = .object(JinjaObject(rest.keys.sorted().map { ($0, rest[$0] ?? .none) }))
        scopes[scopes.count - 1] = local
        _ = try run(m.body)
        return .string(output)
    }

    /// `value` itself, after checking that its lists and dicts nest at most
    /// `JinjaLimits.maxNestingDepth` deep (printing and comparing recurse into them).
    func checkedNesting(_ value: JinjaValue) throws -> JinjaValue {
        func within(_ v: JinjaValue, _ budget: Int) -> Bool {
            guard budget > 0 else { return false }
            switch v {
            case .array(let a): return a.allSatisfy { within($0, budget - 1) }
            case .object(let o): return o.keys.allSatisfy { within(o[$0] ?? .none, budget - 1) }
            default: return true
            }
        }
        guard within(value, JinjaLimits.maxNestingDepth) else {
            throw JinjaError(.limit, "expected lists and dicts nested at most \(JinjaLimits.maxNestingDepth) deep, "
                + "found a deeper value being built", line: line)
        }
        return value
    }

    private mutating func evalArguments(_ args: JinjaArguments) throws -> ([JinjaValue], [String: JinjaValue]) {
        let positional = try args.positional.map { try eval($0) }
        var keyword: [String: JinjaValue] = [:]
        for (k, v) in args.keyword { keyword[k] = try eval(v) }
        return (positional, keyword)
    }

    /// Python slicing `base[start:stop:step]` for lists and strings.
    func slice(_ base: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?) throws -> JinjaValue {
        func int(_ v: JinjaValue?) throws -> Int? {
            switch v {
            case nil, .none?: return nil
            case .integer(let i)?: return i
            default: throw JinjaError(.runtime, "expected integer slice bounds, found \(v!.typeName)", line: line)
            }
        }
        let stride = try int(step) ?? 1
        guard stride != 0 else { throw JinjaError(.runtime, "expected a non-zero slice step, found 0", line: line) }
        func pick(_ count: Int) throws -> [Int] {
            func clamp(_ v: Int?, _ fallback: Int) -> Int {
                guard var v else { return fallback }
                if v < 0 { v += count }
                return stride > 0 ? min(max(v, 0), count) : min(max(v, -1), count - 1)
            }
            let s = clamp(try int(start), stride > 0 ? 0 : count - 1)
            let e = clamp(try int(stop), stride > 0 ? count : -1)
            var out: [Int] = []
            var i = s
            while stride > 0 ? i < e : i > e {
                out.append(i)
                i += stride
            }
            return out
        }
        switch base {
        case .array(let a): return .array(try pick(a.count).map { a[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in try pick(scalars.count) { out.append(scalars[i]) }
            return .string(String(out))
        case .undefined(let n): throw undefinedError(n)
        default: throw JinjaError(.runtime, "expected a list or string to slice, found a \(base.typeName)", line: line)
        }
    }
}
