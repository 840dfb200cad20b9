import Foundation
import Layers
import Objectives
import Tensors

/// The whole policy loss written naively in Double from the formula (METHODS.md
/// §0 and verl's `compute_policy_loss_vanilla`, `kl_penalty`, `agg_loss`), with
/// no code shared with `PolicyLoss`: the oracle for values and, by central
/// finite differences, for dlogits.
enum PolicyLossOracle {
    /// loss(logits) for a block of `V`-wide rows; with `magnitudes`, the same
    /// aggregate of |w·pg| + |β·kl| + |c_H·H|, the scale for value errors.
    static func loss(_ logits: [Double], vocab V: Int, inputs: PolicyLossInputs, config: PolicyLossConfig,
                     normalizer: Double, magnitudes: Bool = false) -> Double {
        let n = inputs.targets.count
        var perToken = [Double](repeating: 0, count: n)
        for r in 0..<n where inputs.targets[r] >= 0 {
            let row = Array(logits[r * V..<(r + 1) * V])
            let m = row.max()!
            let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
            let logp = row.map { $0 - lse }
            let x = logp[Int(inputs.targets[r])]
            let entropy = -logp.map { exp($0) * $0 }.reduce(0, +)
            let a = Double(inputs.advantages[r])
            let ratio = exp(min(max(x - Double(inputs.oldLogProbs[r]), -20), 20))
            var pg = max(-a * ratio, -a * min(max(ratio, 1 - config.clipRatioLow), 1 + config.clipRatioHigh))
            if let c = config.clipRatioC, a < 0 { pg = min(pg, -c * a) }
            var kl = 0.0
            if let ref = inputs.refLogProbs.map({ Double($0[r]) }) {
                switch config.klEstimator {
                case .k1: kl = x - ref
                case .k2: kl = 0.5 * (x - ref) * (x - ref)
                case .k3:
                    let u = min(max(ref - x, -20), 20)
                    kl = min(max(exp(u) - u - 1, -10), 10)
                }
            }
            let w = Double(inputs.weights?[r] ?? 1)
            let terms = [w * pg, config.klLossCoef * kl, -config.entropyCoeff * entropy]
            perToken[r] = magnitudes ? terms.map(abs).reduce(0, +) : terms.reduce(0, +)
        }
        let response = (0..<n).filter { inputs.targets[$0] >= 0 }
        switch config.aggregation {
        case .tokenMean:
            return response.map { perToken[$0] }.reduce(0, +) / normalizer
        case .seqMeanTokenSumNorm(let maxLength):
            return response.map { perToken[$0] }.reduce(0, +) / (Double(maxLength) * normalizer)
        case .seqMeanTokenMean:
            let seq = inputs.sequenceIds!
            var sums: [Int: Double] = [:], counts: [Int: Double] = [:]
            for r in response { sums[seq[r], default: 0] += perToken[r]; counts[seq[r], default: 0] += 1 }
            return sums.keys.sorted().map { sums[$0]! / counts[$0]! }.reduce(0, +) / normalizer
        }
    }

    /// log π(y) of every row in Double (0 where target < 0).
    static func logProbs(_ logits: [Double], vocab V: Int, targets: [Int32]) -> [Double] {
        targets.indices.map { r in
            guard targets[r] >= 0 else { return 0 }
            let row = Array(logits[r * V..<(r + 1) * V])
            let m = row.max()!
            return row[Int(targets[r])] - m - log(row.map { exp($0 - m) }.reduce(0, +))
        }
    }

