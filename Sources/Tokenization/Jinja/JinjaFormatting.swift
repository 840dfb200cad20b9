/// Python's `str()` and `repr()` and `json.dumps` for template values, so that
/// `{{ x }}`, `x|string` and `x|tojson` print what transformers prints.
enum JinjaFormatting {
    /// `str(value)`: strings verbatim, undefined as "", others like Python.
    static func str(_ value: JinjaValue) -> String {
        switch value {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr(value)
        }
    }

    /// `repr(value)`, as Python prints containers.
    static func repr(_ value: JinjaValue) -> String {
        switch value {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .integer(let i): return String(i)
        case .float(let d): return pythonFloat(d)
        case .string(let s): return pythonStringRepr(s)
        case .array(let a): return "[" + a.map(repr).joined(separator: ", ") + "]"
        case .object(let o):
            return "{" + o.keys.map { pythonStringRepr($0) + ": " + repr(o.values[$0] ?? .none) }
                .joined(separator: ", ") + "}"
        case .namespace(let i): return "<Namespace \(i)>"
        case .function(let n): return "<built-in function \(n)>"
        case .macro(let i): return "<Macro \(i)>"
        }
    }

    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        return "\(d)"
    }

    private static func pythonStringRepr(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(c) == quote { out += "\\" + String(quote) }
                else if c.value < 0x20 || c.value == 0x7F { out += "\\x" + hex(c.value, width: 2) }
                else { out.unicodeScalars.append(c) }
            }
        }
        out.append(quote)
        return out
    }

    private static func hex(_ v: UInt32, width: Int) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `json.dumps(value, ensure_ascii=False, indent=indent)`, as transformers'
    /// `tojson` filter calls it; keys keep insertion order unless `sortKeys`.
    static func json(_ value: JinjaValue, indent: Int?, sortKeys: Bool = false, level: Int = 0) throws -> String {
        let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) }
        let closing = indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? ""
        let separator = indent == nil ? ", " : ","
        switch value {
        case .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .float(let d):
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
            return pythonFloat(d)
        case .string(let s): return jsonString(s)
        case .array(let a):
            if a.isEmpty { return "[]" }
            let items = try a.map { (newline ?? "") + (try json($0, indent: indent, sortKeys: sortKeys, level: level + 1)) }
            return "[" + items.joined(separator: separator) + closing + "]"
        case .object(let o):
            if o.keys.isEmpty { return "{}" }
            let keys = sortKeys ? o.keys.sorted() : o.keys
            let items = try keys.map {
                (newline ?? "") + jsonString($0) + ": "
                    + (try json(o.values[$0] ?? .none, indent: indent, sortKeys: sortKeys, level: level + 1))
            }
            return "{" + items.joined(separator: separator) + closing + "}"
        case .undefined(let name):
            throw JinjaError(.runtime, "expected a JSON-serialisable value for tojson, found undefined '\(name)'; "
                + "check that the variable is defined")
        case .namespace, .function, .macro:
            throw JinjaError(.runtime, "expected a JSON-serialisable value for tojson, found a \(value.typeName)")
        }
    }

    private static func jsonString(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 { out += "\\u" + hex(c.value, width: 4) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }
}
