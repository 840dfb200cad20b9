/// Python's `str()` and `repr()` and `json.dumps` for template values, so that
/// `{{ x }}`, `x|string` and `x|tojson` print what transformers prints.
enum JinjaFormatting {
    /// Text under construction that may not grow past `JinjaLimits.maxOutputLength`
    /// UTF-8 bytes (a list holding one long string many times would otherwise
    /// print to gigabytes).
    struct BoundedText {
        private(set) var text = ""
        private var length = 0

        mutating func append(_ s: String) throws {
            length += s.utf8.count
            guard length <= JinjaLimits.maxOutputLength else {
                throw JinjaError(.limit, "expected text of at most \(JinjaLimits.maxOutputLength) bytes, found a "
                    + "longer one being built")
            }
            text += s
        }
    }

    /// `str(value)`: strings verbatim, undefined as "", others like Python.
    static func str(_ value: JinjaValue) throws -> String {
        switch value {
        case .undefined: return ""
        case .string(let s): return s
        default: return try repr(value)
        }
    }

    /// `repr(value)`, as Python prints containers.
    static func repr(_ value: JinjaValue) throws -> String {
        var out = BoundedText()
        try writeRepr(value, into: &out)
        return out.text
    }

    /// A short description of `value` for error messages; never throws.
    static func brief(_ value: JinjaValue) -> String {
        switch value {
        case .array, .object: return "a \(value.typeName)"
        case .string(let s): return pythonStringRepr(String(s.prefix(60)))
        default: return (try? repr(value)) ?? value.typeName
        }
    }

    /// `separator.join(str(item) for item in items)`, bounded like all built text.
    static func joined(_ items: [JinjaValue], separator: String) throws -> String {
        var out = BoundedText()
        for (i, item) in items.enumerated() {
            if i > 0 { try out.append(separator) }
            try out.append(try str(item))
        }
        return out.text
    }

    private static func writeRepr(_ value: JinjaValue, into out: inout BoundedText) throws {
        switch value {
        case .undefined: break
        case .none: try out.append("None")
        case .bool(let b): try out.append(b ? "True" : "False")
        case .integer(let i): try out.append(String(i))
        case .float(let d): try out.append(pythonFloat(d))
        case .string(let s): try out.append(pythonStringRepr(s))
        case .array(let a):
            try out.append("[")
            for (i, item) in a.enumerated() {
                if i > 0 { try out.append(", ") }
                try writeRepr(item, into: &out)
            }
            try out.append("]")
        case .object(let o):
            try out.append("{")
            for (i, key) in o.keys.enumerated() {
                if i > 0 { try out.append(", ") }
                try out.append(pythonStringRepr(key) + ": ")
                try writeRepr(o[key] ?? .none, into: &out)
            }
            try out.append("}")
        case .namespace(let i): try out.append("<Namespace \(i)>")
        case .function(let n): try out.append("<built-in function \(n)>")
        case .macro(let i): try out.append("<Macro \(i)>")
        }
    }

    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        return "\(d)"
    }

    static func pythonStringRepr(_ s: String) -> String {
        let plain = !s.utf8.contains { $0 < 0x20 || $0 == 0x7F || $0 == 0x5C || $0 == 0x27 }
        if plain { return "'" + s + "'" }
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
    static func json(_ value: JinjaValue, indent: Int?, sortKeys: Bool = false) throws -> String {
        var out = BoundedText()
        try writeJSON(value, indent: indent, sortKeys: sortKeys, level: 0, into: &out)
        return out.text
    }

    private static func writeJSON(_ value: JinjaValue, indent: Int?, sortKeys: Bool, level: Int,
                                  into out: inout BoundedText) throws {
        let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) } ?? ""
        let closing = indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? ""
        let separator = indent == nil ? ", " : ","
        switch value {
        case .none: try out.append("null")
        case .bool(let b): try out.append(b ? "true" : "false")
        case .integer(let i): try out.append(String(i))
        case .float(let d):
            if d.isNaN { try out.append("NaN") }
            else if d.isInfinite { try out.append(d < 0 ? "-Infinity" : "Infinity") }
            else { try out.append(pythonFloat(d)) }
        case .string(let s): try out.append(jsonString(s))
        case .array(let a):
            if a.isEmpty { return try out.append("[]") }
            try out.append("[")
            for (i, item) in a.enumerated() {
                try out.append((i > 0 ? separator : "") + newline)
                try writeJSON(item, indent: indent, sortKeys: sortKeys, level: level + 1, into: &out)
            }
            try out.append(closing + "]")
        case .object(let o):
            if o.keys.isEmpty { return try out.append("{}") }
            try out.append("{")
            for (i, key) in (sortKeys ? o.keys.sorted() : o.keys).enumerated() {
                try out.append((i > 0 ? separator : "") + newline + jsonString(key) + ": ")
                try writeJSON(o[key] ?? .none, indent: indent, sortKeys: sortKeys, level: level + 1, into: &out)
            }
            try out.append(closing + "}")
        case .undefined(let name):
            throw JinjaError(.runtime, "expected a JSON-serialisable value for tojson, found undefined '\(name)'; "
                + "check that the variable is defined")
        case .namespace, .function, .macro:
            throw JinjaError(.runtime, "expected a JSON-serialisable value for tojson, found a \(value.typeName)")
        }
    }

    private static func jsonString(_ s: String) -> String {
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) { return "\"" + s + "\"" }
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
