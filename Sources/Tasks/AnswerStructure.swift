import Foundation

/// The shape of a normalised MATH answer, so that compound answers compare
/// the way math-verify compares them: sets and bare lists without regard to
/// order (`\{1,2\}` = `{2,1}` = `1,2`, `1\pm\sqrt{5}` = `1+\sqrt5,1-\sqrt5`),
/// tuples and intervals in order and with their brackets (`(1,2]` ≠ `[1,2)`),
/// unions of intervals without regard to order; the items themselves are
/// compared exactly as numbers when both are numbers, else symbolically.
indirect enum AnswerStructure: Equatable {
    /// One item (`5`, `2\sqrt{2}`, `x^2+1`).
    case scalar(String)
    /// Unordered items: `\{…\}`, `{a,b}`, a bare `a,b`, or `a\pm b`.
    case set([String])
    /// Ordered items in brackets: a tuple `(a,b,c)` or an interval `(a,b]`.
    case sequence(open: Character, close: Character, items: [String])
    /// `A \cup B \cup …`.
    case union([AnswerStructure])
    /// `lhs = rhs` (a line, a plane: `5x-7y+11z+4=0`).
    case equation(String, String)

    /// Most items (or union parts) compared; more are declined as not
    /// equivalent (the pairing is quadratic; real answers have a handful).
    static let maxItems = 64
    /// Deepest union inside a group inside a union that is read, and most
    /// grouping brace pairs stripped from around an answer (real answers: 1).
    static let maxUnionNesting = 4

    /// Whether two normalised answers are equivalent: a choice letter
    /// (`(B)`, `B`, `\text{(B)}` when the truth is a letter A–E), else by shape.
    static func equivalent(_ answer: String, _ truth: String, budget: inout Budget) throws -> Bool {
        if let t = choiceLetter(truth, isTruth: true) { return choiceLetter(answer, isTruth: false) == t }
        guard let a = try read(answer, budget: &budget), let t = try read(truth, budget: &budget) else { return false }
        return try equivalent(a, t, budget: &budget)
    }

    /// `(C)` or `C` → `C` (an upper-case A–E for the truth; either case for an answer).
    static func choiceLetter(_ s: String, isTruth: Bool) -> Character? {
        var c = Substring(s)
        if c.first == "(", c.last == ")" { c = c.dropFirst().dropLast() }
        guard c.count == 1, let l = c.first, "ABCDE".contains(l) || (!isTruth && "abcde".contains(l)) else { return nil }
        return Character(l.uppercased())
    }

    static func equivalent(_ a: AnswerStructure, _ t: AnswerStructure, budget: inout Budget) throws -> Bool {
        switch (a, t) {
        case let (.scalar(x), .scalar(y)):
            return try itemsEquivalent(x, y, budget: &budget)
        case let (.set(xs), .set(ys)):
            return try matchUnordered(xs, ys) { try itemsEquivalent($0, $1, budget: &budget) }
        case let (.sequence(o1, c1, xs), .sequence(o2, c2, ys)):
            guard o1 == o2, c1 == c2, xs.count == ys.count else { return false }
            for (x, y) in zip(xs, ys) where try !itemsEquivalent(x, y, budget: &budget) { return false }
            return true
        case let (.union(xs), .union(ys)):
            return try matchUnordered(xs, ys) { try equivalent($0, $1, budget: &budget) }
        case let (.equation(l1, r1), .equation(l2, r2)):
            if try itemsEquivalent(l1, l2, budget: &budget), try itemsEquivalent(r1, r2, budget: &budget) { return true }
            return try SymbolicEquivalence.sameEquation(l1, r1, l2, r2, budget: &budget)
        default:
            return false
        }
    }

    /// Whether each of `xs` pairs with its own equivalent among `ys` (greedy:
    /// equivalence is transitive, so the first match never blocks a later one).
    static func matchUnordered<T>(_ xs: [T], _ ys: [T], _ same: (T, T) throws -> Bool) rethrows -> Bool {
        guard xs.count == ys.count else { return false }
        var unused = Array(ys.indices)
        for x in xs {
            guard let k = try unused.firstIndex(where: { try same(x, ys[$0]) }) else { return false }
            unused.remove(at: k)
        }
        return true
    }

    /// Two items: equal text; words up to case (`East`, `east`); numbers in
    /// a base (`52_8`) as their digits; else, when both are numbers, exact
    /// numeric equality only (`0.333` is not `\frac13`); else symbolic equivalence.
    static func itemsEquivalent(_ x0: String, _ y0: String, budget: inout Budget) throws -> Bool {
        if x0 == y0 { return true }
        if isWord(x0), isWord(y0) { return x0.lowercased() == y0.lowercased() }
        let x = withoutBase(x0), y = withoutBase(y0)
        if x == y { return true }
        if let u = try NumberParsing.latex(x, budget: &budget), let v = try NumberParsing.latex(y, budget: &budget) {
            return NumberParsing.equivalent(answer: u, truth: v)
        }
        return try SymbolicEquivalence.equivalent(x, y, budget: &budget)
    }

    /// Three or more letters and nothing else (`Evelyn`, `even`): the parser reads
    /// shorter runs (`ab`) as products of variables.
    static func isWord(_ s: String) -> Bool {
        s.utf8.count >= 3 && s.utf8.allSatisfy { MathExpressionParser.isLetter($0) }
    }

    /// `52_8`, `4210_{5}` → the digits (`52`, `4210`), as math-verify reads a
    /// number in a base; anything else unchanged.
    static func withoutBase(_ s: String) -> String {
        let parts = s.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.allSatisfy(MathExpressionParser.isDigit) else { return s }
        var base = parts[1]
        if base.first == "{", base.last == "}" { base = base.dropFirst().dropLast() }
        guard !base.isEmpty, base.utf8.allSatisfy(MathExpressionParser.isDigit) else { return s }
        return String(parts[0])
    }

    /// The shape of a normalised answer; nil when it has more than `maxItems` parts.
    static func read(_ input: String, depth: Int = 0, budget: inout Budget) throws -> AnswerStructure? {
        guard depth <= maxUnionNesting else { return nil }
        var s = input
        // Braces around the whole answer (`{5}`, `{{1,2}}`) group; they are not a set.
        var strips = 0
        while strips < maxUnionNesting, s.hasPrefix("{"), s.hasSuffix("}"), try enclosed(s, budget: &budget),
              try split(String(s.dropFirst().dropLast()), at: ",", budget: &budget).count == 1 {
            s = String(s.dropFirst().dropLast())
            strips += 1
        }
        // `x\in[-2,7]` is the interval.
        if s.count > 4, s.first?.isLetter == true, s.dropFirst().hasPrefix("\\in"), s.dropFirst(4).first?.isLetter == false {
            s = String(s.dropFirst(4))
        }
        s = unescapeBraces(s)
        let parts = try split(s, at: "\\cup", budget: &budget)
        guard parts.count <= maxItems else { return nil }
        if parts.count > 1 {
            var xs: [AnswerStructure] = []
            for p in parts { guard let x = try read(p, depth: depth + 1, budget: &budget) else { return nil }; xs.append(x) }
            return .union(xs)
        }
        if let open = s.first, let close = s.last, s.utf8.count >= 2, try enclosed(s, budget: &budget) {
            let inner = String(s.dropFirst().dropLast())
            let items = try split(inner, at: ",", budget: &budget)
            guard items.count <= maxItems else { return nil }
            if open == "{" && close == "}" {
                return .set(try expandPlusMinus(items, budget: &budget))
            }
            if items.count >= 2, "([".contains(open), ")]".contains(close) {
                return .sequence(open: open, close: close, items: items)
            }
        }
        let items = try split(s, at: ",", budget: &budget)
        guard items.count <= maxItems else { return nil }
        let sides = try split(s, at: "=", budget: &budget)
        if items.count == 1, sides.count == 2 { return .equation(sides[0], sides[1]) }
        if items.count >= 2 || s.contains("\\pm") {
            let expanded = try expandPlusMinus(items, budget: &budget)
            if expanded.count >= 2 { return .set(expanded) }
        }
        return .scalar(s)
    }

    static let openers: Set<UInt8> = Set("([{".utf8)
    static let closers: Set<UInt8> = Set(")]}".utf8)

    /// `\{` → `{` and `\}` → `}` (set braces read like grouping braces).
    static func unescapeBraces(_ s: String) -> String {
        let b = Array(s.utf8)
        guard b.count > 1 else { return s }
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var k = 0
        while k < b.count {
            if b[k] == UInt8(ascii: "\\"), k + 1 < b.count, b[k + 1] == UInt8(ascii: "{") || b[k + 1] == UInt8(ascii: "}") { k += 1 }
            out.append(b[k])
            k += 1
        }
        return out.count == b.count ? s : String(decoding: out, as: UTF8.self)
    }

    /// Whether the bracket opening `s` closes at its last character.
    static func enclosed(_ s: String, budget: inout Budget) throws -> Bool {
        let b = Array(s.utf8)
        guard let f = b.first, openers.contains(f) else { return false }
        var depth = 0
        for (k, c) in b.enumerated() {
            try budget.tick()
            if openers.contains(c) { depth += 1 } else if closers.contains(c) {
                depth -= 1
                if depth == 0 { return k == b.count - 1 }
            }
        }
        return false
    }

    /// `s` cut at each `separator` outside brackets and braces.
    static func split(_ s: String, at separator: String, budget: inout Budget) throws -> [String] {
        let b = Array(s.utf8), sep = Array(separator.utf8)
        var items: [String] = [], start = 0, depth = 0, k = 0
        while k < b.count {
            try budget.tick()
            let c = b[k]
            if depth == 0, c == sep[0], b[k...].starts(with: sep) {
                items.append(String(decoding: b[start..<k], as: UTF8.self))
                k += sep.count
                start = k
                continue
            }
            if openers.contains(c) { depth += 1 } else if closers.contains(c) { depth -= 1 }
            k += 1
        }
        items.append(String(decoding: b[start...], as: UTF8.self))
        return items
    }

    /// Each item `a\pm b` (one top-level `\pm`) becomes `a+b` and `a-b`.
    static func expandPlusMinus(_ items: [String], budget: inout Budget) throws -> [String] {
        var out: [String] = []
        for item in items {
            let halves = try split(item, at: "\\pm", budget: &budget)
            if halves.count == 2 { out += [halves[0] + "+" + halves[1], halves[0] + "-" + halves[1]] } else { out.append(item) }
        }
        return out
    }
}
