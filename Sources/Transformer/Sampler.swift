import Foundation
import Layers
import Tensors

/// How tokens are drawn from the logits.
public struct SamplingOptions: Sendable {
    /// Softmax temperature (> 0); ignored when `greedy`.
    public var temperature: Float
    /// Nucleus mass in (0, 1]; 1 disables top-p.
    public var topP: Float
    /// Take the arg-max instead of sampling.
    public var greedy: Bool
    /// New tokens per sequence at most.
    public var maxNewTokens: Int
    /// Generation of a sequence ends after it emits one of these (the stop token is kept).
    public var stopTokens: Set<Int32>

    /// Defaults: temperature 1, no top-p, sampling, 64 tokens, no stop tokens.
    public init(temperature: Float = 1, topP: Float = 1, greedy: Bool = false, maxNewTokens: Int = 64,
                stopTokens: Set<Int32> = []) {
        self.temperature = temperature; self.topP = topP; self.greedy = greedy
        self.maxNewTokens = maxNewTokens; self.stopTokens = stopTokens
    }
}

/// One draw from a row of logits.
public struct SampledToken: Equatable, Sendable {
    /// The chosen id.
    public let token: Int32
    /// log π(token) under the temperature-scaled distribution before top-p
    /// truncation (the policy the RL ratio compares against; temperature 1 when greedy).
    public let logProb: Float
    /// Entropy of that same distribution, in nats.
    public let entropy: Float
}

/// Draws tokens from logits rows.
public enum Sampler {
    /// Samples (or takes the arg-max of) one row. `scratch` needs 2·n floats;
    /// the row itself is not modified.
    public static func sample(row: UnsafePointer<Float>, count n: Int, options: SamplingOptions,
                              rng: inout Rng, scratch: UnsafeMutablePointer<Float>) -> SampledToken {
        let temperature = options.greedy ? 1 : options.temperature
        precondition(temperature > 0, "temperature must be positive, got \(temperature)")
        let scaled = scratch, weights = scratch + n
        if temperature == 1 {
            scaled.update(from: row, count: n)
        } else {
            scaled.update(from: row, count: n)
            VectorMath.scale(scaled, n, by: 1 / temperature)
        }
        // weights[i] = exp(scaled[i] − max): unnormalised probabilities.
        let st = LogitsMath.expAndStats(scaled, n, into: weights)
        let logZ = Double(st.max) + log(st.sum)
        let entropy = Float(logZ - st.meanLogit)
        let chosen: Int
        if options.greedy {
            var best = 0
            for i in 1..<n where row[i] > row[best] { best = i }
            chosen = best
        } else if options.topP < 1 {
            chosen = nucleus(weights: weights, count: n, total: st.sum, topP: options.topP, rng: &rng)
        } else {
            // Inverse CDF over the unnormalised weights, in index order.
            let target = rng.uniform() * st.sum
            var acc = 0.0
            var pick = n - 1
            var i = 0
            while i < n {
                let blockEnd = min(i + 64, n)
                var block: Float = 0
                for j in i..<blockEnd { block += weights[j] }
                if acc + Double(block) > target {
                    pick = blockEnd - 1  // if rounding keeps the running sum below target
                    for j in i..<blockEnd {
                        acc += Double(weights[j])
                        if acc > target { pick = j; break }
                    }
                    break
                }
                acc += Double(block)
                i = blockEnd
            }
            // Guard against a zero-weight pick at the very end from rounding.
            while weights[pick] == 0 && pick > 0 { pick -= 1 }
            chosen = pick
        }
        return SampledToken(token: Int32(chosen), logProb: Float(Double(scaled[chosen]) - logZ), entropy: entropy)
    }

    /// Smallest set of most-probable tokens whose mass reaches `topP`, renormalised.
    private static func nucleus(weights: UnsafePointer<Float>, count n: Int, total: Double, topP: Float,
                                rng: inout Rng) -> Int {
        var order = Array(0..<n)
        order.sort { weights[$0] > weights[$1] || (weights[$0] == weights[$1] && $0 < $1) }
        let need = Double(topP) * total
        var kept = 0, mass = 0.0
        while kept < n && mass < need { mass += Double(weights[order[kept]]); kept += 1 }
        let u = rng.uniform() * mass
        var acc = 0.0
        for i in 0..<kept {
            acc += Double(weights[order[i]])
            if acc > u { return order[i] }
        }
        return order[kept - 1]
    }
}
