import Foundation

/// An exact fraction with 64-bit parts, reduced, denominator positive.
/// Arithmetic returns nil on overflow; callers then fall back to `Double`.
struct Rational: Equatable, Sendable {
    let num: Int64
    let den: Int64

    /// n/d reduced; nil for d = 0 or when the sign cannot be normalised.
    init?(_ n: Int64, _ d: Int64) {
        guard d != 0, n != .min, d != .min else { return nil }
        var a = n.magnitude, b = d.magnitude
        while b != 0 { (a, b) = (b, a % b) }
        let g = Int64(max(a, 1))
        let sign: Int64 = (n < 0) != (d < 0) ? -1 : 1
        num = sign * (n.magnitude == 0 ? 0 : Int64(n.magnitude) / g)
        den = n == 0 ? 1 : Int64(d.magnitude) / g
    }

    var double: Double { Double(num) / Double(den) }

    static func + (x: Rational, y: Rational) -> Rational? {
        let (a, o1) = x.num.multipliedReportingOverflow(by: y.den)
        let (b, o2) = y.num.multipliedReportingOverflow(by: x.den)
        let (n, o3) = a.addingReportingOverflow(b)
        let (d, o4) = x.den.multipliedReportingOverflow(by: y.den)
        return o1 || o2 || o3 || o4 ? nil : Rational(n, d)
    }

    static func / (x: Rational, y: Rational) -> Rational? {
        let (n, o1) = x.num.multipliedReportingOverflow(by: y.den)
        let (d, o2) = x.den.multipliedReportingOverflow(by: y.num)
        return o1 || o2 ? nil : Rational(n, d)
    }

    var negated: Rational { Rational(-num, den) ?? self }
}

/// A number read from an answer: exact when it fits, the canonical decimal
/// text for plain decimals of any size, and a `Double` approximation.
struct ParsedNumber: Equatable, Sendable {
    /// Exact value when numerator and denominator fit in 64 bits.
    var exact: Rational?
    /// `-123.45` with no leading/trailing zeros, for plain decimals only.
    var canonical: String?
    /// Approximate value (may be infinite for huge numbers).
    var approx: Double
    /// Digits after the decimal point as written (0 for integers and fractions).
    var fractionDigits: Int

    /// A plain decimal from its digit strings (no sign, no separators).
    static func decimal(negative: Bool, intDigits: Substring, fracDigits: Substring) -> ParsedNumber {
        let i = intDigits.drop { $0 == "0" }
        var f = fracDigits[...]
        while f.last == "0" { f = f.dropLast() }
        let zero = i.isEmpty && f.isEmpty
        let canonical = (negative && !zero ? "-" : "") + (i.isEmpty ? "0" : String(i)) + (f.isEmpty ? "" : "." + f)
        var exact: Rational?
        if i.count + f.count <= 18, let n = Int64(String(i) + String(f)).map({ negative ? -$0 : $0 }) ?? (zero ? 0 : nil) {
            exact = Rational(n, (0..<f.count).reduce(Int64(1)) { a, _ in a * 10 })
        }
        return ParsedNumber(exact: exact, canonical: canonical, approx: Double(canonical) ?? .nan,
                            fractionDigits: fracDigits.count)
    }

    /// The quotient `x / y` (exact when both are and it fits).
    static func quotient(_ x: ParsedNumber, _ y: ParsedNumber) -> ParsedNumber? {
        if let a = x.exact, let b = y.exact {
            guard b.num != 0 else { return nil }
            if let q = a / b { return ParsedNumber(exact: q, canonical: nil, approx: q.double, fractionDigits: 0) }
        }
        guard y.approx != 0 else { return nil }
        return ParsedNumber(exact: nil, canonical: nil, approx: x.approx / y.approx, fractionDigits: 0)
    }

    /// The sum `x + y` (used for mixed numbers `1\frac{1}{2}`).
    static func sum(_ x: ParsedNumber, _ y: ParsedNumber) -> ParsedNumber {
        if let a = x.exact, let b = y.exact, let s = a + b {
            return ParsedNumber(exact: s, canonical: nil, approx: s.double, fractionDigits: 0)
        }
        return ParsedNumber(exact: nil, canonical: nil, approx: x.approx + y.approx, fractionDigits: 0)
    }

