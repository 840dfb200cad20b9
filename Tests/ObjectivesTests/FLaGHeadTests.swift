import Foundation
import Objectives
import Tensors
import XCTest

/// The FLaG head: log-marginal score vs hand values, K = 1 reduces to a linear
/// probe, and the analytic gradient of every loss term vs central differences.
final class FLaGHeadTests: XCTestCase {
    /// Hand values agree to rounding: measured ≤ 4.2e-17 (K = 1 vs the linear logit).
    static let handTolerance = 1e-12
    /// Central differences in Double with h = 1e-6: measured ≤ 2.0e-9 relative to the largest entry (FLaG), 7e-10 (MLP).
    static let gradientTolerance = 1e-6
    static let step = 1e-6

    /// K = 2, D = 1 (no projection), z = [1]: E = (1, −1), ℓ = (2, −1).
    func testScoreMatchesHandValue() {
        let shape = FLaGHeadShape(representationDim: 1, tokenDim: 0, groups: 2)
        // W (2·1), b (2), V (2·1), c (2)
        let p: [Double] = [1, -1, 0, 0, 2, -1, 0, 0]
        let f = FLaGHead.forward(parameters: p, features: [1][...], shape: shape)
        // π = softmax(−E) = (1, e²)/(1 + e²); p1 = π1 σ(2) + π2 σ(−1); from Python's math module:
        XCTAssertEqual(f.score, -0.6549434718721626, accuracy: Self.handTolerance)
        XCTAssertEqual(f.logP1, -1.0733060005319295, accuracy: Self.handTolerance)
        XCTAssertEqual(exp(f.logP1) + exp(f.logP0), 1, accuracy: Self.handTolerance)
        XCTAssertEqual(f.routing[1], exp(2) / (1 + exp(2)), accuracy: Self.handTolerance)
        XCTAssertEqual(f.detectors, [2, -1])
    }

    /// With one group π = 1, so S = log σ(ℓ) − log σ(−ℓ) = ℓ, the linear probe's logit.
    func testOneGroupIsTheLinearProbe() {
        let shape = FLaGHeadShape(representationDim: 3, tokenDim: 2, groups: 1, temperature: 0.7)
        var rng = Rng(seed: 5)
        var maxErr = 0.0
        for _ in 0..<50 {
            let p = (0..<shape.parameterCount).map { _ in rng.normal() * 3 }
            let x = (0..<shape.inputDim).map { _ in rng.normal() * 2 }
            var l = p[shape.detectorBiasOffset]
            for i in 0..<shape.innerDim { l += p[shape.detectorWeightOffset + i] * x[i] }
            let s = FLaGHead.forward(parameters: p, features: x[...], shape: shape).score
            maxErr = max(maxErr, abs(s - l) / max(1, abs(l)))
        }
        print("[objectives] FLaG K=1 score vs linear logit max error \(maxErr)")
        XCTAssertLessThan(maxErr, Self.handTolerance)
    }

    func checkGradient(shape: FLaGHeadShape, weights: FLaGLossWeights, labels: [Int], seed: UInt64) -> Double {
        var rng = Rng(seed: seed)
        let x = (0..<labels.count * shape.inputDim).map { _ in rng.normal() }
        var p = FLaGHead.initialParameters(shape: shape, seed: seed, scale: 2)
        for i in 0..<p.count { p[i] += rng.normal() * 0.3 }  // non-zero biases too
        let (_, g) = FLaGHead.loss(parameters: p, features: x, labels: labels, shape: shape, weights: weights)
        var maxErr = 0.0, maxRef = 0.0
        for i in 0..<p.count {
            var q = p
            q[i] = p[i] + Self.step
            let up = FLaGHead.loss(parameters: q, features: x, labels: labels, shape: shape, weights: weights).value
            q[i] = p[i] - Self.step
            let down = FLaGHead.loss(parameters: q, features: x, labels: labels, shape: shape, weights: weights).value
            let fd = (up - down) / (2 * Self.step)
            maxErr = max(maxErr, abs(fd - g[i])); maxRef = max(maxRef, abs(fd))
        }
        return maxErr / maxRef
    }

