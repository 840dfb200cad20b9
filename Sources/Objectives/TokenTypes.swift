/// A coarse class of a token's decoded text, for "what kind of tokens are the
/// T3S anchors" ([sec]: mostly connectives, punctuation, thought leads).
public enum TokenType: String, CaseIterable, Codable, Sendable {
    /// Only whitespace (spaces, newlines) or empty.
    case whitespace
    /// Only punctuation and symbols (`.`, `,`, `=`, `**`, `\(`).
    case punctuation
    /// One of `TokenTypes.connectives`, any case, surrounding whitespace ignored.
    case connective
    /// Only decimal digits (`7`, `42`).
    case digits
    /// Anything else (words, mixed text).
    case other
}

/// Classifies decoded token texts and counts the classes of a token set.
public enum TokenTypes {
    /// Discourse connectives and thought-lead words (lowercase).
    public static let connectives: Set<String> = [
        "so", "then", "therefore", "thus", "hence", "wait", "but", "because", "since",
        "first", "next", "now", "finally", "however", "alternatively", "and", "or",
        "let", "okay", "ok", "hmm", "also",
    ]

    /// The class of one token's decoded text (e.g. `" So"` → `.connective`).
    public static func classify(_ text: String) -> TokenType {
        let core = text.trimmingWhitespace()
        if core.isEmpty { return .whitespace }
        if core.allSatisfy({ $0.isPunctuation || $0.isSymbol }) { return .punctuation }
        if core.allSatisfy({ $0.isASCII && $0.isNumber }) { return .digits }
        if connectives.contains(core.lowercased()) { return .connective }
        return .other
    }

    /// How many of the selected texts fall in each class (every class present,
    /// zero if unseen). texts: (T) decoded tokens; selected: (T), e.g. T3S anchors.
    public static func breakdown(texts: [String], selected: [Bool]) -> [TokenType: Int] {
        precondition(texts.count == selected.count, "TokenTypes: \(texts.count) texts for \(selected.count) flags")
        var counts = Dictionary(uniqueKeysWithValues: TokenType.allCases.map { ($0, 0) })
        for (text, s) in zip(texts, selected) where s { counts[classify(text), default: 0] += 1 }
        return counts
    }
}

fileprivate extension String {
    /// The text without leading and trailing whitespace and newlines.
    func trimmingWhitespace() -> Substring {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return s
    }
}
