import Foundation
import Tensors

/// AdamW hyper-parameters (PyTorch's names and defaults, except weight decay).
public struct AdamWConfig: Codable, Equatable, Sendable {
    /// Peak learning rate (a schedule scales it per step).
    public var lr: Double
    /// First-moment decay.
    public var beta1: Double
    /// Second-moment decay.
    public var beta2: Double
    /// Denominator ε, added after the square root.
    public var eps: Double
    /// Decoupled weight decay, applied as p ← p·(1 − lr·wd) to decaying parameters.
    public var weightDecay: Double

    /// verl's actor defaults: β = (0.9, 0.999), ε 1e-8, weight decay 0.01.
    public init(lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
                weightDecay: Double = 0.01) {
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
    }
}

/// A contiguous run of the flat buffer and whether it takes weight decay.
public struct DecaySegment: Equatable, Sendable {
    /// Flat range.
    public let range: Range<Int>
    /// Weight decay applies.
    public let decays: Bool
    /// Creates a segment.
    public init(range: Range<Int>, decays: Bool) { self.range = range; self.decays = decays }
}

/// AdamW over one contiguous shard `[shard.lowerBound, shard.upperBound)` of
/// the flat parameter buffer (the whole buffer without ZeRO). Moments are
/// stored for the shard only; that is all ZeRO-1 needs. With a `trainable`
/// mask, elements outside it are skipped entirely: their parameters and
/// moments stay bit-identical (no weight decay either).
public final class AdamW {
    /// Hyper-parameters.
    public var config: AdamWConfig
    /// Flat range this optimizer owns.
    public let shard: Range<Int>
    /// First moments (shard-local).
    public let m: FlatBuffer
    /// Second moments (shard-local).
    public let v: FlatBuffer
    /// Steps taken (bias correction uses it).
    public private(set) var stepCount: Int = 0
    /// Elements updated; nil = all of the shard.
    public let trainable: ParameterMask?
    private let localSegments: [DecaySegment]

    /// `segments` tile the whole flat buffer; they are clipped to `shard` and,
    /// when given, to `trainable` (a mask over the whole buffer).
    public init(config: AdamWConfig, shard: Range<Int>, segments: [DecaySegment], trainable: ParameterMask? = nil) {
        self.config = config
        self.shard = shard
        self.trainable = trainable
        m = FlatBuffer(count: shard.count); v = FlatBuffer(count: shard.count)
        var local = segments.compactMap { s in
            let lo = max(s.range.lowerBound, shard.lowerBound), hi = min(s.range.upperBound, shard.upperBound)
            return lo < hi ? DecaySegment(range: (lo - shard.lowerBound)..<(hi - shard.lowerBound), decays: s.decays) : nil
        }
        if let trainable {
            // Tens of thousands of ranges for a head mask (O columns are strided):
            // find each segment's first overlapping range by binary search.
            let keep = trainable.localRanges(in: shard)
            local = local.flatMap { seg in
                var lo = 0, hi = keep.count
                while lo < hi { let mid = (lo + hi) / 2; if keep[mid].upperBound <= seg.range.lowerBound { lo = mid + 1 } else { hi = mid } }
                var out: [DecaySegment] = []
                while lo < keep.count, keep[lo].lowerBound < seg.range.upperBound {
                    let a = max(seg.range.lowerBound, keep[lo].lowerBound), b = min(seg.range.upperBound, keep[lo].upperBound)
                    out.append(DecaySegment(range: a..<b, decays: seg.decays))
                    lo += 1
                }
                return out
            }
        }
        localSegments = local
    }

    /// Restores moments and the step count (checkpoint resume).
    public func restore(stepCount: Int) { self.stepCount = stepCount }

    /// One update. `parameters` and `gradients` point at the shard's first element.
    public func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, lr: Double) {
        stepCount += 1
        let c = config
        // (1 − β) is formed in Double: 1 − Float(0.999) is off by 1e-5 relative.
        let b1 = Float(c.beta1), b2 = Float(c.beta2), oneMinusB1 = Float(1 - c.beta1), oneMinusB2 = Float(1 - c.beta2)
        let bc1 = 1 - pow(c.beta1, Double(stepCount)), bc2 = 1 - pow(c.beta2, Double(stepCount))
        let stepSize = Float(lr / bc1)
        let invSqrtBc2 = Float(1 / bc2.squareRoot())
        let eps = Float(c.eps)
        let mp = m.pointer, vp = v.pointer
        for seg in localSegments {
            let decay = seg.decays ? Float(1 - lr * c.weightDecay) : 1
            Parallel.forRanges(seg.range.count, minPerWorker: 1 << 15) { r in
                for j in r {
                    let i = seg.range.lowerBound + j
                    let g = gradients[i]
                    let mi = b1 * mp[i] + oneMinusB1 * g
                    let vi = b2 * vp[i] + oneMinusB2 * g * g
                    mp[i] = mi; vp[i] = vi
                    parameters[i] = parameters[i] * decay - stepSize * mi / ((vi).squareRoot() * invSqrtBc2 + eps)
                }
            }
        }
    }
}
