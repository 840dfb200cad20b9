import Foundation
import Yams

/// Where a config value came from, so every message can point at it.
public enum ConfigSource: Equatable, Sendable, CustomStringConvertible {
    /// A YAML document: its name (file path, or a label for in-memory text) and
    /// the 1-based line and column of the value or key.
    case file(name: String, line: Int, column: Int)
    /// The `index`-th (1-based) dotted command-line override, with its text.
    /// Counts only the user's own overrides (a preset is numbered on its own).
    case override(index: Int, text: String)
    /// The `index`-th (1-based) dotted override of a built-in preset (e.g. the
    /// demo job's settings), which sits under the file and the user's overrides.
    case preset(index: Int, text: String)
    /// The built-in default (written once, in the Swift section types).
    case defaults

    /// `a.yaml:12:3`, `command-line override 2 (rollout.n=abc)`, `built-in preset setting 3 (…)`
    /// or `built-in default`.
    public var description: String {
        switch self {
        case let .file(name, line, column): return "\(name):\(line):\(column)"
        case let .override(index, text): return "command-line override \(index) (`\(text)`)"
        case let .preset(index, text): return "built-in preset setting \(index) (`\(text)`)"
        case .defaults: return "built-in default"
        }
    }
}

/// The generic tree every config passes through before it becomes typed
/// sections: YAML documents, overrides and the defaults all become this, get
/// merged, checked against the schema and then decoded. Mapping order is kept.
struct ConfigNode: Equatable, Sendable {
    /// The node's content.
    enum Value: Equatable, Sendable {
        /// `null`, `~` or an empty value.
        case null
        /// Scalar text; `quoted` records that YAML must quote it (a string) when printed.
        case scalar(String, quoted: Bool)
        /// A list.
        case sequence([ConfigNode])
        /// Key → node, in document order.
        case mapping([Entry])
    }

    /// One key of a mapping.
    struct Entry: Equatable, Sendable {
        /// The key as written.
        var key: String
        /// Where the key itself is written.
        var keySource: ConfigSource
        /// Its value.
        var node: ConfigNode
    }

    var value: Value
    var source: ConfigSource
    /// The dotted path the user actually wrote, when an alias moved this node.
    var writtenPath: String?
    /// The Swift type that produced a mapping (encoder only; used by the reference doc).
    var typeName: String?

    init(_ value: Value, source: ConfigSource, typeName: String? = nil) {
        self.value = value; self.source = source; self.typeName = typeName
    }

    /// An empty mapping.
    static func emptyMapping(_ source: ConfigSource) -> ConfigNode { ConfigNode(.mapping([]), source: source) }

    /// Mapping entries, or nil if this is not a mapping.
    var entries: [Entry]? {
        if case let .mapping(e) = value { return e }
        return nil
    }

    /// The child at `key` of a mapping.
    subscript(key: String) -> ConfigNode? {
        entries?.first(where: { $0.key == key })?.node
    }

    /// A short rendering of the value for messages: `8`, `"auto"`, `[0.9, 0.95]`, `a mapping`.
    var shortDescription: String {
        switch value {
        case .null: return "null"
        case let .scalar(s, _): return "'\(s)'"
        case let .sequence(items):
            if items.allSatisfy({ if case .scalar = $0.value { return true }; return false }), items.count <= 6 {
                return "[" + items.map { $0.scalarText ?? "" }.joined(separator: ", ") + "]"
            }
            return "a list of \(items.count)"
        case let .mapping(e): return "a mapping with keys " + e.prefix(6).map(\.key).joined(separator: ", ")
        }
    }

    /// The text of a scalar node.
    var scalarText: String? {
        if case let .scalar(s, _) = value { return s }
        return nil
    }

    /// Structural equality that compares numbers by value (`0.2` == `0.20`) and
    /// ignores where things were written; used for alias conflicts.
    func sameValue(as other: ConfigNode) -> Bool {
        switch (value, other.value) {
        case (.null, .null): return true
        case let (.scalar(a, _), .scalar(b, _)):
            if let x = Double(a), let y = Double(b) { return x == y }
            return a == b
        case let (.sequence(a), .sequence(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.sameValue(as: $1) }
        case let (.mapping(a), .mapping(b)):
            return a.count == b.count && a.allSatisfy { e in
                b.first(where: { $0.key == e.key }).map { e.node.sameValue(as: $0.node) } ?? false
            }
        default: return false
        }
    }

    /// Records `path` as the written path of this node and every descendant
    /// that has none yet (so messages name what the user wrote after an alias move).
    mutating func markWritten(_ path: String) {
        if writtenPath == nil { writtenPath = path }
        switch value {
        case var .mapping(entries):
            for i in entries.indices { entries[i].node.markWritten(path + "." + entries[i].key) }
            value = .mapping(entries)
        case var .sequence(items):
            for i in items.indices { items[i].markWritten(path + ".\(i)") }
            value = .sequence(items)
        default: break
        }
    }
}

// MARK: - From YAML

extension ConfigNode {
    /// Parses a YAML document into a tree; an empty document is an empty mapping.
    /// Duplicate keys are reported into `problems` (the later one is kept).
    /// Documents over `YAMLLimits.maxDocumentBytes`, nested deeper than
    /// `YAMLLimits.maxNestingDepth`, or whose aliases would expand past
    /// `YAMLLimits.maxExpandedValues`, are refused before expanding.
    /// - Throws: `ConfigError` naming `name`, the line and column, and the parser's complaint.
    static func parse(yaml: String, name: String, problems: inout [ConfigProblem]) throws(ConfigError) -> ConfigNode {
        try YAMLLimits.checkSize(bytes: yaml.utf8.count, source: .file(name: name, line: 1, column: 1))
        try YAMLLimits.checkNesting(yaml, source: .file(name: name, line: 1, column: 1))
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigError([yamlProblem(error, name: name)])
        } catch {
            throw ConfigError([ConfigProblem("malformed YAML: \(error); expected UTF-8 YAML text",
                                             source: .file(name: name, line: 1, column: 1))])
        }
        guard let root else { return .emptyMapping(.file(name: name, line: 1, column: 1)) }
        try YAMLLimits.checkExpansion(root, bytes: yaml.utf8.count, source: .file(name: name, line: 1, column: 1))
        return convert(root, name: name, problems: &problems)
    }

