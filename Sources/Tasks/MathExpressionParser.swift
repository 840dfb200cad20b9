import Foundation

extension MathExpression {
    /// Deepest nesting of groups, fractions, roots and signs that is read;
    /// deeper input is declined (real answers nest a few levels; the limit
    /// keeps a pathological `\frac{\frac{…` from exhausting the stack).
    public static let maxDepth = 64

    /// `text` read as one scalar expression, or nil when it is not one (a list,
    /// an equation, a word, an unknown command, unbalanced groups).
    /// Understands numbers (and mixed numbers `2\frac{1}{3}`), `\frac{a}{b}` (`\dfrac`, `\tfrac`, `\frac12`),
    /// `^` (`x^2`, `x^{1/2}`), `\sqrt{}` and `\sqrt[n]{}`, implicit
    /// multiplication (`2x`, `2\sqrt{2}`, `(x+1)(x-1)`), `\pi`, `\infty`,
    /// `\cdot`, `\times`, `*`, `/`, `\div`, parentheses with or without
    /// `\left`/`\right`, unary minus, single-letter variables and
    /// `\sin \cos \tan \cot \sec \csc \ln \log \exp`. A run of three or more
    /// letters is a word, not a product of variables, and is declined.
    public static func parse(_ text: String) -> MathExpression? {
        var budget = Budget.unlimited
        return (try? parse(text, budget: &budget)) ?? nil
    }

    /// `parse` within a time budget: throws `BudgetExceeded` when it runs out.
    static func parse(_ text: String, budget: inout Budget) throws -> MathExpression? {
        var p = MathExpressionParser(bytes: Array(text.utf8), budget: budget)
        defer { budget = p.budget }
        do {
            let e = try p.expression()
            p.skipSpace()
            return p.i == p.b.count ? e : nil
        } catch is MathExpressionParser.Declined {
            return nil
        }
    }
}

/// Recursive descent over the bytes of one answer: expression → term (explicit
/// and implicit products) → unary → power → atom.
struct MathExpressionParser {
    /// Thrown when the input is not an expression this parser reads.
    struct Declined: Error {}

    let b: [UInt8]
    var i = 0
    var depth = 0
    var budget: Budget

    init(bytes: [UInt8], budget: Budget) {
        b = bytes
        self.budget = budget
    }

    /// Commands by name; a name is matched as the longest known prefix of the
    /// letters after `\`, because normalisation drops spaces (`\cot x` → `\cotx`).
    static let commands: [String] = ["frac", "dfrac", "tfrac", "sqrt", "pi", "infty", "cdot", "times", "div",
                                     "left", "right", "displaystyle"] + MathFunction.allCases.map(\.rawValue)
    /// Commands that begin an operand (so may follow another by implicit multiplication).
    static let operandCommands: Set<String> = Set(["frac", "dfrac", "tfrac", "sqrt", "pi", "infty"] + MathFunction.allCases.map(\.rawValue))
    /// Spacing commands that are skipped (`\,` `\;` `\:` `\!` `\ `).
    static let spacing: Set<UInt8> = Set(",;:! ".utf8)

    var peek: UInt8? { i < b.count ? b[i] : nil }