    /// `-x`.
    var negated: ParsedNumber {
        var c = canonical
        if let s = c, s != "0" { c = s.hasPrefix("-") ? String(s.dropFirst()) : "-" + s }
        return ParsedNumber(exact: exact?.negated, canonical: c, approx: -approx, fractionDigits: fractionDigits)
    }

    /// A key equal for equal exact values: `7`, `-1/2`, or the canonical decimal.
    var key: String {
        if let r = exact { return r.den == 1 ? "\(r.num)" : "\(r.num)/\(r.den)" }
        return canonical ?? "\(approx)"
    }
}

/// Numeric equivalence and the number readers behind it.
enum NumberParsing {
    /// Relative difference below which two numbers are float noise of each
    /// other (gsm_hard's targets are Python floats such as 3244047.0999999996).
    static let floatNoise = 1e-12

    /// Whether `answer` equals `truth`: exactly (as fractions or canonical
    /// decimals), up to float noise, or — when the truth has six or more
    /// decimals, i.e. is a printed float like 14053029.666666666 — when the
    /// answer gives two or more decimals and the truth rounds to it.
    static func equivalent(answer a: ParsedNumber, truth t: ParsedNumber) -> Bool {
        if let x = a.exact, let y = t.exact, x == y { return true }
        if let x = a.canonical, let y = t.canonical, x == y { return true }
        guard a.approx.isFinite, t.approx.isFinite else { return false }
        // Whole numbers written as such are compared exactly, never within noise.
        if a.canonical != nil, t.canonical != nil, a.fractionDigits == 0, t.fractionDigits == 0 { return false }
        if abs(a.approx - t.approx) <= floatNoise * max(abs(a.approx), abs(t.approx)) { return true }
        if t.fractionDigits >= 6, a.canonical != nil, (2..<t.fractionDigits).contains(a.fractionDigits), abs(t.approx) < 1e15 {
            let p = pow(10, Double(a.fractionDigits))
            return (t.approx * p).rounded() == (a.approx * p).rounded()
        }
        return false
    }

    /// A plain-text number such as `1,234`, `-$5`, `.5`, `3.0`, `50%`, `3/4`,
    /// `1 1/2`, `9 (apples)` or `12 dollars` (trailing words without digits are
    /// units and ignored); nil when the text is not a number.
    static func plain(_ text: String) -> ParsedNumber? {
        var s = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        var negative = false
        if s.hasPrefix("-$") || s.hasPrefix("-\\$") { negative = true; s = s.dropFirst() }
        if s.hasPrefix("\\$") { s = s.dropFirst(2) } else if s.hasPrefix("$") { s = s.dropFirst() }
        if s.hasPrefix("+") { s = s.dropFirst() }
        while s.count > 1, s.last == "." { s = s.dropLast() }
        let b = Array(s.utf8)
        guard let r = AnswerExtraction.numberToken(b, at: 0), let first = token(b[r]) else { return nil }
        var value = negative ? first.negated : first
        var rest = Substring(String(decoding: b[r.upperBound...], as: UTF8.self))
        if rest.hasPrefix("\\%") { rest = rest.dropFirst(2) } else if rest.hasPrefix("%") { rest = rest.dropFirst() }
        // A mixed number `1 1/2`.
        if first.exact?.den == 1, !b[r].contains(UInt8(ascii: "-")), rest.hasPrefix(" ") {
            let rb = Array(rest.dropFirst().utf8)
            if let fr = AnswerExtraction.numberToken(rb, at: 0), rb[fr].contains(UInt8(ascii: "/")),
               let frac = token(rb[fr]), let whole = first.exact, whole.num >= 0 {
                value = ParsedNumber.sum(first, frac)
                if negative { value = value.negated }
                rest = Substring(String(decoding: rb[fr.upperBound...], as: UTF8.self))
            }
        }
        guard rest.isEmpty || ((rest.first == " " || rest.first == "(") && !rest.contains(where: \.isNumber)) else { return nil }
        return value
    }

