import Foundation

extension Config {
    /// The full resolved config as YAML: every key (nulls included), sections in
    /// declaration order, strings double-quoted. `Config.load(yamlText:)` of
    /// this text gives back an equal config; the leader prints it and saves it with the run.
    public func resolvedYAML() -> String {
        "# ispo-cluster resolved config: every key, loadable with --config\n"
            + ConfigPrinter.yaml(ConfigTreeEncoder.tree(self))
    }

    /// The full resolved config as JSON (keys in declaration order), for
    /// checkpoint manifests and metrics. Also loadable by `Config.load(yamlText:)`.
    /// - Parameter pretty: two-space indented lines instead of one line.
    public func json(pretty: Bool = false) -> String {
        ConfigPrinter.json(ConfigTreeEncoder.tree(self), pretty: pretty, indent: "")
    }
}

/// YAML and JSON text of a `ConfigNode` tree.
enum ConfigPrinter {
    /// A double-quoted string with JSON escapes (valid in YAML and JSON).
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// One-line YAML: `8`, `"auto"`, `[0.9, 0.999]`, `{weight: 1.0}`, `null`.
    static func inline(_ node: ConfigNode) -> String {
        switch node.value {
        case .null: return "null"
        case let .scalar(s, quoted): return quoted ? quote(s) : s
        case let .sequence(items): return "[" + items.map(inline).joined(separator: ", ") + "]"
        case let .mapping(entries):
            return "{" + entries.map { "\($0.key): \(inline($0.node))" }.joined(separator: ", ") + "}"
        }
    }

    /// Block YAML of a mapping tree, a blank line between top-level sections.
    static func yaml(_ root: ConfigNode) -> String {
        guard let entries = root.entries else { return inline(root) + "\n" }
        var lines: [String] = []
        for (i, e) in entries.enumerated() {
            if i > 0, e.node.entries != nil { lines.append("") }
            lines += block(e, indent: 0)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func block(_ e: ConfigNode.Entry, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        switch e.node.value {
        case let .mapping(sub) where !sub.isEmpty:
            return ["\(pad)\(e.key):"] + sub.flatMap { block($0, indent: indent + 2) }
        case let .sequence(items) where items.contains(where: { $0.entries != nil }):
            var lines = ["\(pad)\(e.key):"]
            for item in items {
                guard let sub = item.entries, !sub.isEmpty else {
                    lines.append("\(pad)  - \(inline(item))")
                    continue
                }
                var itemLines = sub.flatMap { block($0, indent: indent + 4) }
                itemLines[0] = "\(pad)  - " + itemLines[0].dropFirst(indent + 4)
                lines += itemLines
            }
            return lines
        default:
            return ["\(pad)\(e.key): \(inline(e.node))"]
        }
    }

    /// JSON text; non-finite numbers (`.inf`, `.nan`) become strings.
    static func json(_ node: ConfigNode, pretty: Bool, indent: String) -> String {
        let inner = indent + "  "
        let (open, sep, close) = pretty ? ("\n" + inner, ",\n" + inner, "\n" + indent) : ("", ",", "")
        switch node.value {
        case .null: return "null"
        case let .scalar(s, quoted):
            return quoted || s.hasPrefix(".") || s.hasPrefix("-.") ? quote(s) : s
        case let .sequence(items):
            if items.isEmpty { return "[]" }
            return "[" + open + items.map { json($0, pretty: pretty, indent: inner) }.joined(separator: sep) + close + "]"
        case let .mapping(entries):
            if entries.isEmpty { return "{}" }
            let colon = pretty ? ": " : ":"
            return "{" + open + entries.map { quote($0.key) + colon + json($0.node, pretty: pretty, indent: inner) }
                .joined(separator: sep) + close + "}"
        }
    }
}