    /// The override value `text` (YAML: a scalar, `[a, b]`, `{k: v}`), located at `source`;
    /// held to the same size, nesting and alias limits as a document.
    static func parseOverrideValue(_ text: String, source: ConfigSource) throws(ConfigError) -> ConfigNode {
        try YAMLLimits.checkSize(bytes: text.utf8.count, source: source)
        try YAMLLimits.checkNesting(text, source: source)
        var problems: [ConfigProblem] = []
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError([ConfigProblem(
                "the value `\(text)` is not valid YAML: expected a scalar or a flow list like [0.9, 0.95]; "
                    + "quote it if it is a string", source: source)])
        }
        guard let root else { return ConfigNode(.scalar("", quoted: true), source: source) }
        try YAMLLimits.checkExpansion(root, bytes: text.utf8.count, source: source)
        var node = convert(root, name: "override", problems: &problems)
        node.resource(source)
        if !problems.isEmpty { throw ConfigError(problems.map { ConfigProblem($0.message, source: source) }) }
        return node
    }

    /// Replaces the source of this node and all descendants.
    private mutating func resource(_ s: ConfigSource) {
        source = s
        switch value {
        case var .mapping(entries):
            for i in entries.indices { entries[i].keySource = s; entries[i].node.resource(s) }
            value = .mapping(entries)
        case var .sequence(items):
            for i in items.indices { items[i].resource(s) }
            value = .sequence(items)
        default: break
        }
    }

    private static func source(_ node: Yams.Node, _ name: String) -> ConfigSource {
        let mark = node.mark
        return .file(name: name, line: mark?.line ?? 0, column: mark?.column ?? 0)
    }

    private static func convert(_ node: Yams.Node, name: String, problems: inout [ConfigProblem]) -> ConfigNode {
        let src = source(node, name)
        if let s = node.scalar {
            let plain = s.style == .plain || s.style == .any
            if plain, ["", "~", "null", "Null", "NULL"].contains(s.string) { return ConfigNode(.null, source: src) }
            return ConfigNode(.scalar(s.string, quoted: !plain), source: src)
        }
        if let seq = node.sequence {
            return ConfigNode(.sequence(seq.map { convert($0, name: name, problems: &problems) }), source: src)
        }
        guard let map = node.mapping else { return ConfigNode(.null, source: src) }
        var entries: [Entry] = []
        for (k, v) in map {
            let key = k.scalar?.string ?? "\(k)"
            let entry = Entry(key: key, keySource: source(k, name), node: convert(v, name: name, problems: &problems))
            if let i = entries.firstIndex(where: { $0.key == key }) {
                problems.append(ConfigProblem(
                    "duplicate key `\(key)` (first at \(entries[i].keySource)); "
                        + "expected each key once per mapping: delete one of them", source: entry.keySource))
                entries[i] = entry
            } else {
                entries.append(entry)
            }
        }
        return ConfigNode(.mapping(entries), source: src)
    }

    private static func yamlProblem(_ error: YamlError, name: String) -> ConfigProblem {
        func located(_ problem: String, _ context: YamlError.Context?, _ mark: Mark) -> ConfigProblem {
            let ctx = context.map { " (\($0.text))" } ?? ""
            return ConfigProblem("malformed YAML: \(problem)\(ctx); expected a valid YAML mapping of sections, "
                                    + "check indentation, colons and brackets around this line",
                                 source: .file(name: name, line: mark.line, column: mark.column))
        }
        switch error {
        case let .scanner(context, problem, mark, _): return located(problem, context, mark)
        case let .parser(context, problem, mark, _): return located(problem, context, mark)
        case let .composer(context, problem, mark, _): return located(problem, context, mark)
        default:
            return ConfigProblem("malformed YAML: \(error); expected UTF-8 YAML text",
                                 source: .file(name: name, line: 1, column: 1))
        }
    }
}
