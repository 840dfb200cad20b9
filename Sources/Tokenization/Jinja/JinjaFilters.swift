/// The filters (`x|name(args)`) and tests (`x is name`) chat templates use.
extension JinjaEvaluator {
    func argument(_ positional: [JinjaValue], _ keyword: [String: JinjaValue], _ index: Int, _ name: String)
        -> JinjaValue? {
        keyword[name] ?? (index < positional.count ? positional[index] : nil)
    }

    private func expectString(_ v: JinjaValue, _ what: String) throws -> String {
        switch v {
        case .string(let s): return s
        case .undefined(let n): throw undefinedError(n)
        default:
            throw JinjaError(.runtime, "expected a string for \(what), found a \(v.typeName)", line: line)
        }
    }

    /// Python's `len()`: characters of a string, items of a list or dict.
    func length(_ v: JinjaValue) throws -> Int {
        switch v {
        case .string(let s): return s.unicodeScalars.count
        case .array(let a): return a.count
        case .object(let o): return o.keys.count
        case .undefined: return 0
        default: throw JinjaError(.runtime, "expected something with a length, found a \(v.typeName)", line: line)
        }
    }

    private func attributeOrUndefined(_ item: JinjaValue, _ path: String) throws -> JinjaValue {
        var v = item
        for part in path.split(separator: ".") {
            if case .undefined = v { return v }
            v = try self.item(v, Int(part).map { .integer($0) } ?? .string(String(part)))
        }
        return v
    }

    mutating func applyFilter(_ name: String, _ value: JinjaValue, _ positional: [JinjaValue],
                              _ keyword: [String: JinjaValue]) throws -> JinjaValue {
        func arg(_ i: Int, _ n: String) -> JinjaValue? { argument(positional, keyword, i, n) }
        if case .string(let s) = value { try budget.chargeScan(bytes: s.utf8.count) }
        if ["selectattr", "rejectattr", "select", "reject", "map"].contains(name), !value.isTruthy {
            // Jinja's select/reject/map skip a falsy input (`tools` = none) instead of failing.
            return .array([])
        }
        switch name {
        case "trim":
            let chars = try arg(0, "chars").map { try expectString($0, "trim's characters") }
            return .string(JinjaStrings.strip(try expectString(value, "trim"), chars, leading: true, trailing: true))
        case "length", "count":
            return .integer(try length(value))
        case "tojson":
            let indent: Int?
            switch arg(0, "indent") {
            case nil, .none?: indent = nil
            case .integer(let i)?: indent = i
            case let other?: throw JinjaError(.runtime, "expected an integer indent for tojson, found "
                + other.typeName, line: line)
            }
            return try checkedString(try JinjaFormatting.json(value, indent: indent,
                                                              sortKeys: arg(3, "sort_keys")?.isTruthy ?? false))
        case "upper": return .string(try expectString(value, "upper").uppercased())
        case "lower": return .string(try expectString(value, "lower").lowercased())
        case "capitalize":
            let s = try expectString(value, "capitalize")
            return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
        case "title": return .string(JinjaStrings.title(try expectString(value, "title")))
        case "default", "d":
            let fallback = arg(0, "default_value") ?? .string("")
            let useFalsy = arg(1, "boolean")?.isTruthy ?? false
            if case .undefined = value { return fallback }
            return useFalsy && !value.isTruthy ? fallback : value
        case "items":
            switch value {
            case .object(let o): return .array(o.keys.map { .array([.string($0), o[$0] ?? .none]) })
            case .undefined: return .array([])
            default: throw JinjaError(.runtime, "expected a dict for items, found a \(value.typeName)", line: line)
            }
        case "list": return .array(try iterate(value))
        case "first":
            return try iterate(value).first ?? .undefined("first item")
        case "last":
            return try iterate(value).last ?? .undefined("last item")
        case "join":
            let separator = try arg(0, "d").map { try expectString($0, "join's separator") } ?? ""
            var items = try iterate(value)
            if let attr = arg(1, "attribute") {
                items = try items.map { try attributeOrUndefined($0, try JinjaFormatting.str(attr)) }
            }
            return .string(try JinjaFormatting.joined(items, separator: separator))
        case "replace":
            let s = try expectString(value, "replace")
            guard let old = arg(0, "old"), let new = arg(1, "new") else {
                throw JinjaError(.runtime, "expected replace(old, new), found fewer arguments", line: line)
            }
            return .string(try JinjaStrings.replace(s, try expectString(old, "replace"), try expectString(new, "replace"),
                                                    count: arg(2, "count")?.int))
        case "string": return .string(try JinjaFormatting.str(value))
        case "int":
            switch value {
            case .integer: return value
            case .float(let d): return .integer(d.isFinite ? Int(d) : 0)
            case .bool(let b): return .integer(b ? 1 : 0)
            case .string(let s): return .integer(Int(s.trimmingWhitespace()) ?? (arg(0, "default")?.int ?? 0))
            default: return arg(0, "default") ?? .integer(0)
            }
        case "float":
            switch value {
            case .float: return value
            case .integer(let i): return .float(Double(i))
            case .string(let s): return .float(Double(s.trimmingWhitespace()) ?? 0)
            default: return .float(value.number ?? 0)
            }
        case "abs":
            if case .integer(let i) = value { return .integer(abs(i)) }
            if let d = value.number { return .float(abs(d)) }
            throw JinjaError(.runtime, "expected a number for abs, found a \(value.typeName)", line: line)
        case "reverse":
            if case .string(let s) = value { return .string(String(s.unicodeScalars.reversed().map(Character.init))) }
            return .array(try iterate(value).reversed())
        case "safe", "e", "escape": return value
        case "selectattr", "rejectattr":
            guard let attr = positional.first else {
                throw JinjaError(.runtime, "expected \(name)(attribute[, test, args…]), found no attribute", line: line)
            }
            let path = try expectString(attr, name)
            let test = try positional.count > 1 ? expectString(positional[1], "\(name)'s test") : nil
            let testArgs = Array(positional.dropFirst(2))
            var kept: [JinjaValue] = []
            for item in try iterate(value) {
                let v = try attributeOrUndefined(item, path)
                let pass = try test.map { try applyTest($0, v, testArgs) } ?? v.isTruthy
                if pass == (name == "selectattr") { kept.append(item) }
            }
            return .array(kept)
        case "select", "reject":
            let test = try positional.first.map { try expectString($0, "\(name)'s test") }
            let testArgs = Array(positional.dropFirst(1))
            var kept: [JinjaValue] = []
            for item in try iterate(value) {
                let pass = try test.map { try applyTest($0, item, testArgs) } ?? item.isTruthy
                if pass == (name == "select") { kept.append(item) }
            }
            return .array(kept)
        case "map":
            if let attr = keyword["attribute"] {
                let path = try expectString(attr, "map's attribute")
                return .array(try iterate(value).map {
                    let v = try attributeOrUndefined($0, path)
                    if case .undefined = v, let d = keyword["default"] { return d }
                    return v
                })
            }
            guard let filter = positional.first else {
                throw JinjaError(.runtime, "expected map(attribute=…) or map('filter'), found no argument", line: line)
            }
            let filterName = try expectString(filter, "map's filter")
            let rest = Array(positional.dropFirst())
            var out: [JinjaValue] = []
            for item in try iterate(value) { out.append(try applyFilter(filterName, item, rest, [:])) }
            return .array(out)
        case "unique":
            var out: [JinjaValue] = []
            for item in try iterate(value) {
                var seen = false
                for kept in out where try equals(kept, item) { seen = true; break }
                if !seen { out.append(item) }
            }
            return .array(out)
        default:
            throw JinjaError(.runtime, "expected a supported filter, found '\(name)'; supported: trim, length, count, "
                + "tojson, upper, lower, capitalize, title, default, items, list, first, last, join, replace, string, "
                + "int, float, abs, reverse, safe, selectattr, rejectattr, select, reject, map, unique", line: line)
        }
    }

