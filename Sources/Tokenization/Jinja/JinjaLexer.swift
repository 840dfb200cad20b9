/// One lexical unit of a template: literal text, a tag delimiter, or a token
/// inside `{{ }}` / `{% %}`.
enum JinjaToken: Equatable {
    case text(String)
    case variableBegin, variableEnd, blockBegin, blockEnd
    case name(String)
    case string(String)
    case integer(Int)
    case float(Double)
    case op(String)
}

/// Splits a template into tokens, applying whitespace control the way
/// transformers' chat-template environment does: `trim_blocks` and
/// `lstrip_blocks` on, `-` strips all whitespace on that side of a tag, `+`
/// keeps it.
struct JinjaLexer {
    private let s: [Unicode.Scalar]
    private var pos = 0
    private var line = 1
    private(set) var tokens: [(token: JinjaToken, line: Int)] = []

    /// Operators, longest first so `//` wins over `/`.
    private static let operators = ["**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">",
                                    "|", ".", ",", ":", "(", ")", "[", "]", "{", "}", "="].map { Array($0.unicodeScalars) }

    /// Tokenizes `source`; throws a `.syntax` error on an unclosed tag or string.
    static func tokenize(_ source: String) throws -> [(token: JinjaToken, line: Int)] {
        var lexer = JinjaLexer(s: normalizedLines(source))
        guard lexer.s.count <= JinjaLimits.maxTemplateLength else {
            throw JinjaError(.limit, "expected a template of at most \(JinjaLimits.maxTemplateLength) characters, "
                + "found \(lexer.s.count); use a real chat template")
        }
        try lexer.run()
        return lexer.tokens
    }

    private init(s: [Unicode.Scalar]) { self.s = s }

    /// Jinja reads a template line by line: `\r\n` and `\r` become `\n`, and
    /// one trailing newline is dropped (`keep_trailing_newline` is off).
    private static func normalizedLines(_ source: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(source.unicodeScalars.count)
        var previousCR = false
        for c in source.unicodeScalars {
            if c == "\n", previousCR { previousCR = false; continue }
            previousCR = c == "\r"
            out.append(previousCR ? "\n" : c)
        }
        if out.last == "\n" { out.removeLast() }
        return out
    }

    private func at(_ i: Int) -> Unicode.Scalar? { i < s.count ? s[i] : nil }

