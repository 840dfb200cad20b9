import Foundation
import Tensors

/// Shape and hyper-parameters of a FLaG head (METHODS.md §7).
///
/// The input vector is `[representation (representationDim) | token features (tokenDim)]`.
/// With `projectionDim > 0` the representation part goes through a learned linear
/// projection P: (projectionDim, representationDim) first; the token features pass
/// through unchanged. The head then works on z = [P·rep | tok] (or z = x).
public struct FLaGHeadShape: Codable, Equatable, Sendable {
    /// Length of the representation part of x (hidden-state features).
    public var representationDim: Int
    /// Length of the token-probability part of x (7 for `FLaGTokenFeatures`).
    public var tokenDim: Int
    /// d_p of the learned projection of the representation part; 0 = no projection.
    public var projectionDim: Int
    /// K, the number of latent groups.
    public var groups: Int
    /// Routing temperature T in π = softmax(−E/T).
    public var temperature: Double

    /// Creates a shape; `groups` ≥ 1, `temperature` > 0.
    public init(representationDim: Int, tokenDim: Int, projectionDim: Int = 0, groups: Int, temperature: Double = 1) {
        precondition(representationDim >= 0 && tokenDim >= 0 && representationDim + tokenDim > 0, "FLaG: empty input")
        precondition(projectionDim >= 0 && groups >= 1 && temperature > 0, "FLaG: groups ≥ 1, temperature > 0, projectionDim ≥ 0")
        self.representationDim = representationDim; self.tokenDim = tokenDim
        self.projectionDim = projectionDim; self.groups = groups; self.temperature = temperature
    }

    /// Length of x.
    public var inputDim: Int { representationDim + tokenDim }
    /// Length of z, the vector the energies and detectors read.
    public var innerDim: Int { (projectionDim > 0 ? projectionDim : representationDim) + tokenDim }
    /// Flat offsets: P (d_p·R, row-major), W (K·D_z), b (K), V (K·D_z), c (K).
    public var projectionCount: Int { projectionDim * representationDim }
    /// Offset of the energy weights W (K, D_z).
    public var energyWeightOffset: Int { projectionCount }
    /// Offset of the energy biases b (K).
    public var energyBiasOffset: Int { energyWeightOffset + groups * innerDim }
    /// Offset of the detector weights V (K, D_z).
    public var detectorWeightOffset: Int { energyBiasOffset + groups }
    /// Offset of the detector biases c (K).
    public var detectorBiasOffset: Int { detectorWeightOffset + groups * innerDim }
    /// Length of the flat parameter buffer.
    public var parameterCount: Int { detectorBiasOffset + groups }
}

/// Loss weights of the FLaG objective.
public struct FLaGLossWeights: Codable, Equatable, Sendable {
    /// λ_rank: weight of the pairwise logistic ranking loss on S_pos − S_neg.
    public var rank: Double
    /// λ_bal: weight of KL(batch-mean routing ‖ uniform).
    public var balance: Double
    /// Creates loss weights (both ≥ 0).
    public init(rank: Double = 0, balance: Double = 0) {
        precondition(rank >= 0 && balance >= 0, "FLaG: loss weights must be ≥ 0")
        self.rank = rank; self.balance = balance
    }
}

/// Per-example forward quantities of the FLaG head.
public struct FLaGForward: Sendable {
    /// log p(y=1|x) = logsumexp_k[log π_k + log σ(ℓ_k)].
    public var logP1: Double
    /// log p(y=0|x) = logsumexp_k[log π_k + log σ(−ℓ_k)].
    public var logP0: Double
    /// Routing weights π_k (K).
    public var routing: [Double]
    /// Detector logits ℓ_k (K).
    public var detectors: [Double]
    /// Score S = log p(1) − log p(0) (a log-odds of "correct").
    public var score: Double { logP1 - logP0 }
}