    func testGradientOfEveryTermMatchesFiniteDifferences() {
        let labels = [1, 0, 0, 1, 1, 0, 1]
        let projected = FLaGHeadShape(representationDim: 5, tokenDim: 3, projectionDim: 2, groups: 3, temperature: 0.8)
        let plain = FLaGHeadShape(representationDim: 4, tokenDim: 2, groups: 4, temperature: 1.5)
        let cases: [(String, FLaGHeadShape, FLaGLossWeights)] = [
            ("BCE", plain, FLaGLossWeights()),
            ("BCE+rank", plain, FLaGLossWeights(rank: 0.7)),
            ("BCE+balance", plain, FLaGLossWeights(balance: 0.5)),
            ("all, projected", projected, FLaGLossWeights(rank: 0.7, balance: 0.5)),
            ("all, K=1", FLaGHeadShape(representationDim: 3, tokenDim: 2, groups: 1), FLaGLossWeights(rank: 1, balance: 1)),
        ]
        for (i, (name, shape, weights)) in cases.enumerated() {
            let err = checkGradient(shape: shape, weights: weights, labels: labels, seed: UInt64(10 + i))
            print("[objectives] FLaG gradient (\(name)) max error \(err) relative")
            XCTAssertLessThan(err, Self.gradientTolerance, name)
        }
        // One class only: the ranking term vanishes and the gradient is still right.
        let err = checkGradient(shape: plain, weights: FLaGLossWeights(rank: 1, balance: 0.2), labels: [1, 1, 1], seed: 3)
        XCTAssertLessThan(err, Self.gradientTolerance)
    }

    func testBalanceIsZeroForUniformRouting() {
        // Zero energies route uniformly: KL(π̄ ‖ u) = 0, so the loss equals BCE alone.
        let shape = FLaGHeadShape(representationDim: 2, tokenDim: 0, groups: 4)
        var p = [Double](repeating: 0, count: shape.parameterCount)
        p[shape.detectorWeightOffset] = 1
        let x: [Double] = [0.5, -1, 2, 0.3], y = [1, 0]
        let a = FLaGHead.loss(parameters: p, features: x, labels: y, shape: shape, weights: FLaGLossWeights())
        let b = FLaGHead.loss(parameters: p, features: x, labels: y, shape: shape, weights: FLaGLossWeights(balance: 3))
        XCTAssertEqual(a.value, b.value, accuracy: Self.handTolerance)
    }

    func testMLPProbeGradientMatchesFiniteDifferences() {
        let D = 4, H = 5, labels = [1, 0, 1, 1, 0, 0]
        var rng = Rng(seed: 9)
        let x = (0..<labels.count * D).map { _ in rng.normal() }
        var p = FLaGMLPProbe.initialParameters(inputDim: D, hidden: H, seed: 2)
        for i in 0..<p.count { p[i] += rng.normal() * 0.2 }
        let g = FLaGMLPProbe.loss(parameters: p, features: x, labels: labels, inputDim: D, hidden: H).gradient
        var maxErr = 0.0, maxRef = 0.0
        for i in 0..<p.count {
            var q = p
            q[i] += Self.step
            let up = FLaGMLPProbe.loss(parameters: q, features: x, labels: labels, inputDim: D, hidden: H).value
            q[i] = p[i] - Self.step
            let down = FLaGMLPProbe.loss(parameters: q, features: x, labels: labels, inputDim: D, hidden: H).value
            let fd = (up - down) / (2 * Self.step)
            maxErr = max(maxErr, abs(fd - g[i])); maxRef = max(maxRef, abs(fd))
        }
        print("[objectives] MLP probe gradient max error \(maxErr / maxRef) relative")
        XCTAssertLessThan(maxErr / maxRef, Self.gradientTolerance)
        // logit agrees with the loss: BCE of one example = softplus(−logit) for y = 1.
        let l = FLaGMLPProbe.logit(parameters: p, features: x[0..<D], hidden: H)
        let v = FLaGMLPProbe.loss(parameters: p, features: Array(x[0..<D]), labels: [1], inputDim: D, hidden: H).value
        XCTAssertEqual(v, log1p(exp(-l)), accuracy: Self.handTolerance)
    }
}
