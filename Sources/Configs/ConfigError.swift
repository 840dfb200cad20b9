import Foundation

/// One thing wrong with a config: what, and where it was written.
public struct ConfigProblem: Equatable, Sendable, CustomStringConvertible {
    /// The message: the full dotted key, expected, found and what to do.
    public var message: String
    /// Where the offending value or key was written; nil for problems that
    /// involve several keys (validation), whose message names every one.
    public var source: ConfigSource?

    /// A problem with `message`, optionally located at `source`.
    public init(_ message: String, source: ConfigSource? = nil) {
        self.message = message; self.source = source
    }

    /// `message (source)`.
    public var description: String {
        guard let source else { return message }
        return "\(message) [\(source)]"
    }
}

/// Everything wrong with a config at once, one problem per line, so a user
/// fixes a file in one pass instead of one error per run.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The problems, in the order they were found.
    public var problems: [ConfigProblem]

    /// An error holding `problems` (at least one).
    public init(_ problems: [ConfigProblem]) {
        self.problems = problems
    }

    /// `invalid config (N problems):` followed by one `  - …` line per problem.
    public var description: String {
        let head = problems.count == 1 ? "invalid config (1 problem):" : "invalid config (\(problems.count) problems):"
        return ([head] + problems.map { "  - \($0)" }).joined(separator: "\n")
    }

    /// Same as `description` (for `localizedDescription`).
    public var errorDescription: String? { description }
}

/// Edit distance for "did you mean" suggestions.
enum Spelling {
    /// Levenshtein distance between `a` and `b` (insert, delete, substitute cost 1).
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8), y = Array(b.utf8)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[y.count]
    }

    /// The largest distance still worth suggesting for a key of this length:
    /// typos, not different words.
    static func threshold(for key: String) -> Int { max(2, key.count / 3) }

    /// The candidate closest to `key` within the threshold (ties: first listed).
    static func nearest(_ key: String, in candidates: [String]) -> String? {
        var best: (String, Int)?
        for c in candidates {
            let d = distance(key, c)
            if d <= threshold(for: key), d < (best?.1 ?? Int.max) { best = (c, d) }
        }
        return best?.0
    }
}