/// The FLaG head (METHODS.md §7): energy-routed mixture of K linear detectors,
/// combined by log-marginal aggregation. Pure math in Double: parameters and
/// features in, values and analytic gradients out.
public enum FLaGHead {
    /// log σ(x) = −softplus(−x), stable for large |x|.
    @inline(__always) static func logSigmoid(_ x: Double) -> Double { min(x, 0) - log1p(exp(-abs(x))) }
    /// σ(x), stable for large |x|.
    @inline(__always) static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }
    /// logsumexp of a small array and its softmax.
    static func logSumExp(_ a: [Double]) -> (value: Double, softmax: [Double]) {
        let m = a.max()!
        if m == -.infinity { return (m, a.map { _ in 1 / Double(a.count) }) }
        let e = a.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return (m + log(s), e.map { $0 / s })
    }

    /// z for one example: the projected representation part and the token part.
    static func inner(_ p: [Double], _ x: ArraySlice<Double>, _ s: FLaGHeadShape) -> [Double] {
        guard s.projectionDim > 0 else { return Array(x) }
        let R = s.representationDim, b = x.startIndex
        var z = [Double](repeating: 0, count: s.innerDim)
        for j in 0..<s.projectionDim {
            var acc = 0.0
            for i in 0..<R { acc += p[j * R + i] * x[b + i] }
            z[j] = acc
        }
        for i in 0..<s.tokenDim { z[s.projectionDim + i] = x[b + R + i] }
        return z
    }

    /// Forward of one example. x: (inputDim).
    public static func forward(parameters p: [Double], features x: ArraySlice<Double>, shape s: FLaGHeadShape) -> FLaGForward {
        precondition(p.count == s.parameterCount, "FLaG: \(p.count) parameters, expected \(s.parameterCount)")
        precondition(x.count == s.inputDim, "FLaG: feature vector of \(x.count), expected \(s.inputDim)")
        let z = inner(p, x, s)
        return forwardInner(p, z, s).forward
    }

    /// Forward from z, returning intermediates for the backward.
    static func forwardInner(_ p: [Double], _ z: [Double], _ s: FLaGHeadShape)
        -> (forward: FLaGForward, logRouting: [Double], post1: [Double], post0: [Double]) {
        let K = s.groups, D = s.innerDim
        var a = [Double](repeating: 0, count: K), l = a
        for k in 0..<K {
            var e = p[s.energyBiasOffset + k], d = p[s.detectorBiasOffset + k]
            let wo = s.energyWeightOffset + k * D, vo = s.detectorWeightOffset + k * D
            for i in 0..<D { e += p[wo + i] * z[i]; d += p[vo + i] * z[i] }
            a[k] = -e / s.temperature; l[k] = d
        }
        let (lseA, pi) = logSumExp(a)
        let logPi = a.map { $0 - lseA }
        let (l1, r1) = logSumExp((0..<K).map { logPi[$0] + logSigmoid(l[$0]) })
        let (l0, r0) = logSumExp((0..<K).map { logPi[$0] + logSigmoid(-l[$0]) })
        return (FLaGForward(logP1: l1, logP0: l0, routing: pi, detectors: l), logPi, r1, r0)
    }

    /// Scores S for every row of a (N, inputDim) row-major feature matrix.
    public static func scores(parameters p: [Double], features: [Double], shape s: FLaGHeadShape) -> [Double] {
        let D = s.inputDim
        precondition(features.count % max(D, 1) == 0, "FLaG: \(features.count) features is not a multiple of \(D)")
        return (0..<features.count / D).map { forward(parameters: p, features: features[$0 * D..<($0 + 1) * D], shape: s).score }
    }

    /// The FLaG objective over a batch and its analytic gradient.
    ///
    /// L = (1/N) Σ_i −log p(y_i|x_i)
    ///   + λ_rank · (1/|P|) Σ_{(i,j): y_i=1, y_j=0} log(1 + exp(−(S_i − S_j)))
    ///   + λ_bal · Σ_k π̄_k log(K π̄_k),   π̄ = (1/N) Σ_i π(x_i).
    /// The ranking term is 0 when the batch holds only one class.
    /// - features: (N, inputDim) row-major; labels: (N) 1 = correct / positive, 0 = not.
    /// - Returns: the value and dL/dparameters (parameterCount).
    public static func loss(parameters p: [Double], features: [Double], labels: [Int], shape s: FLaGHeadShape,
                            weights: FLaGLossWeights) -> (value: Double, gradient: [Double]) {
        let N = labels.count, Din = s.inputDim, K = s.groups, D = s.innerDim, R = s.representationDim
        precondition(N > 0 && features.count == N * Din, "FLaG: \(features.count) features for \(N) labels of \(Din)")
        precondition(p.count == s.parameterCount, "FLaG: \(p.count) parameters, expected \(s.parameterCount)")
        precondition(labels.allSatisfy { $0 == 0 || $0 == 1 }, "FLaG: labels must be 0 or 1")
        var zs: [[Double]] = [], fw: [(forward: FLaGForward, logRouting: [Double], post1: [Double], post0: [Double])] = []
        for i in 0..<N {
            let z = inner(p, features[i * Din..<(i + 1) * Din], s)
            zs.append(z); fw.append(forwardInner(p, z, s))
        }
        // Upstream gradients in log p(1) and log p(0) per example, and in a_k (routing logits).
        var g1 = [Double](repeating: 0, count: N), g0 = g1
        var value = 0.0
        for i in 0..<N {
            if labels[i] == 1 { value -= fw[i].forward.logP1; g1[i] -= 1 / Double(N) }
            else { value -= fw[i].forward.logP0; g0[i] -= 1 / Double(N) }
        }
        value /= Double(N)
        if weights.rank > 0 {
            let pos = (0..<N).filter { labels[$0] == 1 }, neg = (0..<N).filter { labels[$0] == 0 }
            if !pos.isEmpty && !neg.isEmpty {
                let scale = weights.rank / Double(pos.count * neg.count)
                var gS = [Double](repeating: 0, count: N)
                for i in pos {
                    for j in neg {
                        let m = fw[i].forward.score - fw[j].forward.score
                        value += scale * -logSigmoid(m)
                        let d = scale * sigmoid(-m)
                        gS[i] -= d; gS[j] += d
                    }
                }
                for i in 0..<N { g1[i] += gS[i]; g0[i] -= gS[i] }
            }
        }
        // Balance: h_k = dKL/dπ̄_k; reaches a_ij through π̄ = mean π_i.
        var h = [Double](repeating: 0, count: K)
        if weights.balance > 0 && K > 1 {
            var mean = [Double](repeating: 0, count: K)
            for i in 0..<N { for k in 0..<K { mean[k] += fw[i].forward.routing[k] / Double(N) } }
            for k in 0..<K where mean[k] > 0 {
                value += weights.balance * mean[k] * log(Double(K) * mean[k])
                h[k] = weights.balance * (log(Double(K) * mean[k]) + 1) / Double(N)
            }
        }
        var grad = [Double](repeating: 0, count: s.parameterCount)
        for i in 0..<N {
            let f = fw[i], z = zs[i], pi = f.forward.routing
            var gLogPi = [Double](repeating: 0, count: K), gL = gLogPi
            for k in 0..<K {
                gLogPi[k] = g1[i] * f.post1[k] + g0[i] * f.post0[k]
                let sk = sigmoid(f.forward.detectors[k])
                gL[k] = g1[i] * f.post1[k] * (1 - sk) - g0[i] * f.post0[k] * sk
            }
            let sumG = gLogPi.reduce(0, +)
            let piH = (0..<K).reduce(0.0) { $0 + pi[$1] * h[$1] }
            var gz = [Double](repeating: 0, count: D)
            for k in 0..<K {
                let ga = gLogPi[k] - pi[k] * sumG + pi[k] * (h[k] - piH)
                let gE = -ga / s.temperature
                let wo = s.energyWeightOffset + k * D, vo = s.detectorWeightOffset + k * D
                grad[s.energyBiasOffset + k] += gE
                grad[s.detectorBiasOffset + k] += gL[k]
                for j in 0..<D {
                    grad[wo + j] += gE * z[j]; grad[vo + j] += gL[k] * z[j]
                    gz[j] += gE * p[wo + j] + gL[k] * p[vo + j]
                }
            }
            if s.projectionDim > 0 {
                let xb = i * Din
                for j in 0..<s.projectionDim where gz[j] != 0 {
                    for r in 0..<R { grad[j * R + r] += gz[j] * features[xb + r] }
                }
            }
        }
        return (value, grad)
    }

    /// Seeded initialisation: weights ~ N(0, scale²/fan_in), biases 0. The energy
    /// weights must not all be equal, or every group gets the same gradient.
    public static func initialParameters(shape s: FLaGHeadShape, seed: UInt64, scale: Double = 1) -> [Double] {
        var rng = Rng(seed: seed)
        var p = [Double](repeating: 0, count: s.parameterCount)
        let projStd = scale / Double(max(s.representationDim, 1)).squareRoot()
        for i in 0..<s.projectionCount { p[i] = rng.normal() * projStd }
        let std = scale / Double(max(s.innerDim, 1)).squareRoot()
        for i in s.energyWeightOffset..<s.energyBiasOffset { p[i] = rng.normal() * std }
        for i in s.detectorWeightOffset..<s.detectorBiasOffset { p[i] = rng.normal() * std }
        return p
    }
}