    /// Central differences (step h) of `loss` at every logit; returns the
    /// largest |fd − grad| relative to the largest |fd|.
    static func gradientError(_ logits: [Float], grad: [Float], vocab V: Int, inputs: PolicyLossInputs,
                              config: PolicyLossConfig, normalizer: Double, h: Double = 1e-5) -> Double {
        var x = logits.map(Double.init)
        var maxErr = 0.0, maxRef = 0.0
        for i in x.indices {
            let keep = x[i]
            x[i] = keep + h; let up = loss(x, vocab: V, inputs: inputs, config: config, normalizer: normalizer)
            x[i] = keep - h; let down = loss(x, vocab: V, inputs: inputs, config: config, normalizer: normalizer)
            x[i] = keep
            let fd = (up - down) / (2 * h)
            maxErr = max(maxErr, abs(fd - Double(grad[i]))); maxRef = max(maxRef, abs(fd))
        }
        return maxErr / maxRef
    }

    /// Runs `PolicyLoss` on a copy of `logits`; returns (loss, dlogits).
    static func run(_ logits: [Float], vocab V: Int, inputs: PolicyLossInputs, config: PolicyLossConfig,
                    normalizer: Double, metrics: PolicyLossMetrics? = nil) -> (Double, [Float]) {
        var buffer = logits
        let value = buffer.withUnsafeMutableBufferPointer { p in
            PolicyLoss.loss(inputs, config: config, normalizer: normalizer, metrics: metrics)(
                LogitsBlock(rows: inputs.targets.count, vocab: V, data: p.baseAddress!))
        }
        return (value, buffer)
    }
}

/// A small batch that puts tokens in every region of the clipped surrogate.
struct PolicyCase {
    static let vocab = 19
    /// (sequence, masked, ratio ρ = π_θ/π_old, advantage) per row; three
    /// sequences. A > 0: ρ 1.6 clipped, 0.6 unclipped; A < 0: ρ 0.6 and 0.7
    /// clipped, 1.5 / 1.3 / 2.0 unclipped, 4.5 dual-clipped.
    static let layout: [(seq: Int, masked: Bool, ratio: Double, adv: Float)] = [
        (0, false, 1.05, 1.2), (0, true, 1, 1.2), (0, false, 1.6, 1.2), (0, false, 0.6, 1.2), (0, false, 1.0, 1.2),
        (1, false, 0.6, -0.9), (1, false, 1.5, -0.9), (1, false, 4.5, -0.9), (1, true, 1, -0.9),
        (2, false, 2.0, -0.5), (2, false, 0.7, -0.5), (2, false, 1.1, -0.5), (2, true, 1, -0.5), (2, false, 1.3, -0.5),
    ]
    /// Rows whose ratio clip (`clipped`) or dual clip (`dual`) is active with ε 0.2/0.28, c = 3.
    static let clippedRows = [2, 5, 10], dualRows = [7], maskedRows = [1, 8, 12]

    let logits: [Float]
    let inputs: PolicyLossInputs
    /// Current log π(y) in Double, the point the ratios above are taken at.
    let logProbs: [Double]

    init(seed: UInt64 = 7) {
        let V = Self.vocab, n = Self.layout.count
        var rng = Rng(seed: seed)
        let logits = (0..<n * V).map { _ in Float(rng.uniform() * 8 - 4) }
        let targets: [Int32] = Self.layout.map { $0.masked ? -1 : Int32(rng.below(V)) }
        let logProbs = PolicyLossOracle.logProbs(logits.map(Double.init), vocab: V, targets: targets)
        let old = (0..<n).map { Float(logProbs[$0] - log(Self.layout[$0].ratio)) }
        // Reference log-probs near the current ones; on row 3 ref − log π = 3,
        // where k3 = e³ − 4 ≈ 16 is clamped to 10.
        var ref = (0..<n).map { Float(logProbs[$0] + rng.uniform() * 1.6 - 0.8) }
        ref[3] = Float(logProbs[3] + 3)
        var weights = (0..<n).map { _ in Float(0.3 + rng.uniform() * 1.4) }
        weights[11] = 0
        self.logits = logits; self.logProbs = logProbs
        inputs = PolicyLossInputs(targets: targets, oldLogProbs: old, advantages: Self.layout.map(\.adv),
                                  refLogProbs: ref, sequenceIds: Self.layout.map(\.seq), weights: weights)
    }
}