    /// A token from `AnswerExtraction.numberToken`: sign, digits with commas, decimals, `/denominator`.
    static func token(_ bytes: ArraySlice<UInt8>) -> ParsedNumber? {
        let t = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: ",", with: "")
        let parts = t.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let n = decimal(parts[0]) else { return nil }
        guard parts.count == 2 else { return n }
        guard let d = decimal(parts[1]) else { return nil }
        return ParsedNumber.quotient(n, d)
    }

    /// `-12.50`, `.5`, `7` (digits only, optional sign and point).
    static func decimal(_ s: Substring) -> ParsedNumber? {
        var body = s
        var negative = false
        if body.first == "-" { negative = true; body = body.dropFirst() } else if body.first == "+" { body = body.dropFirst() }
        let pieces = body.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count <= 2, pieces.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              !(pieces[0].isEmpty && (pieces.count == 1 || pieces[1].isEmpty)) else { return nil }
        return ParsedNumber.decimal(negative: negative, intDigits: pieces[0], fracDigits: pieces.count == 2 ? pieces[1] : "")
    }

    /// A number in normalised LaTeX (after `MathNormalization.normalize`, so
    /// no spaces and `\frac{a}{b}` braced): decimals, `\frac{A}{B}` with nested
    /// numeric A and B, `a/b`, mixed `2\frac{1}{3}`, a leading sign. nil for
    /// anything else (symbols, nesting deeper than 8).
    static func latex(_ s: String, budget: inout Budget) throws -> ParsedNumber? {
        try latex(Array(s.utf8)[...], depth: 0, budget: &budget)
    }

    private static func latex(_ b: ArraySlice<UInt8>, depth: Int, budget: inout Budget) throws -> ParsedNumber? {
        guard depth <= 8, !b.isEmpty else { return nil }
        try budget.tick()
        var s = b
        var negative = false
        if s.first == UInt8(ascii: "-") { negative = true; s = s.dropFirst() } else if s.first == UInt8(ascii: "+") { s = s.dropFirst() }
        let frac = Array("\\frac{".utf8)
        var whole: ParsedNumber?
        var i = s.startIndex
        while i < s.endIndex, s[i] >= 0x30 && s[i] <= 0x39 || s[i] == UInt8(ascii: ".") { i += 1 }
        if i > s.startIndex {
            guard let w = decimal(Substring(String(decoding: s[s.startIndex..<i], as: UTF8.self))) else { return nil }
            whole = w
            if i == s.endIndex { return negative ? w.negated : w }
            if s[i] == UInt8(ascii: "/") {
                guard let d = decimal(Substring(String(decoding: s[(i + 1)...], as: UTF8.self))),
                      let q = ParsedNumber.quotient(w, d) else { return nil }
                return negative ? q.negated : q
            }
            guard w.fractionDigits == 0, w.exact != nil else { return nil }
        }
        guard s[i...].starts(with: frac) else { return nil }
        let open1 = i + frac.count - 1
        guard let close1 = try matchingBrace(s, open: open1, budget: &budget), close1 + 1 < s.endIndex,
              s[close1 + 1] == UInt8(ascii: "{"), let close2 = try matchingBrace(s, open: close1 + 1, budget: &budget),
              close2 == s.endIndex - 1,
              let n = try latex(s[(open1 + 1)..<close1], depth: depth + 1, budget: &budget),
              let d = try latex(s[(close1 + 2)..<close2], depth: depth + 1, budget: &budget),
              var v = ParsedNumber.quotient(n, d) else { return nil }
        if let w = whole {
            guard v.approx >= 0 else { return nil }
            v = ParsedNumber.sum(w, v)
        }
        return negative ? v.negated : v
    }

    /// Index of the `}` matching the `{` at `open`, or nil.
    static func matchingBrace(_ b: ArraySlice<UInt8>, open: Int, budget: inout Budget) throws -> Int? {
        var depth = 0
        var j = open
        while j < b.endIndex {
            try budget.tick()
            if b[j] == UInt8(ascii: "{") { depth += 1 } else if b[j] == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 { return j }
            }
            j += 1
        }
        return nil
    }
}
