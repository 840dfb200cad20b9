import Foundation

/// Errors of the data loaders: each names the file and line, what was
/// expected, what was found, and what to do.
public enum DataLoadError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or read.
    case cannotOpen(path: String, reason: String)
    /// A line that is not valid JSON.
    case notJSON(path: String, line: Int, detail: String)
    /// A line whose JSON is not an object.
    case notAnObject(path: String, line: Int, found: String)
    /// A required field is absent (`found` lists the fields present, sorted).
    case missingField(path: String, line: Int, field: String, found: [String])
    /// A field has the wrong JSON type.
    case wrongType(path: String, line: Int, field: String, expected: String, found: String)
    /// A field has the right type but an unusable value.
    case badValue(path: String, line: Int, field: String, detail: String)
    /// A benchmark name that is not known.
    case unknownBenchmark(name: String, valid: [String])

    /// What went wrong, where, and what to do.
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "\(path): cannot read (\(reason)); check the path, or run Launch/fetch-data.sh for the benchmark cache"
        case let .notJSON(path, line, detail):
            return "\(path):\(line): expected one JSON object per line, found text that is not JSON (\(detail)); "
                + "fix or remove the line"
        case let .notAnObject(path, line, found):
            return "\(path):\(line): expected a JSON object, found \(found); each line must be {\"field\": …}"
        case let .missingField(path, line, field, found):
            return "\(path):\(line): missing field '\(field)'; fields found: \(found.joined(separator: ", ")); "
                + "is this the right file for this loader?"
        case let .wrongType(path, line, field, expected, found):
            return "\(path):\(line): field '\(field)' should be \(expected), found \(found)"
        case let .badValue(path, line, field, detail):
            return "\(path):\(line): field '\(field)': \(detail)"
        case let .unknownBenchmark(name, valid):
            return "unknown benchmark '\(name)': expected one of \(valid.joined(separator: ", ")), "
                + "a verl JSONL file (a path ending in .jsonl or containing '/'), or synthetic:<family>"
        }
    }
}

/// A JSON value as read from a JSONL line.
public indirect enum JSONValue: Equatable, Sendable, Decodable {
    /// `null`.
    case null
    /// `true` / `false`.
    case bool(Bool)
    /// A number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object.
    case object([String: JSONValue])

    /// Decodes any JSON value.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null } else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// The JSON type's name, for messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Scalars as text: strings as they are, numbers as written by Python for
    /// floats (`145`, not `145.0`, for whole numbers; `3244047.0999999996`),
    /// booleans `true`/`false`, null `null`; arrays and objects as compact JSON.
    public var text: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .number(d): return Self.render(d)
        case let .string(s): return s
        case .array, .object:
            let data = (try? JSONSerialization.data(withJSONObject: foundation, options: [.sortedKeys, .withoutEscapingSlashes]))
            return data.map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
    }

    /// A number as text: whole numbers without a fraction, others shortest round-trip.
    public static func render(_ d: Double) -> String {
        if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    /// The value as Foundation objects, for `JSONSerialization`.
    var foundation: Any {
        switch self {
        case .null: return NSNull()
        case let .bool(b): return b
        case let .number(d): return d == d.rounded() && abs(d) < 1e15 ? Int64(d) as Any : d
        case let .string(s): return s
        case let .array(a): return a.map(\.foundation)
        case let .object(o): return o.mapValues(\.foundation)
        }
    }
}

/// One object line of a JSONL file, with typed field access that throws
/// `DataLoadError`s naming the file, line and field.
public struct JSONRecord {
    /// File the record came from.
    public let path: String
    /// 1-based line number.
    public let line: Int
    /// The object's fields.
    public let fields: [String: JSONValue]
    /// Prepended to field names in errors (`reward_model.` for a nested object).
    public var fieldPrefix = ""

    /// A record of `fields` read from `path` at `line`.
    public init(path: String, line: Int, fields: [String: JSONValue], fieldPrefix: String = "") {
        self.path = path
        self.line = line
        self.fields = fields
        self.fieldPrefix = fieldPrefix
    }

    /// The field's value; throws `missingField` listing the fields present.
    public func value(_ key: String) throws -> JSONValue {
        guard let v = fields[key] else {
            throw DataLoadError.missingField(path: path, line: line, field: fieldPrefix + key, found: fields.keys.sorted())
        }
        return v
    }

    /// A string field.
    public func string(_ key: String) throws -> String {
        let v = try value(key)
        guard case let .string(s) = v else {
            throw DataLoadError.wrongType(path: path, line: line, field: fieldPrefix + key, expected: "a string", found: v.typeName)
        }
        return s
    }

    /// A string or number field, as text (numbers rendered by `JSONValue.render`).
    public func scalarText(_ key: String) throws -> String {
        let v = try value(key)
        switch v {
        case .string, .number: return v.text
        default:
            throw DataLoadError.wrongType(path: path, line: line, field: fieldPrefix + key, expected: "a string or a number",
                                          found: v.typeName)
        }
    }

    /// A field's text when present (any type), else nil.
    public func optionalText(_ key: String) -> String? { fields[key].map(\.text) }
}

/// Streaming JSONL: reads a file in chunks and hands over one parsed object
/// per non-blank line, never holding the whole file.
public enum JSONLReader {
    /// Calls `body` for each object line of `path` until it returns false or
    /// the file ends. Throws `DataLoadError` for unreadable files and lines
    /// that are not JSON objects; errors from `body` pass through.
    public static func forEachRecord(path: String, _ body: (JSONRecord) throws -> Bool) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file"
            throw DataLoadError.cannotOpen(path: path, reason: reason)
        }
        defer { try? handle.close() }
        let decoder = JSONDecoder()
        var buffer = Data()
        var lineNumber = 0
        var finished = false
        func process(_ raw: Data) throws -> Bool {
            lineNumber += 1
            var bytes = raw
            if lineNumber == 1, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
            if bytes.last == 0x0D { bytes = bytes.dropLast() }
            guard bytes.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return true }
            let value: JSONValue
            do { value = try decoder.decode(JSONValue.self, from: bytes) } catch {
                let shown = String(decoding: bytes.prefix(60), as: UTF8.self)
                throw DataLoadError.notJSON(path: path, line: lineNumber, detail: "line starts \(shown.debugDescription)")
            }
            guard case let .object(fields) = value else {
                throw DataLoadError.notAnObject(path: path, line: lineNumber, found: value.typeName)
            }
            return try body(JSONRecord(path: path, line: lineNumber, fields: fields))
        }
        while !finished {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw DataLoadError.cannotOpen(path: path, reason: "read failed after line \(lineNumber): \(error)")
            }
            if chunk.isEmpty { break }
            buffer.append(chunk)
            var start = buffer.startIndex
            while let nl = buffer[start...].firstIndex(of: 0x0A) {
                if try !process(buffer[start..<nl]) { finished = true; break }
                start = buffer.index(after: nl)
            }
            buffer = Data(buffer[start...])
        }
        if !finished, !buffer.isEmpty { _ = try process(buffer) }
    }
}
