import Foundation

/// A scalar math answer as a small expression tree, read from LaTeX-ish text
/// by `MathExpression.parse` and compared by `SymbolicEquivalence`: numbers,
/// single-letter variables, `\pi`, `\infty`, sums, products, quotients,
/// powers, roots and a few elementary functions. Sums and products are
/// n-ary, so a long `1+1+…` is a wide tree, not a deep one.
public indirect enum MathExpression: Equatable, Sendable {
    /// A literal (`2`, `0.5`, `\pi`, `\infty`).
    case number(Double)
    /// A one-letter variable, case kept (`x`, `R`; `i` and `e` are variables too, as math-verify treats them).
    case variable(Character)
    /// `a + b + …` (subtraction is a negated term).
    case sum([MathExpression])
    /// `a · b · …` (division is a reciprocal factor).
    case product([MathExpression])
    /// `-a`.
    case negation(MathExpression)
    /// `1 / a`.
    case reciprocal(MathExpression)
    /// `base ^ exponent`.
    case power(MathExpression, MathExpression)
    /// `\sqrt[index]{radicand}` (index 2 for `\sqrt{}`).
    case root(MathExpression, index: MathExpression)
    /// `\sin x`, `\ln x`, ….
    case function(MathFunction, MathExpression)

    /// The variables that occur, each once, in first-seen order.
    public var variables: [Character] {
        var seen: [Character] = []
        collectVariables(into: &seen)
        return seen
    }

    private func collectVariables(into seen: inout [Character]) {
        switch self {
        case .number: return
        case .variable(let v): if !seen.contains(v) { seen.append(v) }
        case .sum(let xs), .product(let xs): for x in xs { x.collectVariables(into: &seen) }
        case .negation(let x), .reciprocal(let x), .function(_, let x): x.collectVariables(into: &seen)
        case .power(let a, let b), .root(let a, index: let b):
            a.collectVariables(into: &seen)
            b.collectVariables(into: &seen)
        }
    }

    /// The value with each variable set from `values` (a missing variable is NaN).
    /// Real arithmetic: an even root or a fractional power of a negative number
    /// is NaN, an odd root of one is real (`\sqrt[3]{-8}` = -2).
    public func evaluate(_ values: [Character: Double]) -> Double {
        switch self {
        case .number(let v): return v
        case .variable(let v): return values[v] ?? .nan
        case .sum(let xs): return xs.reduce(0) { $0 + $1.evaluate(values) }
        case .product(let xs): return xs.reduce(1) { $0 * $1.evaluate(values) }
        case .negation(let x): return -x.evaluate(values)
        case .reciprocal(let x): return 1 / x.evaluate(values)
        case .power(let a, let b): return pow(a.evaluate(values), b.evaluate(values))
        case .root(let a, index: let n):
            let x = a.evaluate(values), k = n.evaluate(values)
            if x < 0, k.rounded() == k, Int(exactly: k).map({ $0 % 2 != 0 }) == true { return -pow(-x, 1 / k) }
            return k == 2 ? x.squareRoot() : pow(x, 1 / k)
        case .function(let f, let x): return f.apply(x.evaluate(values))
        }
    }
}

/// The functions `MathExpression` knows, by their LaTeX command names.
public enum MathFunction: String, CaseIterable, Sendable {
    /// `\sin`, `\cos`, `\tan`, `\cot`, `\sec`, `\csc` (radians).
    case sin, cos, tan, cot, sec, csc
    /// `\ln` and `\log` (both natural: the two sides of a comparison read `\log` alike).
    case ln, log
    /// `\exp`.
    case exp

    /// The function applied to `x`.
    public func apply(_ x: Double) -> Double {
        switch self {
        case .sin: return Foundation.sin(x)
        case .cos: return Foundation.cos(x)
        case .tan: return Foundation.tan(x)
        case .cot: return 1 / Foundation.tan(x)
        case .sec: return 1 / Foundation.cos(x)
        case .csc: return 1 / Foundation.sin(x)
        case .ln, .log: return Foundation.log(x)
        case .exp: return Foundation.exp(x)
        }
    }
}