    private func isSpace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0B}" || c == "\u{0C}"
    }

    /// Position of the next `{{`, `{%` or `{#` at or after `from`.
    private func nextTag(from: Int) -> Int? {
        var i = from
        while i + 1 < s.count {
            if s[i] == "{", s[i + 1] == "{" || s[i + 1] == "%" || s[i + 1] == "#" { return i }
            i += 1
        }
        return nil
    }

    private mutating func advance(to end: Int) {
        while pos < end {
            if s[pos] == "\n" { line += 1 }
            pos += 1
        }
    }

    private mutating func run() throws {
        while pos < s.count {
            let textStart = pos
            let tagStart = nextTag(from: pos) ?? s.count
            var text = s[textStart..<tagStart]
            var kind: Unicode.Scalar = " "
            if tagStart < s.count {
                kind = s[tagStart + 1]
                let modifier = at(tagStart + 2)
                if modifier == "-" {
                    while let last = text.last, isSpace(last) { text.removeLast() }
                } else if modifier != "+", kind != "{" {
                    // lstrip_blocks: drop spaces and tabs between a line start and a block or comment tag.
                    let lineStart = text.lastIndex(of: "\n").map { $0 + 1 }
                    let startsLine = lineStart != nil || textStart == 0 || s[textStart - 1] == "\n"
                    let from = lineStart ?? textStart
                    if startsLine, text[from...].allSatisfy({ $0 == " " || $0 == "\t" }) {
                        text = text[..<from]
                    }
                }
            }
            if !text.isEmpty {
                var out = String.UnicodeScalarView()
                out.append(contentsOf: text)
                tokens.append((.text(String(out)), line))
            }
            advance(to: tagStart)
            guard tagStart < s.count else { return }
            let tagLine = line
            advance(to: tagStart + 2)
            if at(pos) == "-" || at(pos) == "+" { advance(to: pos + 1) }
            switch kind {
            case "#": try skipComment(startLine: tagLine)
            case "{":
                tokens.append((.variableBegin, tagLine))
                try lexInside(close: "}", startLine: tagLine)
            default:
                tokens.append((.blockBegin, tagLine))
                try lexInside(close: "%", startLine: tagLine)
            }
        }
    }

    /// After a tag's closing delimiter: `-` eats all following whitespace; a
    /// plain block or comment end eats one newline (trim_blocks).
    private mutating func afterTag(stripAll: Bool, keep: Bool, isBlock: Bool) {
        if stripAll {
            var i = pos
            while let c = at(i), isSpace(c) { i += 1 }
            advance(to: i)
        } else if isBlock, !keep, at(pos) == "\n" {
            advance(to: pos + 1)
        }
    }

    private mutating func skipComment(startLine: Int) throws {
        var i = pos
        while i + 1 < s.count, !(s[i] == "#" && s[i + 1] == "}") { i += 1 }
        guard i + 1 < s.count else {
            throw JinjaError(.syntax, "expected '#}' closing the comment, found the end of the template; close it",
                             line: startLine)
        }
        let stripAll = i > pos && s[i - 1] == "-"
        let keep = i > pos && s[i - 1] == "+"
        advance(to: i + 2)
        afterTag(stripAll: stripAll, keep: keep, isBlock: true)
    }

    private mutating func lexInside(close: Unicode.Scalar, startLine: Int) throws {
        let closeName = close == "}" ? "}}" : "%}"
        while true {
            while let c = at(pos), isSpace(c) { advance(to: pos + 1) }
            guard let c = at(pos) else {
                throw JinjaError(.syntax, "expected '\(closeName)' closing the tag opened here, found the end of the "
                    + "template; close the tag", line: startLine)
            }
            // Closing delimiter, optionally with a whitespace-control sign.
            for sign in ["", "-", "+"] {
                let signScalars = Array(sign.unicodeScalars)
                let n = signScalars.count
                if (0..<n).allSatisfy({ at(pos + $0) == signScalars[$0] }), at(pos + n) == close, at(pos + n + 1) == "}" {
                    advance(to: pos + n + 2)
                    tokens.append((close == "}" ? .variableEnd : .blockEnd, line))
                    afterTag(stripAll: sign == "-", keep: sign == "+", isBlock: close == "%")
                    return
                }
            }
            if c == "'" || c == "\"" {
                try lexString(quote: c)
            } else if c.properties.isAlphabetic || c == "_" {
                var i = pos
                while let d = at(i), d.properties.isAlphabetic || d == "_" || ("0"..."9").contains(d) { i += 1 }
                tokens.append((.name(string(pos, i)), line))
                advance(to: i)
            } else if ("0"..."9").contains(c) {
                try lexNumber()
            } else if let op = JinjaLexer.operators.first(where: { o in (0..<o.count).allSatisfy { at(pos + $0) == o[$0] } }) {
                var text = String.UnicodeScalarView()
                text.append(contentsOf: op)
                tokens.append((.op(String(text)), line))
                advance(to: pos + op.count)
            } else {
                throw JinjaError(.syntax, "expected a name, literal or operator inside the tag, found '\(c)'; "
                    + "this interpreter supports the Jinja subset used by chat templates", line: line)
            }
        }
    }

    private func string(_ from: Int, _ to: Int) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: s[from..<to])
        return String(out)
    }

    private mutating func lexNumber() throws {
        var i = pos
        while let d = at(i), ("0"..."9").contains(d) || d == "_" { i += 1 }
        var isFloat = false
        if at(i) == ".", let d = at(i + 1), ("0"..."9").contains(d) {
            isFloat = true
            i += 1
            while let d = at(i), ("0"..."9").contains(d) { i += 1 }
        }
        let text = string(pos, i).replacingOccurrences(of: "_", with: "")
        if isFloat, let v = Double(text) {
            tokens.append((.float(v), line))
        } else if let v = Int(text) {
            tokens.append((.integer(v), line))
        } else {
            throw JinjaError(.syntax, "expected a number that fits in 64 bits, found '\(text)'", line: line)
        }
        advance(to: i)
    }

    /// A quoted string with Python's common escapes (`\n`, `\t`, `\\`, quotes, `\uXXXX`).
    private mutating func lexString(quote: Unicode.Scalar) throws {
        let startLine = line
        var i = pos + 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = at(i) else {
                throw JinjaError(.syntax, "expected a closing \(quote) for the string, found the end of the template",
                                 line: startLine)
            }
            if c == quote { break }
            if c == "\\", let e = at(i + 1) {
                i += 2
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "0": out.append("\0")
                case "u", "x":
                    let width = e == "u" ? 4 : 2
                    let hex = string(i, min(i + width, s.count))
                    guard hex.unicodeScalars.count == width, let v = UInt32(hex, radix: 16),
                          let scalar = Unicode.Scalar(v) else {
                        throw JinjaError(.syntax, "expected \(width) hex digits after \\\(e), found '\(hex)'",
                                         line: line)
                    }
                    out.append(scalar)
                    i += width
                case "\n": break
                case "\\", "'", "\"": out.append(e)
                default:
                    out.append("\\")
                    out.append(e)
                }
                continue
            }
            out.append(c)
            i += 1
        }
        tokens.append((.string(String(out)), startLine))
        advance(to: i + 1)
    }
}
