import Foundation

/// Hendrycks-style normalisation and equivalence of MATH answers: the rules
/// of `strip_string` / `is_equiv` from the MATH release (as used by verl's
/// `math` reward), plus a few extras each marked below: plain `$` and `%`,
/// `\text{…}` unwrapping, LaTeX thin spaces, thousands separators, a trailing
/// period, `\sqrt` fixed after spaces are gone, and numeric equivalence of
/// what normalises to numbers (`0.5` = `\frac{1}{2}` = `1/2`, `3.0` = `3`);
/// what is still unequal then goes to `AnswerStructure` (choice letters,
/// sets, tuples, intervals) and `SymbolicEquivalence` (`\sqrt{8}` = `2\sqrt{2}`).
public enum MathNormalization {
    /// Longest answer (in bytes) that is normalised; longer ones are rejected
    /// as not equivalent without being read (real answers are far shorter).
    public static let maxAnswerLength = 4096

    /// `answer` normalised (`\dfrac12` → `\frac{1}{2}`, `\left( 3, \pi \right)` → `(3,\pi)`).
    public static func normalize(_ answer: String) -> String {
        var budget = Budget.unlimited
        return (try? normalize(answer, budget: &budget)) ?? answer
    }

    /// Whether two MATH answers are equivalent after normalisation.
    public static func isEquivalent(_ answer: String, _ truth: String) -> Bool {
        var budget = Budget.unlimited
        return (try? isEquivalent(answer, truth, budget: &budget)) ?? false
    }

    static func isEquivalent(_ answer: String, _ truth: String, budget: inout Budget) throws -> Bool {
        guard answer.utf8.count <= maxAnswerLength, truth.utf8.count <= maxAnswerLength else { return false }
        // Extra: matrices cell by cell, cut into rows before normalisation mangles `\\`.
        if let ma = AnswerStructure.matrixCells(answer), let mt = AnswerStructure.matrixCells(truth) {
            return try AnswerStructure.matricesEquivalent(ma, mt, budget: &budget)
        }
        let a = try normalize(answer, budget: &budget), t = try normalize(truth, budget: &budget)
        guard !t.isEmpty else { return false }
        if a == t { return true }
        if let x = try NumberParsing.latex(a, budget: &budget), let y = try NumberParsing.latex(t, budget: &budget) {
            return NumberParsing.equivalent(answer: x, truth: y)
        }
        // Extra: choice letters, sets, tuples, intervals and expressions (`AnswerStructure`).
        return try AnswerStructure.equivalent(a, t, budget: &budget)
    }

    static func normalize(_ input: String, budget: inout Budget) throws -> String {
        try budget.check()
        var s = input.trimmingCharacters(in: .whitespacesAndNewlines)
        func drop(_ xs: String...) { for x in xs { s = s.replacingOccurrences(of: x, with: "") } }
        func swap(_ a: String, _ b: String) { s = s.replacingOccurrences(of: a, with: b) }
        drop("\n", "\\!")
        for thin in ["\\,", "\\;", "\\:", "\\ "] { swap(thin, " ") }   // extra: LaTeX spaces
        swap("\\\\", "\\")
        swap("tfrac", "frac"); swap("dfrac", "frac")
        drop("\\left", "\\right", "\\displaystyle")                   // \displaystyle: extra
        drop("^{\\circ}", "^\\circ", "°")                              // °: extra
        drop("\\$", "$")                                               // plain $: extra
        try budget.check()
        s = try removeText(s, budget: &budget)
        drop("\\%", "%")                                               // plain %: extra
        swap(" .", " 0."); swap("{.", "{0.")
        if s.hasPrefix(".") { s = "0" + s }
        let sides = s.components(separatedBy: "=")
        if sides.count == 2, sides[0].trimmingCharacters(in: .whitespaces).count <= 2 { s = sides[1] }
        s = s.filter { !$0.isWhitespace }
        s = fixSqrt(s)                                                 // after spaces go: `\sqrt 2` too
        s = fixFracs(s)
        try budget.check()
        drop("{,}")                                                    // extra: LaTeX thousands `10{,}000`
        if isThousands(s) { drop(",") }                                // extra: `1,234`
        while s.count > 1, s.hasSuffix("."), !s.hasSuffix("..") { s.removeLast() }   // extra: `5.`
        if s == "0.5" { s = "\\frac{1}{2}" }
        return fixSlash(s)
    }

