/// A value seen by a Jinja template: Python's types as transformers passes
/// them (None, bool, int, float, str, list, dict) plus Jinja's undefined, the
/// mutable `namespace()` objects and built-in functions.
public indirect enum JinjaValue: Sendable, Equatable {
    /// A name or key that does not exist; renders as "" and is false.
    case undefined(String)
    /// Python's `None`.
    case none
    /// A boolean.
    case bool(Bool)
    /// An integer.
    case integer(Int)
    /// A floating-point number.
    case float(Double)
    /// A string.
    case string(String)
    /// A list.
    case array([JinjaValue])
    /// A dict with string keys, in insertion order.
    case object(JinjaObject)
    /// A `namespace()` object, by its index in the evaluator's namespace store.
    case namespace(Int)
    /// A built-in global function (`raise_exception`, `range`, …), by name.
    case function(String)
    /// A template `{% macro %}`, by its index in the evaluator's macro store.
    case macro(Int)

    /// Python truthiness (undefined is false).
    public var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .integer(let i): return i != 0
        case .float(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.keys.isEmpty
        case .namespace, .function, .macro: return true
        }
    }

    /// The Python type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .integer: return "int"
        case .float: return "float"
        case .string: return "str"
        case .array: return "list"
        case .object: return "dict"
        case .namespace: return "Namespace"
        case .function: return "builtin_function"
        case .macro: return "Macro"
        }
    }

    /// Numeric view of int, float and bool (Python treats bools as ints).
    var number: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .float(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// Python `==`: numbers compare by value across int/float/bool, containers element-wise.
    func pythonEquals(_ other: JinjaValue) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pythonEquals($1) }
        case (.object(let a), .object(let b)):
            return a.keys.count == b.keys.count
                && a.keys.allSatisfy { k in b.values[k].map { a.values[k]?.pythonEquals($0) ?? false } ?? false }
        case (.namespace(let a), .namespace(let b)): return a == b
        case (.function(let a), .function(let b)): return a == b
        case (.macro(let a), .macro(let b)): return a == b
        default:
            if let x = number, let y = other.number { return x == y }
            return false
        }
    }
}

/// A Python dict with string keys that remembers insertion order (for
/// `items()` and `tojson`).
public struct JinjaObject: Sendable, Equatable {
    /// Keys in insertion order.
    public private(set) var keys: [String] = []
    /// Values by key.
    public private(set) var values: [String: JinjaValue] = [:]

    /// An empty dict.
    public init() {}

    /// A dict from `pairs`, in order; a repeated key keeps its first position and last value.
    public init(_ pairs: [(String, JinjaValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    /// The value under `key`, or nil; setting appends new keys at the end.
    public subscript(key: String) -> JinjaValue? {
        get { values[key] }
        set {
            if values[key] == nil, newValue != nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            values[key] = newValue
        }
    }
}
