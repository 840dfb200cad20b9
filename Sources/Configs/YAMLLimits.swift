import Yams

/// Hard limits on a YAML document (a config file, a mergekit file or one
/// override value), checked before the document is turned into a config tree.
///
/// YAML aliases (`*a`) repeat the whole value of their anchor (`&a`), so a
/// 1.6 KB file of nested anchors can stand for billions of values; expanding
/// it would use all memory and abort. The parser shares anchored values, so
/// the document is counted as it would expand, stopping at the limit, and
/// refused before anything is expanded.
public enum YAMLLimits {
    /// The largest document accepted, in bytes (1 MiB; real configs are a few KB).
    public static let maxDocumentBytes = 1 << 20

    /// The most values (scalars, lists and mappings, each alias counted as a
    /// full copy of its anchor) a document may expand to; a full config has
    /// about 200.
    public static let maxExpandedValues = 100_000

    /// Refuses a document of `bytes` bytes over `maxDocumentBytes`.
    /// - Throws: `ConfigError` located at `source`.
    static func checkSize(bytes: Int, source: ConfigSource) throws(ConfigError) {
        guard bytes > maxDocumentBytes else { return }
        throw ConfigError([ConfigProblem(
            "the YAML document is \(bytes) bytes: expected at most \(maxDocumentBytes) bytes (1 MiB) for a config; "
                + "check that this is the intended file, and keep data out of the config (e.g. data.train_files "
                + "names JSONL files)", source: source)])
    }

    /// Refuses `root` when it expands to more than `maxExpandedValues` values.
    /// Counts with an explicit stack and stops at the limit, so the check
    /// itself takes time and memory proportional to the limit.
    /// - Throws: `ConfigError` located at `source`.
    static func checkExpansion(_ root: Yams.Node, bytes: Int, source: ConfigSource) throws(ConfigError) {
        guard expandedCount(root, limit: maxExpandedValues) > maxExpandedValues else { return }
        let written = writtenCount(root)
        throw ConfigError([ConfigProblem(
            "the YAML document expands to more than \(maxExpandedValues) values once its aliases (`*name`) are "
                + "replaced by their anchors (`&name`), but writes only \(written) values in \(bytes) bytes: "
                + "aliases nested inside anchors multiply (an alias bomb); expected at most \(maxExpandedValues) "
                + "values after expansion; write the values out or remove the nested aliases", source: source)])
    }

    /// The number of values `root` expands to, or `limit + 1` once it passes `limit`.
    static func expandedCount(_ root: Yams.Node, limit: Int) -> Int {
        var count = 0
        var stack = [root]
        while let node = stack.popLast() {
            count += 1
            if count + stack.count > limit { return limit + 1 }
            if let seq = node.sequence {
                stack.append(contentsOf: seq)
            } else if let map = node.mapping {
                for (k, v) in map { stack.append(k); stack.append(v) }
            }
        }
        return count
    }

    /// The number of values written in the document: a value reached again
    /// through an alias (the parser gives it its anchor's position) counts once.
    static func writtenCount(_ root: Yams.Node) -> Int {
        struct Place: Hashable { var line: Int, column: Int, kind: Int }
        func place(_ n: Yams.Node) -> Place? {
            guard let m = n.mark else { return nil }
            return Place(line: m.line, column: m.column, kind: n.scalar != nil ? 0 : n.sequence != nil ? 1 : 2)
        }
        var seen = Set<Place>()
        var count = 0
        var stack = [root]
        while let node = stack.popLast() {
            if let p = place(node), !seen.insert(p).inserted { continue }
            count += 1
            if let seq = node.sequence {
                stack.append(contentsOf: seq)
            } else if let map = node.mapping {
                for (k, v) in map { stack.append(k); stack.append(v) }
            }
        }
        return count
    }
}