    func applyTest(_ name: String, _ value: JinjaValue, _ args: [JinjaValue]) throws -> Bool {
        let other = args.first ?? .undefined("test argument")
        switch name {
        case "defined": if case .undefined = value { return false } else { return true }
        case "undefined": if case .undefined = value { return true } else { return false }
        case "none": return value == .none
        case "string": if case .string = value { return true } else { return false }
        case "number":
            switch value { case .integer, .float, .bool: return true; default: return false }
        case "integer": if case .integer = value { return true } else { return false }
        case "float": if case .float = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": return value == .bool(true)
        case "false": return value == .bool(false)
        case "mapping": if case .object = value { return true } else { return false }
        case "iterable":
            switch value { case .string, .array, .object, .undefined: return true; default: return false }
        case "sequence":
            switch value { case .string, .array, .object: return true; default: return false }
        case "callable":
            switch value { case .function, .macro: return true; default: return false }
        case "odd", "even":
            guard case .integer(let i) = value else {
                throw JinjaError(.runtime, "expected an integer for 'is \(name)', found a \(value.typeName)", line: line)
            }
            return (i % 2 != 0) == (name == "odd")
        case "divisibleby":
            guard case .integer(let i) = value, case .integer(let j) = other, j != 0 else {
                throw JinjaError(.runtime, "expected 'int is divisibleby(non-zero int)', found \(value.typeName) and "
                    + other.typeName, line: line)
            }
            return i % j == 0
        case "eq", "equalto", "==": return try equals(value, other)
        case "ne", "!=": return !(try equals(value, other))
        case "sameas": return value == other
        case "lt", "lessthan", "<": return try binary("<", value, other).isTruthy
        case "le", "<=": return try binary("<=", value, other).isTruthy
        case "gt", "greaterthan", ">": return try binary(">", value, other).isTruthy
        case "ge", ">=": return try binary(">=", value, other).isTruthy
        case "in": return try binary("in", value, other).isTruthy
        case "lower": if case .string(let s) = value { return s == s.lowercased() } else { return false }
        case "upper": if case .string(let s) = value { return s == s.uppercased() } else { return false }
        default:
            throw JinjaError(.runtime, "expected a supported test, found 'is \(name)'; supported: defined, undefined, "
                + "none, string, number, integer, float, boolean, true, false, mapping, iterable, sequence, callable, "
                + "odd, even, divisibleby, eq, ne, lt, le, gt, ge, in, sameas, lower, upper", line: line)
        }
    }
}
