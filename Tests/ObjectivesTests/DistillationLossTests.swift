import Foundation
import Layers
import Objectives
import Tensors
import XCTest

/// MOTAB's loss: value against a Double oracle written from the formula,
/// dlogits against the oracle's central finite differences (the `sampled`
/// estimator's surrogate with d_t frozen, as stop-gradient means), plus the
/// identity that links the two estimators: on-policy, the expectation of the
/// sampled gradient over y ~ π_S is the exact KL gradient.
final class DistillationLossTests: XCTestCase {
    /// |value − oracle| ÷ (Σ of the terms' magnitudes / n). Measured ≤ 1.9e-8.
    static let valueTolerance = 1e-6
    /// dlogits: max |error| ÷ max |reference| against central differences
    /// (h = 1e-5, in Double). Measured ≤ 4.8e-8 (full and sampled).
    static let gradientTolerance = 2e-6
    /// E_y[sampled gradient] vs the exact KL gradient, same relative measure. Measured 5.6e-8.
    static let expectationTolerance = 2e-6

    static let V = 31
    /// Rows: 0 masked, 1-3 student, 4-5 teacher, 6 student with weight 0.5, 7 masked.
    static let targets: [Int32] = [-1, 3, 0, 30, 7, 12, 5, -1]
    static let provenance: [Int32] = [0, 0, 0, 0, 1, 1, 0, 1]
    static let weights: [Float] = [1, 1, 1, 1, 1, 0.75, 0.5, 1]

    struct Case {
        var logits: [Float] = [], teacherRows: [Float] = [], teacherToken: [Float] = [], old: [Float] = []
        init(seed: UInt64) {
            var rng = Rng(seed: seed)
            let N = DistillationLossTests.targets.count, V = DistillationLossTests.V
            logits = (0..<(N * V)).map { _ in Float(rng.normal() * 1.5) }
            for r in 0..<N {
                let t = (0..<V).map { _ in rng.normal() * 1.2 }
                let m = t.max()!, lse = m + log(t.map { exp($0 - m) }.reduce(0, +))
                teacherRows += t.map { Float($0 - lse) }
                let y = Int(max(0, DistillationLossTests.targets[r]))
                teacherToken.append(teacherRows[r * V + y])
                old.append(Float(-3.4 + 0.3 * rng.normal()))
            }
        }
        func inputs(_ e: DistillationEstimator, old useOld: Bool = true) -> DistillationInputs {
            DistillationInputs(targets: DistillationLossTests.targets, provenance: DistillationLossTests.provenance,
                               teacherLogProbRows: e == .full ? teacherRows : nil,
                               teacherTokenLogProbs: e == .sampled ? teacherToken : nil,
                               oldLogProbs: useOld ? old : nil, weights: DistillationLossTests.weights)
        }
    }

    /// log-softmax of a Double row.
    static func logSoftmax(_ z: ArraySlice<Double>) -> [Double] {
        let m = z.max()!, lse = m + log(z.map { exp($0 - m) }.reduce(0, +))
        return z.map { $0 - lse }
    }

    /// The loss in Double, naively. `frozenD` gives d_t for the sampled
    /// surrogate (stop-gradient); nil computes d_t from `z`.
    /// With `magnitudes`, Σ of |terms| instead (the scale for value errors).
    static func oracle(_ z: [Double], _ c: Case, _ e: DistillationEstimator, alpha: Double, useOld: Bool = true,
                       frozenD: [Double]? = nil, magnitudes: Bool = false) -> Double {
        let n = Double(targets.filter { $0 >= 0 }.count)
        var total = 0.0
        for r in targets.indices where targets[r] >= 0 {
            let lp = logSoftmax(z[(r * V)..<((r + 1) * V)])
            let y = Int(targets[r]), w = Double(weights[r]), x = lp[y]
            var term: Double
            if provenance[r] != 0 {
                term = alpha * w * -x
            } else if e == .full {
                term = w * (0..<V).map { exp(lp[$0]) * (lp[$0] - Double(c.teacherRows[r * V + $0])) }.reduce(0, +)
            } else {
                let d = frozenD?[r] ?? (x - Double(c.teacherToken[r]))
                term = w * d * (useOld ? exp(x - Double(c.old[r])) : 1)
                if !useOld && frozenD != nil { term = w * d * x }  // ρ ≡ 1: the surrogate is d·x
            }
            total += magnitudes ? abs(term) : term
        }
        return total / n
    }

