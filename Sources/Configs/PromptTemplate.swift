/// The user message built for one benchmark question: text with the
/// placeholders `{question}` (required: the question as the benchmark file
/// gives it) and `{instruction}` (the built-in answer-format wording of the
/// benchmark, e.g. GSM8K's "… after \"####\"."). `{{` and `}}` write literal
/// braces; any other brace (`\boxed{}`) is literal text, so only a brace pair
/// around a bare word is read as a placeholder.
///
/// ```swift
/// let t = try PromptTemplate(parsing: "Q: {question}\n{instruction}", key: "data.prompt.template")
/// t.render(question: "1+1?", instruction: "Answer after ####.")   // "Q: 1+1?\nAnswer after ####."
/// ```
public struct PromptTemplate: Equatable, Sendable {
    /// The placeholders a template may use.
    public static let placeholders = ["question", "instruction"]
    /// Today's benchmark prompt: the question, a newline, the format's instruction.
    public static let defaultText = "{question}\n{instruction}"

    enum Piece: Equatable, Sendable {
        case text(String)
        case slot(String)
    }

    /// The template as written.
    public let text: String
    let pieces: [Piece]

    /// Parses `text`; `key` names the config key in messages.
    /// - Throws: `PromptTemplateError` for an unknown placeholder (naming the
    ///   nearest valid one) or a template without `{question}`.
    public init(parsing text: String, key: String) throws {
        self.text = text
        var pieces: [Piece] = []
        var literal = ""
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if (c == "{" || c == "}"), i + 1 < chars.count, chars[i + 1] == c {
                literal.append(c)
                i += 2
                continue
            }
            if c == "{", let close = Self.wordEnd(chars, from: i + 1) {
                let name = String(chars[(i + 1)..<close])
                guard Self.placeholders.contains(name) else {
                    throw PromptTemplateError(Self.unknownPlaceholder(name, key: key))
                }
                if !literal.isEmpty { pieces.append(.text(literal)); literal = "" }
                pieces.append(.slot(name))
                i = close + 1
                continue
            }
            literal.append(c)
            i += 1
        }
        if !literal.isEmpty { pieces.append(.text(literal)) }
        guard pieces.contains(.slot("question")) else {
            throw PromptTemplateError("\(key): expected the placeholder {question} (where the benchmark's question "
                                      + "goes), found \(Self.quoted(text)) without it; add {question}, e.g. "
                                      + "\(Self.quoted(Self.defaultText))")
        }
        self.pieces = pieces
    }

    /// The template with its placeholders filled in.
    public func render(question: String, instruction: String) -> String {
        var out = ""
        for p in pieces {
            switch p {
            case .text(let s): out += s
            case .slot("question"): out += question
            case .slot(_): out += instruction
            }
        }
        return out
    }

    /// The index of the `}` closing a bare word that starts at `start`, nil when
    /// the brace does not open one (`{}`, `{a b}`, `{\frac`, no closing brace).
    private static func wordEnd(_ chars: [Character], from start: Int) -> Int? {
        var j = start
        while j < chars.count, chars[j] == "_" || (chars[j].isASCII && (chars[j].isLetter || chars[j].isNumber)) { j += 1 }
        guard j > start, j < chars.count, chars[j] == "}" else { return nil }
        return j
    }

    private static func unknownPlaceholder(_ name: String, key: String) -> String {
        let near = Spelling.nearest(name, in: placeholders).map { "did you mean {\($0)}? " } ?? ""
        return "\(key): unknown placeholder {\(name)}; expected one of "
            + placeholders.map { "{\($0)}" }.joined(separator: ", ") + ". \(near)"
            + "To write the braces literally, double them: {{\(name)}}"
    }

    private static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}

/// A prompt template that cannot be used: what is wrong and what to do.
public struct PromptTemplateError: Error, Equatable, CustomStringConvertible {
    /// The message, naming the config key.
    public let description: String
    init(_ s: String) { description = s }
}
