import Foundation

/// Matrix and vector answers (`\begin{pmatrix} -1/3 \\ 2/3 \end{pmatrix}`),
/// read from the raw text: Hendrycks normalisation turns the row separator
/// `\\` into `\`, so rows must be cut before it runs.
extension AnswerStructure {
    /// Matrix environments treated alike: the bracket style is notation, not value.
    static let matrixEnvironments = ["pmatrix", "bmatrix", "matrix", "vmatrix", "Bmatrix"]

    /// The cells of a raw answer that is one matrix environment, row by row;
    /// nil for anything else.
    static func matrixCells(_ raw: String) -> [[String]]? {
        guard raw.utf8.count > 8, raw.contains("\\begin{") else { return nil }
        let s = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        for env in matrixEnvironments {
            let begin = "\\begin{\(env)}", end = "\\end{\(env)}"
            guard s.hasPrefix(begin), s.hasSuffix(end), s.count >= begin.count + end.count else { continue }
            let body = s.dropFirst(begin.count).dropLast(end.count)
            guard !body.contains("\\begin") else { return nil }
            var rows = body.components(separatedBy: "\\\\").map { $0.components(separatedBy: "&") }
            if rows.count > 1, rows.last?.allSatisfy({ $0.allSatisfy(\.isWhitespace) }) == true { rows.removeLast() }
            return rows
        }
        return nil
    }

    /// Whether two matrices have the same shape and equivalent cells, each
    /// normalised and compared as an item (`-1/3` = `-\frac{1}{3}`).
    static func matricesEquivalent(_ a: [[String]], _ t: [[String]], budget: inout Budget) throws -> Bool {
        guard a.count == t.count, zip(a, t).allSatisfy({ $0.count == $1.count }),
              a.reduce(0, { $0 + $1.count }) <= maxItems else { return false }
        for (ra, rt) in zip(a, t) {
            for (x, y) in zip(ra, rt) {
                let u = try MathNormalization.normalize(x, budget: &budget)
                let v = try MathNormalization.normalize(y, budget: &budget)
                guard !v.isEmpty, try itemsEquivalent(u, v, budget: &budget) else { return false }
            }
        }
        return true
    }
}
