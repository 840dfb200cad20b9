import Foundation
import Tensors

/// The MLP probe baseline for FLaG: one hidden ReLU layer and a logistic output,
/// trained by BCE. Flat parameters: W1 (H, D) row-major, b1 (H), w2 (H), b2 (1).
public enum FLaGMLPProbe {
    /// Length of the flat parameter buffer for input D and hidden H.
    public static func parameterCount(inputDim D: Int, hidden H: Int) -> Int { H * D + H + H + 1 }

    /// The output logit (log-odds of label 1) of one example x (D).
    public static func logit(parameters p: [Double], features x: ArraySlice<Double>, hidden H: Int) -> Double {
        let D = x.count, b = x.startIndex
        precondition(p.count == parameterCount(inputDim: D, hidden: H), "MLP probe: \(p.count) parameters for D=\(D), H=\(H)")
        var out = p[H * D + 2 * H]
        for h in 0..<H {
            var a = p[H * D + h]
            for i in 0..<D { a += p[h * D + i] * x[b + i] }
            if a > 0 { out += p[H * D + H + h] * a }
        }
        return out
    }

    /// Logits for every row of a (N, D) row-major feature matrix.
    public static func scores(parameters p: [Double], features: [Double], inputDim D: Int, hidden H: Int) -> [Double] {
        (0..<features.count / D).map { logit(parameters: p, features: features[$0 * D..<($0 + 1) * D], hidden: H) }
    }

    /// Mean BCE over the batch and its analytic gradient. labels: 0/1.
    public static func loss(parameters p: [Double], features: [Double], labels: [Int], inputDim D: Int, hidden H: Int)
        -> (value: Double, gradient: [Double]) {
        let N = labels.count
        precondition(N > 0 && features.count == N * D, "MLP probe: \(features.count) features for \(N) labels of \(D)")
        var grad = [Double](repeating: 0, count: p.count), value = 0.0
        var act = [Double](repeating: 0, count: H)
        let w2 = H * D + H, b2 = H * D + 2 * H
        for n in 0..<N {
            let xb = n * D
            var out = p[b2]
            for h in 0..<H {
                var a = p[H * D + h]
                for i in 0..<D { a += p[h * D + i] * features[xb + i] }
                act[h] = a
                if a > 0 { out += p[w2 + h] * a }
            }
            let y = Double(labels[n])
            // BCE(y, σ(out)) = softplus(out) − y·out; derivative σ(out) − y.
            value += max(out, 0) + log1p(exp(-abs(out))) - y * out
            let g = (FLaGHead.sigmoid(out) - y) / Double(N)
            grad[b2] += g
            for h in 0..<H where act[h] > 0 {
                grad[w2 + h] += g * act[h]
                let gh = g * p[w2 + h]
                grad[H * D + h] += gh
                for i in 0..<D { grad[h * D + i] += gh * features[xb + i] }
            }
        }
        return (value / Double(N), grad)
    }

    /// Seeded He initialisation of W1, small w2, zero biases.
    public static func initialParameters(inputDim D: Int, hidden H: Int, seed: UInt64) -> [Double] {
        var rng = Rng(seed: seed)
        var p = [Double](repeating: 0, count: parameterCount(inputDim: D, hidden: H))
        let s1 = (2 / Double(max(D, 1))).squareRoot(), s2 = 1 / Double(max(H, 1)).squareRoot()
        for i in 0..<(H * D) { p[i] = rng.normal() * s1 }
        for h in 0..<H { p[H * D + H + h] = rng.normal() * s2 }
        return p
    }
}
