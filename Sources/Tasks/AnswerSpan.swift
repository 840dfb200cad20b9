/// Where a response's final answer starts, so ISPO can score the answer with
/// and without the thinking before it (METHODS §1, the sequence signal).
///
/// A response is thinking, then an answer marker, then the answer. The markers,
/// in order of preference (the last occurrence of the first kind found wins):
/// - a line starting `A:` (the synthetic families: `T:…\nA:42`);
/// - `\boxed{` (MATH-style answers);
/// - `####` (GSM8K-style answers).
/// Offsets are in UTF-8 bytes of the response text.
public struct AnswerSpan: Equatable, Sendable {
    /// Byte offset where the marker begins (the end of the thinking).
    public let markerStart: Int
    /// Byte offset where the answer itself begins (after the marker and spaces).
    public let answerStart: Int
    /// What the response looks like with its thinking emptied, up to the marker:
    /// `T:\n` for a synthetic trace, empty otherwise.
    public let emptiedThinking: String
    /// The marker text from `markerStart` up to `answerStart`.
    public let marker: String

    /// The answer span of `response`, or nil when it has no answer marker or
    /// nothing after it.
    public static func locate(in response: String) -> AnswerSpan? {
        let b = Array(response.utf8)
        let emptied = b.starts(with: Array("T:".utf8)) ? "T:\n" : ""
        if let m = lastLineMarker(b, "A:") ?? lastMarker(b, "\\boxed{") ?? lastMarker(b, "####") {
            var a = m.end
            while a < b.count && (b[a] == 0x20 || b[a] == 0x09) { a += 1 }
            guard a < b.count else { return nil }
            let marker = String(decoding: b[m.start..<a], as: UTF8.self)
            return AnswerSpan(markerStart: m.start, answerStart: a, emptiedThinking: emptied, marker: marker)
        }
        return nil
    }

    /// Last occurrence of `marker` at the start of a line.
    static func lastLineMarker(_ b: [UInt8], _ marker: String) -> (start: Int, end: Int)? {
        let m = Array(marker.utf8)
        guard b.count >= m.count else { return nil }
        for i in stride(from: b.count - m.count, through: 0, by: -1) where (i == 0 || b[i - 1] == 0x0A) {
            if Array(b[i..<(i + m.count)]) == m { return (i, i + m.count) }
        }
        return nil
    }

    /// Last occurrence of `marker` anywhere.
    static func lastMarker(_ b: [UInt8], _ marker: String) -> (start: Int, end: Int)? {
        let m = Array(marker.utf8)
        guard b.count >= m.count else { return nil }
        for i in stride(from: b.count - m.count, through: 0, by: -1) where b[i] == m[0] {
            if Array(b[i..<(i + m.count)]) == m { return (i, i + m.count) }
        }
        return nil
    }
}
