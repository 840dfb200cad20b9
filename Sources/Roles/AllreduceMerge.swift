import Comm
import Merging

/// Number of parameters reduced per collective call; bounds the extra memory to the
/// weighted task vector plus 3 × this many floats.
public let defaultMergeChunk = 1 << 22

/// Merges the branches held by the ranks of `comm` in place: rank k holds branch k (its
/// weight and density are `recipe.weights[k]`, `recipe.densities[k]`), and on return every
/// rank's `branch` holds the merged parameters.
///
/// - `linear`, `task_arithmetic`, `dare_linear`: one allreduce of the weighted (sparsified)
///   task vectors w_k·s(θ_k − base) (w_k·θ_k for `linear`), then ÷, × λ, + base locally.
/// - `ties`, `dare_ties`: an allreduce of the weighted trimmed values elects each parameter's
///   sign; a second allreduce sums the agreeing values and the agreeing weights.
///
/// Every rank must pass the same `recipe`, `segments`, `indexOffset`, `chunkSize` and the
/// same `base` (the model the branches started from; required for all methods but
/// `linear`). Trimming and DARE's mask are local, so the result equals
/// `Merge.merge(branches:base:recipe:)` over the same branches: bitwise over a loopback
/// world (which sums in rank order), up to float rounding of the sums under MPI.
/// The branches may be the same shard of each model: pass its global `indexOffset` (DARE)
/// and segments that are whole tensors (TIES trims per tensor).
/// A MoT run builds `recipe` from its `merge` section with `MergePlan`.
/// - Throws: `MergeError` if the communicator does not have one rank per branch or the
///   ranks' buffers differ in size; `CommError` from the collectives.
public func allreduceMerge(branch: UnsafeMutableBufferPointer<Float>, base: UnsafeBufferPointer<Float>?,
                           comm: Communicator, recipe: MergeRecipe, segments: [Range<Int>]? = nil,
                           indexOffset: Int = 0, chunkSize: Int = defaultMergeChunk) throws {
    precondition(chunkSize > 0, "allreduceMerge: chunkSize must be > 0")
    guard comm.size == recipe.branchCount else {
        throw MergeError("branch communicator", expected: "one rank per branch (\(recipe.branchCount) branches)",
                         found: "\(comm.size) ranks",
                         remedy: "Split the communicator so that each rank of it holds one branch, or list one "
                            + "model per rank.")
    }
    try recipe.validate()
    let n = branch.count
    // One small collective checks every rank's sizes, so that all ranks throw together
    // instead of some of them waiting in a collective the others never enter.
    let baseMissing = recipe.usesBase && base?.count != n
    let extent = try comm.allreduceMax([Double(n), -Double(n), baseMissing ? 1 : 0])
    guard extent[0] == -extent[1] else {
        throw MergeError("branch buffers", expected: "the same number of parameters on every rank",
                         found: "between \(Int(-extent[1])) and \(Int(extent[0])) (rank \(comm.rank): \(n))",
                         remedy: "Merge models of the same layout (same architecture and sharding).")
    }
    guard extent[2] == 0 else {
        throw MergeError("base parameters", expected: "\(n) base values on every rank (\(recipe.method.rawValue) "
                            + "merges task vectors θ − base)",
                         found: baseMissing ? "\(base?.count ?? 0) on rank \(comm.rank)" : "a rank without them",
                         remedy: "Pass the parameters the branches started from as base on every rank.")
    }
    let base = recipe.usesBase ? base : nil

    var contribution = [Float](repeating: 0, count: n)
    contribution.withUnsafeMutableBufferPointer { cp in
        MergeKernels.contribution(branch: UnsafeBufferPointer(branch), base: base, recipe: recipe,
                                  branchIndex: comm.rank, segments: segments, indexOffset: indexOffset, into: cp)
    }
    let chunk = min(chunkSize, max(n, 1))
    var sums = [Float](repeating: 0, count: chunk)
    var agreeing = [Float](repeating: 0, count: recipe.electsSigns ? 2 * chunk : 0)
    let weight = Float(recipe.weights[comm.rank])
    var lo = 0
    while lo < n {
        let hi = min(lo + chunk, n), c = hi - lo
        try contribution.withUnsafeBufferPointer { all in
            let mine = UnsafeBufferPointer(rebasing: all[lo..<hi])
            let chunkBase = base.map { UnsafeBufferPointer(rebasing: $0[lo..<hi]) }
            let out = UnsafeMutableBufferPointer(rebasing: branch[lo..<hi])
            try sums.withUnsafeMutableBufferPointer { sp in
                let s = UnsafeMutableBufferPointer(rebasing: sp[0..<c])
                _ = s.update(fromContentsOf: mine)
                try comm.allreduceSum(s)
                guard recipe.electsSigns else {
                    MergeKernels.finish(sums: UnsafeBufferPointer(s), divisors: nil, base: chunkBase, recipe: recipe,
                                        into: out)
                    return
                }
                try agreeing.withUnsafeMutableBufferPointer { ap in
                    let both = UnsafeMutableBufferPointer(rebasing: ap[0..<(2 * c)])
                    let numerator = UnsafeMutableBufferPointer(rebasing: ap[0..<c])
                    let divisor = UnsafeMutableBufferPointer(rebasing: ap[c..<(2 * c)])
                    MergeKernels.agreeing(contribution: mine, electionSums: UnsafeBufferPointer(s), weight: weight,
                                          numerator: numerator, divisor: divisor)
                    try comm.allreduceSum(both)
                    MergeKernels.finish(sums: UnsafeBufferPointer(numerator), divisors: UnsafeBufferPointer(divisor),
                                        base: chunkBase, recipe: recipe, into: out)
                }
            }
        }
        lo = hi
    }
}

/// Array form of `allreduceMerge(branch:base:comm:recipe:…)`: returns the merged parameters.
public func allreduceMerge(branch: [Float], base: [Float]?, comm: Communicator, recipe: MergeRecipe,
                           segments: [Range<Int>]? = nil, indexOffset: Int = 0,
                           chunkSize: Int = defaultMergeChunk) throws -> [Float] {
    var merged = branch
    try merged.withUnsafeMutableBufferPointer { mp in
        try MergeKernels.withOptionalPointer(base) { bp in
            try allreduceMerge(branch: mp, base: bp, comm: comm, recipe: recipe, segments: segments,
                               indexOffset: indexOffset, chunkSize: chunkSize)
        }
    }
    return merged
}