    /// Runs the loss on a copy of `logits`: (value, dlogits).
    static func run(_ c: Case, _ e: DistillationEstimator, alpha: Double, useOld: Bool = true,
                    metrics: DistillationLossMetrics? = nil) -> (Double, [Float]) {
        var g = c.logits
        let loss = DistillationLoss.loss(c.inputs(e, old: useOld), estimator: e, alpha: alpha, metrics: metrics)
        let v = g.withUnsafeMutableBufferPointer { loss(LogitsBlock(rows: targets.count, vocab: V, data: $0.baseAddress!)) }
        return (v, g)
    }

    /// max |grad − FD| ÷ max |FD| over every logit.
    static func gradientError(_ grad: [Float], _ f: ([Double]) -> Double, at z0: [Double]) -> Double {
        let h = 1e-5
        var worst = 0.0, scale = 0.0
        var z = z0
        for i in z.indices {
            z[i] = z0[i] + h; let up = f(z)
            z[i] = z0[i] - h; let down = f(z)
            z[i] = z0[i]
            let fd = (up - down) / (2 * h)
            worst = max(worst, abs(Double(grad[i]) - fd)); scale = max(scale, abs(fd))
        }
        return worst / scale
    }

    func testFullEstimatorValueAndGradient() {
        var worstV = 0.0, worstG = 0.0
        for seed: UInt64 in [1, 2, 3] {
            let c = Case(seed: seed), z0 = c.logits.map(Double.init)
            let metrics = DistillationLossMetrics()
            let (v, g) = Self.run(c, .full, alpha: 0.7, metrics: metrics)
            let ref = Self.oracle(z0, c, .full, alpha: 0.7)
            let size = Self.oracle(z0, c, .full, alpha: 0.7, magnitudes: true)
            worstV = max(worstV, abs(v - ref) / size)
            worstG = max(worstG, Self.gradientError(g, { Self.oracle($0, c, .full, alpha: 0.7) }, at: z0))
            XCTAssertEqual(metrics.studentTokens, 4); XCTAssertEqual(metrics.teacherTokens, 2)
            XCTAssertGreaterThan(metrics.reverseKLSum, 0, "KL ≥ 0")
            for r in [0, 7] { XCTAssertTrue(g[(r * Self.V)..<((r + 1) * Self.V)].allSatisfy { $0 == 0 }, "masked row \(r)") }
        }
        XCTAssertLessThan(worstV, Self.valueTolerance)
        XCTAssertLessThan(worstG, Self.gradientTolerance)
        print("[objectives] MOTAB loss (full) value \(worstV) rel, dlogits \(worstG) rel")
    }

    func testSampledEstimatorValueAndGradient() {
        var worstV = 0.0, worstG = 0.0
        for seed: UInt64 in [4, 5] {
            for useOld in [true, false] {
                let c = Case(seed: seed), z0 = c.logits.map(Double.init)
                let (v, g) = Self.run(c, .sampled, alpha: 1.3, useOld: useOld)
                let ref = Self.oracle(z0, c, .sampled, alpha: 1.3, useOld: useOld)
                let size = Self.oracle(z0, c, .sampled, alpha: 1.3, useOld: useOld, magnitudes: true)
                worstV = max(worstV, abs(v - ref) / size)
                // Stop-gradient: d_t frozen at z0.
                var d = [Double](repeating: 0, count: Self.targets.count)
                for r in Self.targets.indices where Self.targets[r] >= 0 {
                    d[r] = Self.logSoftmax(z0[(r * Self.V)..<((r + 1) * Self.V)])[Int(Self.targets[r])] - Double(c.teacherToken[r])
                }
                worstG = max(worstG, Self.gradientError(g, { Self.oracle($0, c, .sampled, alpha: 1.3, useOld: useOld, frozenD: d) }, at: z0))
            }
        }
        XCTAssertLessThan(worstV, Self.valueTolerance)
        XCTAssertLessThan(worstG, Self.gradientTolerance)
        print("[objectives] MOTAB loss (sampled) value \(worstV) rel, dlogits \(worstG) rel")
    }

