/// Weight merges of N branch models over flat fp32 parameter buffers, with mergekit's
/// semantics (see `MergeRecipe`). Pure functions: arrays in, arrays out.
///
/// All branches (and the base) must have the same number of values — programmer errors
/// otherwise; files are checked with messages before this (`ModelMerge` in Roles). Sums over
/// branches run in branch order, so `allreduceMerge` over a loopback world gives bitwise the
/// same result.
public enum Merge {
    /// Merges `branches` by `recipe`. `base` is required for every method but `linear`.
    /// `segments`: the tensors' ranges in the buffers (TIES trims each tensor separately);
    /// nil = one tensor. `indexOffset`: global index of element 0 (DARE's mask, for a shard).
    public static func merge(branches: [[Float]], base: [Float]?, recipe: MergeRecipe,
                             segments: [Range<Int>]? = nil, indexOffset: Int = 0) -> [Float] {
        precondition(branches.count == recipe.branchCount,
                     "Merge: \(branches.count) branches for a recipe of \(recipe.branchCount)")
        let n = branches[0].count
        precondition(branches.allSatisfy { $0.count == n }, "Merge: branches differ in size \(branches.map(\.count))")
        precondition(!recipe.usesBase || base?.count == n,
                     "Merge: \(recipe.method.rawValue) needs a base of \(n) values, got \(base?.count ?? 0)")
        let base = recipe.usesBase ? base : nil
        var contributions: [[Float]] = []
        for (k, b) in branches.enumerated() {
            var c = [Float](repeating: 0, count: n)
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    MergeKernels.withOptionalPointer(base) { basePointer in
                        MergeKernels.contribution(branch: bp, base: basePointer, recipe: recipe, branchIndex: k,
                                                  segments: segments, indexOffset: indexOffset, into: cp)
                    }
                }
            }
            contributions.append(c)
        }
        var sums = contributions[0]
        for c in contributions.dropFirst() { for i in 0..<n { sums[i] += c[i] } }

        var divisors: [Float]?
        if recipe.electsSigns {
            var numerator = [Float](repeating: 0, count: n), divisor = [Float](repeating: 0, count: n)
            var num = [Float](repeating: 0, count: n), den = [Float](repeating: 0, count: n)
            for (k, c) in contributions.enumerated() {
                c.withUnsafeBufferPointer { cp in
                    sums.withUnsafeBufferPointer { sp in
                        num.withUnsafeMutableBufferPointer { np in
                            den.withUnsafeMutableBufferPointer { dp in
                                MergeKernels.agreeing(contribution: cp, electionSums: sp,
                                                      weight: Float(recipe.weights[k]), numerator: np, divisor: dp)
                            }
                        }
                    }
                }
                if k == 0 {
                    numerator = num; divisor = den
                } else {
                    for i in 0..<n { numerator[i] += num[i]; divisor[i] += den[i] }
                }
            }
            sums = numerator
            divisors = divisor
        }
        var out = [Float](repeating: 0, count: n)
        sums.withUnsafeBufferPointer { sp in
            MergeKernels.withOptionalPointer(divisors) { dp in
                MergeKernels.withOptionalPointer(base) { bp in
                    out.withUnsafeMutableBufferPointer { op in
                        MergeKernels.finish(sums: sp, divisors: dp, base: bp, recipe: recipe, into: op)
                    }
                }
            }
        }
        return out
    }

    /// Weighted average Σ w_k θ_k / Σ w_k (weights nil = uniform: MoT's merge); without
    /// normalization the plain weighted sum (mergekit `linear`, `normalize: false`).
    public static func linear(_ models: [[Float]], weights: [Double]? = nil, normalize: Bool = true) -> [Float] {
        let recipe = MergeRecipe(method: .linear, weights: weights ?? Array(repeating: 1, count: models.count),
                                 normalize: normalize)
        return merge(branches: models, base: nil, recipe: recipe)
    }

    /// base + λ·Σ w_k (θ_k − base), divided by Σ w_k when `normalize` (mergekit's default: no).
    public static func taskArithmetic(base: [Float], models: [[Float]], weights: [Double]? = nil,
                                      lambda: Double = 1, normalize: Bool = false) -> [Float] {
        let recipe = MergeRecipe(method: .taskArithmetic, weights: weights ?? Array(repeating: 1, count: models.count),
                                 normalize: normalize, lambda: lambda)
        return merge(branches: models, base: base, recipe: recipe)
    }

    /// TIES: trim each task vector to its top-`density` magnitudes per tensor, elect each
    /// parameter's sign from the weighted sum, average the agreeing values (disjoint mean),
    /// × λ, + base. `densities` nil = 1 (no trimming, sign election only).
    public static func ties(base: [Float], models: [[Float]], weights: [Double]? = nil, densities: [Double]? = nil,
                            lambda: Double = 1, normalize: Bool = true, segments: [Range<Int>]? = nil) -> [Float] {
        let recipe = MergeRecipe(method: .ties, weights: weights ?? Array(repeating: 1, count: models.count),
                                 densities: densities, normalize: normalize, lambda: lambda)
        return merge(branches: models, base: base, recipe: recipe, segments: segments)
    }

    /// DARE: drop each task-vector entry with probability 1 − density (seeded per branch and
    /// parameter), bring each tensor (`segments`) back to its L1 norm when `rescale`, then combine
    /// linearly (`dare_linear`) or with TIES sign election (`electSigns`, `dare_ties`).
    /// mergekit's default: no normalization.
    public static func dare(base: [Float], models: [[Float]], weights: [Double]? = nil, densities: [Double],
                            seed: UInt64, electSigns: Bool = false, rescale: Bool = true, normalize: Bool = false,
                            lambda: Double = 1, segments: [Range<Int>]? = nil, indexOffset: Int = 0) -> [Float] {
        let recipe = MergeRecipe(method: electSigns ? .dareTies : .dareLinear,
                                 weights: weights ?? Array(repeating: 1, count: models.count), densities: densities,
                                 normalize: normalize, lambda: lambda, rescale: rescale, seed: seed)
        return merge(branches: models, base: base, recipe: recipe, segments: segments, indexOffset: indexOffset)
    }
}
