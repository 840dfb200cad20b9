import Comm
import Optimization
import Tensors
import Transformer

/// ZeRO-1 for the data-parallel learners: every learner keeps the full
/// parameters and gradients, but AdamW moments only for its own contiguous
/// shard of the flat buffer.
///
/// One step: reduce-scatter the gradients (each learner gets the summed
/// gradient of its shard) → global gradient norm (allreduce of the shards'
/// Σg²) and clipping → AdamW on the shard → allgather the parameters.
/// Losses use a global normaliser, so summed gradients are the gradient of
/// the global loss and the result does not depend on the number of learners.
public final class ShardedOptimizer {
    /// The learners' communicator.
    public let comm: Communicator
    /// Floats per learner shard.
    public let counts: [Int]
    /// This learner's flat range.
    public let shard: Range<Int>
    /// AdamW over `shard`.
    public let adam: AdamW
    /// The trainable part of the buffer (nil: all of it); frozen gradients are
    /// zeroed before the norm, and AdamW never touches frozen elements.
    public let trainable: ParameterMask?
    let model: Model
    /// Test hook: the next `step` sees a NaN in this learner's first gradient (one-shot).
    var injectNonFiniteGradient = false

    /// Shards `model`'s flat buffer over `comm`'s ranks; `trainable` freezes the rest (P2D's head mask).
    public init(model: Model, comm: Communicator, config: AdamWConfig, trainable: ParameterMask? = nil) {
        self.trainable = trainable
        self.model = model
        self.comm = comm
        counts = shardCounts(total: model.layout.totalCount, parts: comm.size)
        let lo = counts[..<comm.rank].reduce(0, +)
        shard = lo..<(lo + counts[comm.rank])
        adam = AdamW(config: config, shard: shard,
                     segments: model.layout.entries.map { DecaySegment(range: $0.range, decays: $0.decays) }, trainable: trainable)
    }

    /// Global norm of the gradients accumulated so far (summed over learners),
    /// leaving them untouched: a diagnostic that costs one reduce-scatter of a
    /// copy. Every learner must call it at the same point.
    public func accumulatedNorm() throws -> Double {
        let copy = FlatBuffer(count: model.gradients.count)
        copy.pointer.update(from: model.gradients.pointer, count: model.gradients.count)
        if comm.size > 1 { try comm.reduceScatterSum(copy.buffer, counts: counts) }
        let local = GradientClipping.sumOfSquares(copy.pointer + shard.lowerBound, count: shard.count)
        return (comm.size > 1 ? try comm.allreduceSum([local])[0] : local).squareRoot()
    }

    /// Applies the accumulated gradients and returns the global gradient norm
    /// before clipping (`maxNorm` ≤ 0 disables clipping). A non-finite norm
    /// leaves the parameters untouched on every learner (the norm is global,
    /// so they all agree) and is returned for the caller's NaN policy.
    @discardableResult
    public func step(lr: Double, maxNorm: Double) throws -> Double {
        let grads = model.gradients.buffer, params = model.parameters.buffer
        if injectNonFiniteGradient { model.gradients.pointer[0] = .nan; injectNonFiniteGradient = false }
        if comm.size > 1 { try comm.reduceScatterSum(grads, counts: counts) }
        let g = model.gradients.pointer + shard.lowerBound
        trainable?.zeroFrozen(g, shard: shard)
        let local = GradientClipping.sumOfSquares(g, count: shard.count)
        let total = comm.size > 1 ? try comm.allreduceSum([local])[0] : local
        let norm = total.squareRoot()
        guard norm.isFinite else { return norm }
        GradientClipping.clip(g, count: shard.count, maxNorm: maxNorm, norm: norm)
        adam.step(parameters: model.parameters.pointer + shard.lowerBound, gradients: g, lr: lr)
        if comm.size > 1 { try comm.allgather(params, counts: counts) }
        return norm
    }
}