    /// On-policy, Σ_y π_S(y)·(sampled gradient with target y) equals the exact
    /// KL gradient p_j(log p_j − log q_j − KL): the sampled estimator is unbiased.
    func testSampledGradientIsUnbiasedOnPolicy() {
        let V = Self.V
        var rng = Rng(seed: 9)
        let z = (0..<V).map { _ in Float(rng.normal()) }
        let q = Self.logSoftmax((0..<V).map { _ in rng.normal() }[...]).map(Float.init)
        let p = Self.logSoftmax(z.map(Double.init)[...]).map(exp)
        var expected = [Double](repeating: 0, count: V)
        for y in 0..<V {
            var row = z
            let inputs = DistillationInputs(targets: [Int32(y)], provenance: [0], teacherTokenLogProbs: [q[y]])
            _ = row.withUnsafeMutableBufferPointer {
                DistillationLoss.loss(inputs, estimator: .sampled, alpha: 1)(LogitsBlock(rows: 1, vocab: V, data: $0.baseAddress!))
            }
            for j in 0..<V { expected[j] += p[y] * Double(row[j]) }
        }
        var exact = z
        let full = DistillationInputs(targets: [0], provenance: [0], teacherLogProbRows: q)
        _ = exact.withUnsafeMutableBufferPointer {
            DistillationLoss.loss(full, estimator: .full, alpha: 1)(LogitsBlock(rows: 1, vocab: V, data: $0.baseAddress!))
        }
        let err = zip(expected, exact).map { abs($0 - Double($1)) }.max()! / exact.map { abs(Double($0)) }.max()!
        XCTAssertLessThan(err, Self.expectationTolerance)
        print("[objectives] MOTAB sampled-vs-full expected gradient \(err) rel")
    }

    /// Teacher rows ignore the teacher's numbers; identical student and teacher give KL 0 and no gradient.
    func testTeacherRowsAndZeroKL() {
        let c = Case(seed: 7), V = Self.V
        var teacherOnly = c
        for r in Self.targets.indices where Self.provenance[r] != 0 {
            for j in 0..<V { teacherOnly.teacherRows[r * V + j] = -99 }
        }
        let (a, ga) = Self.run(c, .full, alpha: 1), (b, gb) = Self.run(teacherOnly, .full, alpha: 1)
        XCTAssertEqual(a, b); XCTAssertEqual(ga, gb)
        // Teacher = student on the student rows: KL and its gradient vanish there.
        var same = c
        for r in Self.targets.indices where Self.provenance[r] == 0 {
            let lp = Self.logSoftmax(c.logits[(r * V)..<((r + 1) * V)].map(Double.init)[...])
            for j in 0..<V { same.teacherRows[r * V + j] = Float(lp[j]) }
        }
        let metrics = DistillationLossMetrics()
        let (_, g) = Self.run(same, .full, alpha: 1, metrics: metrics)
        XCTAssertEqual(metrics.reverseKLSum, 0, accuracy: 1e-6)
        for r in Self.targets.indices where Self.provenance[r] == 0 && Self.targets[r] >= 0 {
            XCTAssertLessThan(g[(r * V)..<((r + 1) * V)].map(abs).max()!, 1e-7)
        }
    }
}