    static func isLetter(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// Command names as bytes, longest first, so the first prefix match is the longest.
    static let commandBytes: [(name: String, bytes: [UInt8])] =
        commands.sorted { $0.count > $1.count }.map { ($0, Array($0.utf8)) }

    /// The command at `k` (which holds `\`): its name and the index after it.
    func command(at k: Int) -> (name: String, end: Int)? {
        guard k + 1 < b.count, b[k] == UInt8(ascii: "\\") else { return nil }
        let rest = b[(k + 1)...]
        for c in Self.commandBytes where rest.starts(with: c.bytes) { return (c.name, k + 1 + c.bytes.count) }
        return nil
    }

    /// Skips whitespace, LaTeX spacing and the `\left`/`\right`/`\displaystyle` markers.
    mutating func skipSpace() {
        while let c = peek {
            if c == 0x20 || c == 0x09 || c == 0x0A { i += 1; continue }
            if c == UInt8(ascii: "\\"), i + 1 < b.count, Self.spacing.contains(b[i + 1]) { i += 2; continue }
            if let cmd = command(at: i), ["left", "right", "displaystyle"].contains(cmd.name) { i = cmd.end; continue }
            return
        }
    }

    mutating func enter() throws {
        depth += 1
        guard depth <= MathExpression.maxDepth else { throw Declined() }
        try budget.tick()
    }

    mutating func expect(_ c: Character) throws {
        skipSpace()
        guard let a = c.asciiValue, peek == a else { throw Declined() }
        i += 1
    }

    mutating func expression() throws -> MathExpression {
        var terms = [try term()]
        while true {
            skipSpace()
            if peek == UInt8(ascii: "+") { i += 1; terms.append(try term()) }
            else if peek == UInt8(ascii: "-") { i += 1; terms.append(.negation(try term())) }
            else { break }
        }
        return terms.count == 1 ? terms[0] : .sum(terms)
    }

    mutating func term() throws -> MathExpression {
        var factors = [try unary()]
        while true {
            try budget.tick()
            skipSpace()
            guard let c = peek else { break }
            let cmd = command(at: i)
            if c == UInt8(ascii: "*") || cmd?.name == "cdot" || cmd?.name == "times" {
                i = cmd?.end ?? i + 1
                factors.append(try unary())
            } else if c == UInt8(ascii: "/") || cmd?.name == "div" {
                i = cmd?.end ?? i + 1
                factors.append(.reciprocal(try unary()))
            } else if startsOperand() {
                factors.append(try power())
            } else {
                break
            }
        }
        return factors.count == 1 ? factors[0] : .product(factors)
    }

    func startsOperand() -> Bool {
        guard let c = peek else { return false }
        if Self.isDigit(c) || Self.isLetter(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "(") || c == UInt8(ascii: "{") {
            return true
        }
        return command(at: i).map { Self.operandCommands.contains($0.name) } ?? false
    }

    mutating func unary() throws -> MathExpression {
        skipSpace()
        if peek == UInt8(ascii: "-") {
            i += 1
            try enter(); defer { depth -= 1 }
            return .negation(try unary())
        }
        if peek == UInt8(ascii: "+") { i += 1; return try unary() }
        return try power()
    }

    mutating func power() throws -> MathExpression {
        let base = try atom()
        skipSpace()
        guard peek == UInt8(ascii: "^") else { return base }
        i += 1
        return .power(base, try argument())
    }

    /// A LaTeX argument: a `{group}`, else one digit, one letter or one command operand.
    mutating func argument() throws -> MathExpression {
        skipSpace()
        guard let c = peek else { throw Declined() }
        if c == UInt8(ascii: "{") { return try atom() }
        if Self.isDigit(c) { i += 1; return .number(Double(c - 0x30)) }
        if Self.isLetter(c) { i += 1; return .variable(Character(UnicodeScalar(c))) }
        if c == UInt8(ascii: "-") { i += 1; return .negation(try argument()) }
        if c == UInt8(ascii: "\\") { return try atom() }
        throw Declined()
    }

    mutating func atom() throws -> MathExpression {
        try enter(); defer { depth -= 1 }
        skipSpace()
        guard let c = peek else { throw Declined() }
        if Self.isDigit(c) || c == UInt8(ascii: ".") { return try number() }
        if Self.isLetter(c) {
            // A word (`Evelyn`, `even`) is text, not a product of variables.
            if i + 2 < b.count, Self.isLetter(b[i + 1]), Self.isLetter(b[i + 2]) { throw Declined() }
            i += 1
            return .variable(Character(UnicodeScalar(c)))
        }
        if c == UInt8(ascii: "(") {
            i += 1
            let e = try expression()
            try expect(")")
            return e
        }
        if c == UInt8(ascii: "{") {
            i += 1
            let e = try expression()
            try expect("}")
            return e
        }
        guard let cmd = command(at: i), Self.operandCommands.contains(cmd.name) else { throw Declined() }
        i = cmd.end
        switch cmd.name {
        case "pi": return .number(Double.pi)
        case "infty": return .number(Double.infinity)
        case "frac", "dfrac", "tfrac":
            let numerator = try argument()
            return .product([numerator, .reciprocal(try argument())])
        case "sqrt":
            skipSpace()
            var index = MathExpression.number(2)
            if peek == UInt8(ascii: "[") {
                i += 1
                index = try expression()
                try expect("]")
            }
            return .root(try argument(), index: index)
        default:
            guard let f = MathFunction(rawValue: cmd.name) else { throw Declined() }
            skipSpace()
            var exponent: MathExpression?
            if peek == UInt8(ascii: "^") { i += 1; exponent = try argument() }
            skipSpace()
            let arg = peek == UInt8(ascii: "(") || peek == UInt8(ascii: "{") ? try atom() : try power()
            let applied = MathExpression.function(f, arg)
            return exponent.map { .power(applied, $0) } ?? applied
        }
    }

    mutating func number() throws -> MathExpression {
        let start = i
        while let c = peek, Self.isDigit(c) { i += 1 }
        if peek == UInt8(ascii: "."), i + 1 < b.count, Self.isDigit(b[i + 1]) {
            i += 1
            while let c = peek, Self.isDigit(c) { i += 1 }
        }
        guard i > start, let v = Double(String(decoding: b[start..<i], as: UTF8.self)) else { throw Declined() }
        return try mixedNumber(whole: v) ?? .number(v)
    }

    /// `2\frac{1}{3}` is the mixed number 7/3 (as `NumberParsing` and
    /// math-verify read it) when a whole number is followed directly by a
    /// fraction of two number literals; nil (nothing consumed) otherwise, so
    /// `2\frac{x}{3}` stays a product.
    mutating func mixedNumber(whole: Double) throws -> MathExpression? {
        guard whole.rounded() == whole, let cmd = command(at: i), ["frac", "dfrac", "tfrac"].contains(cmd.name) else { return nil }
        let saved = i
        i = cmd.end
        if case .number(let n)? = try? argument(), case .number(let d)? = try? argument() {
            return .sum([.number(whole), .product([.number(n), .reciprocal(.number(d))])])
        }
        i = saved
        return nil
    }
}
