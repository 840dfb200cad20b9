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
    /// Samples (or takes the arg-max of) one row. `scratch` needs `n` floats
    /// when top-p < 1 or sampling; the row itself is not modified.
    public static func sample(row: UnsafePointer<Float>, count n: Int, options: SamplingOptions,
                              rng: inout Rng, scratch: UnsafeMutablePointer<Float>) -> SampledToken {
        let temperature = options.greedy ? 1 : options.temperature
        precondition(temperature > 0, "temperature must be positive, got \(temperature)")
        let invT = 1 / temperature
        // Scaled logits into scratch; statistics of the scaled distribution.
        for i in 0..<n { scratch[i] = row[i] * invT }
        let st = LogitsMath.stats(scratch, n)
        let entropy = Float(st.logZ - st.meanLogit)
        let chosen: Int
        if options.greedy {
            var best = 0
            for i in 1..<n where row[i] > row[best] { best = i }
            chosen = best
        } else if options.topP < 1 {
            chosen = nucleus(scaled: scratch, count: n, logZ: st.logZ, topP: options.topP, rng: &rng)
        } else {
            // Inverse-CDF over exp(s − logZ) in index order.
            let u = rng.uniform()
            var acc = 0.0
            var pick = n - 1
            for i in 0..<n {
                acc += exp(Double(scratch[i]) - st.logZ)
                if acc > u { pick = i; break }
            }
            chosen = pick
        }
        return SampledToken(token: Int32(chosen), logProb: Float(Double(scratch[chosen]) - st.logZ), entropy: entropy)
    }

    /// Smallest set of most-probable tokens whose mass reaches `topP`, renormalised.
    private static func nucleus(scaled: UnsafePointer<Float>, count n: Int, logZ: Double, topP: Float,
                                rng: inout Rng) -> Int {
        var order = Array(0..<n)
        order.sort { scaled[$0] > scaled[$1] || (scaled[$0] == scaled[$1] && $0 < $1) }
        var kept = 0, mass = 0.0
        while kept < n && mass < Double(topP) { mass += exp(Double(scaled[order[kept]]) - logZ); kept += 1 }
        let u = rng.uniform() * mass
        var acc = 0.0
        for i in 0..<kept {
            acc += exp(Double(scaled[order[i]]) - logZ)
            if acc > u { return order[i] }
        }
        return order[kept - 1]
    }
}
