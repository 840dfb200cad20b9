/// The three steps every merge is made of, shared by the offline merge and the collective
/// one so that both do exactly the same float operations in the same order:
///
/// 1. `contribution`: branch k's weighted (sparsified) task vector w_k·s(θ_k − base), or
///    w_k·θ_k for `linear` — the only per-branch work.
/// 2. Sums over branches in branch order (offline: a loop; collective: allreduce, which the
///    loopback world sums in rank order): Σ_k c_k, and for sign election Σ_k agreeing c_k and
///    Σ_k agreeing w_k (`agreeing`).
/// 3. `finish`: divide, scale by λ, add the base.
///
/// Public so that the collective form (`allreduceMerge` in Roles, where communication
/// lives) runs these same steps.
public enum MergeKernels {
    /// out = w_k · sparsify(θ_k − base), or w_k · θ_k for `linear`; with `rescale` each
    /// sparsified tensor is brought back to its L1 norm (`L1Rescale`). `indexOffset` is the global
    /// index of element 0 (DARE's mask); `segments` are whole tensors within the buffer (TIES's
    /// trim and the rescale work per tensor).
    public static func contribution(branch: UnsafeBufferPointer<Float>, base: UnsafeBufferPointer<Float>?,
                             recipe: MergeRecipe, branchIndex k: Int, segments: [Range<Int>]?, indexOffset: Int,
                             into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count == branch.count, "merge: output of \(out.count) for a branch of \(branch.count)")
        let w = Float(recipe.weights[k])
        guard recipe.usesBase else {
            for i in 0..<branch.count { out[i] = w * branch[i] }
            return
        }
        guard let base else { preconditionFailure("merge: \(recipe.method.rawValue) needs the base parameters") }
        precondition(base.count == branch.count, "merge: base has \(base.count) values, branch \(branch.count)")
        for i in 0..<branch.count { out[i] = branch[i] - base[i] }
        let density = recipe.densities[k]
        let sparsifies = (recipe.trimsByMagnitude || recipe.dropsAtRandom) && density < 1
        let normsBefore = sparsifies && recipe.rescale
            ? L1Rescale.norms(UnsafeBufferPointer(out), segments: segments) : nil
        if recipe.trimsByMagnitude {
            Sparsify.magnitude(out, density: density, segments: segments)
        } else if recipe.dropsAtRandom {
            Sparsify.dare(out, density: density, seed: recipe.seed, branch: k, indexOffset: indexOffset)
        }
        if let normsBefore { L1Rescale.apply(out, normsBefore: normsBefore, segments: segments) }
        if w != 1 { for i in 0..<out.count { out[i] = w * out[i] } }
    }

    /// Σ_k w_k in branch order, as a Float (the divisor without sign election).
    public static func weightSum(_ recipe: MergeRecipe) -> Float {
        var s: Float = 0
        for w in recipe.weights { s += Float(w) }
        return s
    }

    /// Branch k's share of the sign-elected sums: where its contribution has the elected sign
    /// (sign of Σ_k c_k, ≥ 0 counting as +; a zero never agrees — mergekit's `get_mask`),
    /// numerator c_k and divisor w_k, else 0 and 0.
    public static func agreeing(contribution c: UnsafeBufferPointer<Float>, electionSums s: UnsafeBufferPointer<Float>,
                         weight: Float, numerator: UnsafeMutableBufferPointer<Float>,
                         divisor: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<c.count {
            let agree = s[i] >= 0 ? c[i] > 0 : c[i] < 0
            numerator[i] = agree ? c[i] : 0
            divisor[i] = agree ? weight : 0
        }
    }

    /// The merged parameters from the summed contributions. `divisors` (sign election) is
    /// per parameter, 0 → 1; otherwise the divisor is Σ w_k (|Σ w| < 1e-8 → 1 as in mergekit;
    /// `linear` divides by Σ w as is). `normalize`, then × λ (not for `linear`), then + base.
    public static func finish(sums: UnsafeBufferPointer<Float>, divisors: UnsafeBufferPointer<Float>?,
                       base: UnsafeBufferPointer<Float>?, recipe: MergeRecipe,
                       into out: UnsafeMutableBufferPointer<Float>) {
        let n = sums.count
        if !recipe.usesBase {
            let total = weightSum(recipe)
            for i in 0..<n { out[i] = recipe.normalize ? sums[i] / total : sums[i] }
            return
        }
        guard let base else { preconditionFailure("merge: \(recipe.method.rawValue) needs the base parameters") }
        let lambda = Float(recipe.lambda)
        var total = weightSum(recipe)
        if abs(total) < 1e-8 { total = 1 }
        for i in 0..<n {
            var m = sums[i]
            if recipe.normalize {
                if let divisors {
                    let d = divisors[i]
                    m = m / (d == 0 ? 1 : d)
                } else {
                    m = m / total
                }
            }
            if recipe.lambda != 1 { m = m * lambda }
            out[i] = base[i] + m
        }
    }

    /// Calls `body` with a pointer to `array`'s storage, or with nil when `array` is nil.
    public static func withOptionalPointer<R>(_ array: [Float]?,
                                              _ body: (UnsafeBufferPointer<Float>?) throws -> R) rethrows -> R {
        guard let array else { return try body(nil) }
        return try array.withUnsafeBufferPointer { try body($0) }
    }
}
