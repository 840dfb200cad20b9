import Foundation
import Tensors

/// Equivalence of two scalar math answers by evaluation: both are parsed
/// (`MathExpression.parse`) and evaluated at the same seeded random points;
/// they are equivalent when every point where both are defined agrees within
/// `relativeTolerance`. Two different polynomials or radicals agreeing to
/// 1e-9 at six random reals is a measure-zero accident, so this stands in for
/// sympy's `simplify(a - b) == 0` (math-verify) at a few microseconds a call.
public enum SymbolicEquivalence {
    /// Relative agreement required at each point. Double evaluation of answer-
    /// sized trees errs by ~1e-15 relative (a few ulps per operation over tens
    /// of operations); 1e-9 leaves six orders of margin while still telling
    /// `\sqrt{8}` (2.8284271247…) from a 10-digit rounding of it.
    public static let relativeTolerance = 1e-9
    /// Absolute agreement accepted near zero (`x - x` against `0`).
    public static let absoluteTolerance = 1e-12
    /// Evaluation points for expressions with variables.
    public static let pointCount = 6
    /// Fewest points at which both sides must be defined for a verdict of
    /// equivalence (`\sqrt{x-2}` is undefined at some of them).
    public static let minimumDefinedPoints = 3
    /// Variables are drawn uniformly from this range: positive, so roots and
    /// real powers of them stay real, and away from 0 and 1 where distinct
    /// powers coincide.
    public static let variableRange = 1.25...2.75
    /// Seed of the evaluation points (fixed: verdicts are reproducible).
    public static let seed: UInt64 = 0x1514_0014

    /// Whether `a` and `b` parse as expressions of equal value everywhere
    /// sampled (`x^2+2x+1` and `(x+1)^2`, `\sqrt{8}` and `2\sqrt{2}`); false
    /// when either does not parse or they are defined at too few points.
    public static func equivalent(_ a: String, _ b: String) -> Bool {
        var budget = Budget.unlimited
        return (try? equivalent(a, b, budget: &budget)) ?? false
    }

    static func equivalent(_ a: String, _ b: String, budget: inout Budget) throws -> Bool {
        guard let x = try MathExpression.parse(a, budget: &budget),
              let y = try MathExpression.parse(b, budget: &budget) else { return false }
        return try equivalent(x, y, budget: &budget)
    }

    static func equivalent(_ x: MathExpression, _ y: MathExpression, budget: inout Budget) throws -> Bool {
        let pairs = try values(x, y, budget: &budget)
        for (u, w) in pairs where u != w {   // `!=`: equal infinities agree
            guard close(u, w) else { return false }
        }
        return pairs.count >= minimumDefinedPoints || (pairs.count == 1 && x.variables.isEmpty && y.variables.isEmpty)
    }

    /// Whether `l1 = r1` and `l2 = r2` are the same equation: `l - r` of one
    /// is a nonzero constant multiple of the other's at every point
    /// (`5x-7y+11z+4=0`, `-5x+7y-11z=4`).
    static func sameEquation(_ l1: String, _ r1: String, _ l2: String, _ r2: String, budget: inout Budget) throws -> Bool {
        guard let a = try MathExpression.parse(l1, budget: &budget), let b = try MathExpression.parse(r1, budget: &budget),
              let c = try MathExpression.parse(l2, budget: &budget), let d = try MathExpression.parse(r2, budget: &budget)
        else { return false }
        let pairs = try values(.sum([a, .negation(b)]), .sum([c, .negation(d)]), budget: &budget)
        guard pairs.count >= minimumDefinedPoints, let (u0, w0) = pairs.first(where: { $0.0 != 0 }), w0 != 0 else { return false }
        let ratio = w0 / u0
        return pairs.allSatisfy { u, w in u.isFinite && w.isFinite && close(u * ratio, w) }
    }

    /// Whether two finite values agree within the tolerances.
    static func close(_ u: Double, _ w: Double) -> Bool {
        u.isFinite && w.isFinite && abs(u - w) <= max(absoluteTolerance, relativeTolerance * max(abs(u), abs(w)))
    }

    /// Both expressions evaluated at the seeded points (one point when neither
    /// has variables), keeping the points where both are defined (not NaN).
    static func values(_ x: MathExpression, _ y: MathExpression, budget: inout Budget) throws -> [(Double, Double)] {
        var names = x.variables
        for v in y.variables where !names.contains(v) { names.append(v) }
        names.sort()
        var out: [(Double, Double)] = []
        for k in 0..<(names.isEmpty ? 1 : pointCount) {
            try budget.check()
            var values: [Character: Double] = [:]
            for (j, v) in names.enumerated() {
                var rng = Rng(seed: SeedMixer.derive(run: seed, sample: UInt64(k), purpose: UInt64(j)))
                values[v] = variableRange.lowerBound + (variableRange.upperBound - variableRange.lowerBound) * rng.uniform()
            }
            let u = x.evaluate(values), w = y.evaluate(values)
            if !u.isNaN && !w.isNaN { out.append((u, w)) }
        }
        return out
    }
}
