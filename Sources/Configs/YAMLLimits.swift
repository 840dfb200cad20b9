import Foundation
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

    /// The deepest nesting of lists and mappings accepted (a config nests about
    /// 5 deep); the parser and the tree conversion recurse once per level, so a
    /// document of 100000 `[` would overflow the stack.
    public static let maxNestingDepth = 100

    /// Refuses a document of `bytes` bytes over `maxDocumentBytes`.
    /// - Throws: `ConfigError` located at `source`.
    static func checkSize(bytes: Int, source: ConfigSource) throws(ConfigError) {
        guard bytes > maxDocumentBytes else { return }
        throw ConfigError([ConfigProblem(
            "the YAML document is \(bytes) bytes: expected at most \(maxDocumentBytes) bytes (1 MiB) for a config; "
                + "check that this is the intended file, and keep data out of the config (e.g. data.train_files "
                + "names JSONL files)", source: source)])
    }

    /// Refuses the file at `path` when it is over `maxDocumentBytes`, before
    /// it is read into memory; a file whose size cannot be read is left to
    /// the read itself to report.
    /// - Throws: `ConfigError` located at the file.
    static func checkFileSize(path: String) throws(ConfigError) {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int else { return }
        try checkSize(bytes: size, source: .file(name: path, line: 1, column: 1))
    }

    /// Refuses `text` before parsing when it may nest deeper than `maxNestingDepth`.
    /// - Throws: `ConfigError` located at `source`.
    static func checkNesting(_ text: String, source: ConfigSource) throws(ConfigError) {
        let bound = nestingBound(text)
        guard bound > maxNestingDepth else { return }
        throw nestingError(found: "\(bound) levels", source: source)
    }

    private static func nestingError(found: String, source: ConfigSource) -> ConfigError {
        ConfigError([ConfigProblem(
            "the YAML document nests lists and mappings \(found) deep: expected at most \(maxNestingDepth) "
                + "(a config nests about 5 deep); check for unclosed `[` or `{`, or aliases inside their own "
                + "nesting", source: source)])
    }

    /// An upper bound on the nesting depth of `text`, without parsing it: per
    /// line, the indentation (each column may open a block level), the leading
    /// `- ` and `? ` indicators, one level for a mapping, and the open `[`/`{`
    /// (carried across lines) outside quoted scalars and comments.
    static func nestingBound(_ text: String) -> Int {
        let space = UInt8(ascii: " "), dash = UInt8(ascii: "-"), question = UInt8(ascii: "?")
        let openers: Set<UInt8> = [UInt8(ascii: "["), UInt8(ascii: "{")]
        let closers: Set<UInt8> = [UInt8(ascii: "]"), UInt8(ascii: "}")]
        let scalarStarts: Set<UInt8> = [UInt8(ascii: ":"), dash, question, UInt8(ascii: "["), UInt8(ascii: "{"),
                                        UInt8(ascii: ",")]
        var flow = 0, worst = 0
        var quote: UInt8? = nil
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let bytes = Array(line)
            var i = 0
            while i < bytes.count, bytes[i] == space { i += 1 }
            var block = i
            if quote == nil {
                while i < bytes.count, bytes[i] == dash || bytes[i] == question,
                      i + 1 == bytes.count || bytes[i + 1] == space {
                    block += 1
                    i += 1
                    while i < bytes.count, bytes[i] == space { i += 1 }
                }
            }
            var previous: UInt8? = nil   // last non-space byte outside quotes on this line
            while i < bytes.count {
                let b = bytes[i]
                if let q = quote {
                    if b == UInt8(ascii: "\\"), q == UInt8(ascii: "\"") { i += 2; continue }
                    // `''` is a quote inside a single-quoted scalar.
                    if b == q, q == UInt8(ascii: "'"), i + 1 < bytes.count, bytes[i + 1] == q { i += 2; continue }
                    if b == q { quote = nil; previous = b }
                    i += 1
                    continue
                }
                if b == UInt8(ascii: "#"), i == 0 || bytes[i - 1] == space { break }
                if b == UInt8(ascii: "'") || b == UInt8(ascii: "\""), previous.map(scalarStarts.contains) ?? true {
                    quote = b
                } else if openers.contains(b) {
                    flow += 1
                    worst = max(worst, block + 1 + flow)
                } else if closers.contains(b) {
                    flow = max(0, flow - 1)
                }
                if b != space { previous = b }
                i += 1
            }
            worst = max(worst, block + 1 + flow)
        }
        return worst
    }

    /// Refuses `root` when it expands to more than `maxExpandedValues` values,
    /// or nests deeper than `maxNestingDepth` (aliases can nest a value inside
    /// copies of itself). Counts with an explicit stack and stops at the limit,
    /// so the check itself takes time and memory proportional to the limit.
    /// - Throws: `ConfigError` located at `source`.
    static func checkExpansion(_ root: Yams.Node, bytes: Int, source: ConfigSource) throws(ConfigError) {
        let depth = deepestNesting(root, limit: maxNestingDepth)
        if depth > maxNestingDepth { throw nestingError(found: "more than \(maxNestingDepth) levels", source: source) }
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

    /// The deepest nesting of lists and mappings under `root` (a scalar is 0),
    /// or `limit + 1` once it passes `limit`. Aliases are followed.
    static func deepestNesting(_ root: Yams.Node, limit: Int) -> Int {
        var worst = 0
        var stack = [(root, 0)]
        var visited = 0
        while let (node, depth) = stack.popLast() {
            visited += 1
            // Past the expansion limit the count check refuses the document anyway.
            if visited > maxExpandedValues { return worst }
            if let seq = node.sequence {
                worst = max(worst, depth + 1)
                if worst > limit { return limit + 1 }
                stack.append(contentsOf: seq.map { ($0, depth + 1) })
            } else if let map = node.mapping {
                worst = max(worst, depth + 1)
                if worst > limit { return limit + 1 }
                for (k, v) in map { stack.append((k, depth + 1)); stack.append((v, depth + 1)) }
            }
        }
        return worst
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
