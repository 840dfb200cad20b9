/// A merge that cannot be done as asked: what, expected, found, and what to do.
public struct MergeError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The model, key or buffer concerned.
    public let subject: String
    /// What was expected.
    public let expected: String
    /// What was found.
    public let found: String
    /// What to do about it.
    public let remedy: String

    /// An error about `subject`.
    public init(_ subject: String, expected: String, found: String, remedy: String) {
        self.subject = subject; self.expected = expected; self.found = found; self.remedy = remedy
    }

    /// `<subject>: expected …, found …. <remedy>`
    public var description: String { "\(subject): expected \(expected), found \(found). \(remedy)" }
}

/// A fully resolved merge: the method and one weight and density per branch, with
/// mergekit's per-method defaults applied. Branch k is `weights[k]`; in the collective
/// form it is rank k of the branch communicator.
///
/// mergekit semantics (`merge_methods/generalized_task_arithmetic.py`, `linear.py`):
/// - `linear`: Σ w_k θ_k, divided by Σ w_k when `normalize` (default true). No base.
/// - `task_arithmetic`: base + λ·Σ w_k (θ_k − base) (÷ Σ w_k when `normalize`, default false).
/// - `ties`: task vectors trimmed to their top-`density` magnitudes per tensor, sign elected per
///   parameter by the sign of Σ w_k t_k (≥ 0 → +), mean over the agreeing branches
///   (Σ agreeing w_k t_k / Σ agreeing w_k when `normalize`, default true), × λ, + base.
/// - `dare_linear` / `dare_ties`: random drop with keep probability `density`, kept entries
///   scaled so each tensor keeps its L1 norm when `rescale` (default true; `ties` rescales the
///   same way with `rescale: true`, default false), then the linear or TIES combination
///   (`normalize` default false).
/// - Weights may be negative (task negation), as in mergekit.
public struct MergeRecipe: Equatable, Sendable {
    /// mergekit's merge methods; the raw values are mergekit's `merge_method` names. A
    /// config's method (`Configs.MergeMethod`) is converted by the caller, so that merging
    /// knows nothing of configs.
    public enum Method: String, CaseIterable, Sendable {
        /// Weighted average of the models.
        case linear
        /// base + Σ w_k (θ_k − base).
        case taskArithmetic = "task_arithmetic"
        /// Trim to `density`, elect signs, disjoint merge (TIES).
        case ties
        /// Random drop to `density` with rescale (seeded), then linear.
        case dareLinear = "dare_linear"
        /// Random drop to `density` with rescale (seeded), then TIES sign election.
        case dareTies = "dare_ties"
    }

    /// mergekit's method.
    public var method: Method
    /// Weight of each branch (any finite number; negative subtracts a task vector).
    public var weights: [Double]
    /// Fraction of task-vector entries kept per branch, in (0, 1] (`ties`, `dare_*`).
    public var densities: [Double]
    /// Divide by the (agreeing) sum of weights.
    public var normalize: Bool
    /// Scale of the merged task vector (not used by `linear`).
    public var lambda: Double
    /// After sparsifying (`ties`, `dare_*`), scale each tensor's kept entries back to its L1 norm.
    public var rescale: Bool
    /// Seed of DARE's drops; the mask of branch k at parameter i depends on (seed, k, i) only.
    public var seed: UInt64

    /// A recipe with mergekit's defaults for whatever is nil: weights 1, density 1,
    /// `normalize` and `rescale` per method, λ = 1.
    public init(method: Method, weights: [Double], densities: [Double]? = nil, normalize: Bool? = nil,
                lambda: Double = 1, rescale: Bool? = nil, seed: UInt64 = 0) {
        precondition(!weights.isEmpty, "MergeRecipe: at least one branch")
        precondition(densities == nil || densities!.count == weights.count, "MergeRecipe: one density per branch")
        self.method = method
        self.weights = weights
        self.densities = densities ?? Array(repeating: 1, count: weights.count)
        self.normalize = normalize ?? MergeRecipe.defaultNormalize(method)
        self.lambda = lambda
        self.rescale = rescale ?? MergeRecipe.defaultRescale(method)
        self.seed = seed
    }

    /// `count` equally weighted branches (MoT's uniform average with `linear`).
    public static func uniform(_ method: Method = .linear, branches count: Int, density: Double = 1,
                               seed: UInt64 = 0) -> MergeRecipe {
        MergeRecipe(method: method, weights: Array(repeating: 1, count: count),
                    densities: Array(repeating: density, count: count), seed: seed)
    }

    /// mergekit's default of `normalize`: true for `linear` and `ties`, false otherwise.
    public static func defaultNormalize(_ method: Method) -> Bool { method == .linear || method == .ties }

    /// mergekit's default of `rescale`: true for `dare_linear` and `dare_ties`, false otherwise.
    public static func defaultRescale(_ method: Method) -> Bool { method == .dareLinear || method == .dareTies }

    /// Number of branches.
    public var branchCount: Int { weights.count }
    /// Whether the merge works on task vectors θ_k − base (all but `linear`).
    public var usesBase: Bool { method != .linear }
    /// Whether signs are elected (`ties`, `dare_ties`).
    public var electsSigns: Bool { method == .ties || method == .dareTies }
    /// Whether task vectors are trimmed by magnitude (`ties`).
    public var trimsByMagnitude: Bool { method == .ties }
    /// Whether task vectors are dropped at random (`dare_*`).
    public var dropsAtRandom: Bool { method == .dareLinear || method == .dareTies }

    /// Checks the values a user can get wrong; the message names the branch and the key.
    public func validate() throws {
        for (k, w) in weights.enumerated() where !w.isFinite {
            throw MergeError("branch \(k) weight", expected: "a finite weight", found: "\(w)",
                             remedy: "Set parameters.weight of that model to a number (negative subtracts it).")
        }
        for (k, d) in densities.enumerated() where !(d > 0 && d <= 1) {
            throw MergeError("branch \(k) density", expected: "a density in (0, 1]", found: "\(d)",
                             remedy: "Set parameters.density to the fraction of task-vector entries to keep.")
        }
        guard lambda.isFinite else {
            throw MergeError("parameters.lambda", expected: "a finite number", found: "\(lambda)",
                             remedy: "Set lambda to the scale of the merged task vector (1 = none).")
        }
        if method == .linear && normalize && weightSumIsZero {
            throw MergeError("linear merge weights", expected: "a nonzero sum of weights (normalize: true divides by it)",
                             found: "weights \(weights) summing to 0",
                             remedy: "Change a weight so that they do not cancel, or set normalize: false.")
        }
    }

    /// Whether Σ w_k, summed in Float in branch order as `finish` does, is exactly 0.
    var weightSumIsZero: Bool { MergeKernels.weightSum(self) == 0 }
}