    /// Hendrycks' `_remove_right_units`, generalised: a `\text{…}` (or `\mbox`,
    /// `\textbf`, `\mathrm`) whose content is words after something else is a
    /// unit and is cut with everything after it; any other is unwrapped
    /// (`\text{Evelyn}` → `Evelyn`, `\text{(C)}` → `(C)`).
    static func removeText(_ input: String, budget: inout Budget) throws -> String {
        var b = Array(input.utf8)
        let markers = ["\\text{", "\\textbf{", "\\mbox{", "\\mathrm{"].map { Array($0.utf8) }
        var searchFrom = 0
        while true {
            try budget.check()
            var hit: (Int, Int)?
            var i = searchFrom
            scan: while i < b.count {
                try budget.tick()
                if b[i] == 0x5C {
                    for m in markers where b[i...].starts(with: m) { hit = (i, m.count); break scan }
                }
                i += 1
            }
            guard let (start, length) = hit else { break }
            let open = start + length - 1
            guard let close = try NumberParsing.matchingBrace(b[...], open: open, budget: &budget) else { break }
            let content = b[(open + 1)..<close]
            let prefix = String(decoding: b[..<start], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            let wordy = !content.isEmpty && content.allSatisfy {
                ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x20 || $0 == 0x2E
            }
            if !prefix.isEmpty && wordy {
                b = Array(b[..<start])
                break
            }
            b = Array(b[..<start]) + Array(content) + Array(b[(close + 1)...])
            searchFrom = start
        }
        return String(decoding: b, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    /// `\sqrt3` → `\sqrt{3}` (Hendrycks `_fix_sqrt`; extra: `\sqrt[3]{x}` left alone).
    static func fixSqrt(_ s: String) -> String {
        let parts = s.components(separatedBy: "\\sqrt")
        guard parts.count > 1 else { return s }
        var out = parts[0]
        for p in parts.dropFirst() {
            if let c = p.first, c != "{", c != "[" { out += "\\sqrt{\(c)}" + p.dropFirst() } else { out += "\\sqrt" + p }
        }
        return out
    }

    /// `\frac12` → `\frac{1}{2}`, `\frac1b` → `\frac{1}{b}`, `\frac1{b}` → `\frac{1}{b}`
    /// (Hendrycks `_fix_fracs`; malformed input is returned unchanged).
    static func fixFracs(_ s: String) -> String {
        let parts = s.components(separatedBy: "\\frac")
        guard parts.count > 1 else { return s }
        var out = parts[0]
        for p in parts.dropFirst() {
            out += "\\frac"
            let cs = Array(p)
            if cs.first == "{" { out += p; continue }
            guard cs.count >= 2 else { return s }
            let a = cs[0], b = cs[1], post = String(cs[2...])
            out += b != "{" ? "{\(a)}{\(b)}" + post : "{\(a)}" + String(b) + post
        }
        return out
    }

    /// `3/4` → `\frac{3}{4}` when the whole answer is integer/integer (Hendrycks `_fix_a_slash_b`).
    static func fixSlash(_ s: String) -> String {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), s == "\(a)/\(b)" else { return s }
        return "\\frac{\(a)}{\(b)}"
    }

    /// `1,234` or `-12,345,678.5`: commas that can only be thousands separators.
    static func isThousands(_ s: String) -> Bool {
        var body = Substring(s)
        if body.first == "-" { body = body.dropFirst() }
        let groups = body.split(separator: ",", omittingEmptySubsequences: false)
        guard groups.count > 1, let head = groups.first, (1...3).contains(head.count), head.allSatisfy(\.isASCII),
              head.allSatisfy(\.isNumber) else { return false }
        for (k, g) in groups.dropFirst().enumerated() {
            let last = k == groups.count - 2
            let digits = last ? (g.split(separator: ".", maxSplits: 1).first ?? "") : g
            guard digits.count == 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            if last, g.count > 3 { guard g.dropFirst(3).first == ".", g.dropFirst(4).allSatisfy({ $0.isASCII && $0.isNumber }), g.count > 4 else { return false } }
        }
        return true
    }
}
