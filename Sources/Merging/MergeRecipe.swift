import Configs

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
///   ÷ density when `rescale` (default true), then the linear or TIES combination
///   (`normalize` default false).
public struct MergeRecipe: Equatable, Sendable {
    /// mergekit's method.
    public var method: MergeMethod
    /// Weight of each branch (≥ 0).
    public var weights: [Double]
    /// Fraction of task-vector entries kept per branch, in (0, 1] (`ties`, `dare_*`).
    public var densities: [Double]
    /// Divide by the (agreeing) sum of weights.
    public var normalize: Bool
    /// Scale of the merged task vector (not used by `linear`).
    public var lambda: Double
    /// DARE: divide kept entries by the density.
    public var rescale: Bool
    /// Seed of DARE's drops; the mask of branch k at parameter i depends on (seed, k, i) only.
    public var seed: UInt64

    /// A recipe with mergekit's defaults for whatever is nil: weights 1, density 1,
    /// `normalize` per method, λ = 1, `rescale` true.
    public init(method: MergeMethod, weights: [Double], densities: [Double]? = nil, normalize: Bool? = nil,
                lambda: Double = 1, rescale: Bool? = nil, seed: UInt64 = 0) {
        precondition(!weights.isEmpty, "MergeRecipe: at least one branch")
        precondition(densities == nil || densities!.count == weights.count, "MergeRecipe: one density per branch")
        self.method = method
        self.weights = weights
        self.densities = densities ?? Array(repeating: 1, count: weights.count)
        self.normalize = normalize ?? MergeRecipe.defaultNormalize(method)
        self.lambda = lambda
        self.rescale = rescale ?? true
        self.seed = seed
    }

    /// `count` equally weighted branches (MoT's uniform average with `linear`).
    public static func uniform(_ method: MergeMethod = .linear, branches count: Int, density: Double = 1,
                               seed: UInt64 = 0) -> MergeRecipe {
        MergeRecipe(method: method, weights: Array(repeating: 1, count: count),
                    densities: Array(repeating: density, count: count), seed: seed)
    }

    /// mergekit's default of `normalize`: true for `linear` and `ties`, false otherwise.
    public static func defaultNormalize(_ method: MergeMethod) -> Bool { method == .linear || method == .ties }

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
        for (k, w) in weights.enumerated() where !(w.isFinite && w >= 0) {
            throw MergeError("branch \(k) weight", expected: "a finite weight ≥ 0", found: "\(w)",
                             remedy: "Set parameters.weight of that model to a non-negative number.")
        }
        for (k, d) in densities.enumerated() where !(d > 0 && d <= 1) {
            throw MergeError("branch \(k) density", expected: "a density in (0, 1]", found: "\(d)",
                             remedy: "Set parameters.density to the fraction of task-vector entries to keep.")
        }
        guard lambda.isFinite else {
            throw MergeError("parameters.lambda", expected: "a finite number", found: "\(lambda)",
                             remedy: "Set lambda to the scale of the merged task vector (1 = none).")
        }
        if method == .linear && normalize && !(weights.reduce(0, +) > 0) {
            throw MergeError("linear merge weights", expected: "a positive sum of weights (normalize: true)",
                             found: "weights \(weights) summing to 0",
                             remedy: "Give at least one model a positive weight, or set normalize: false.")
        }
    }
}

/// A `MergeConfig` resolved against the models it names: which entries are branches,
/// the base, the recipe, and notes on mergekit options that have no effect here.
public struct MergePlan: Equatable, Sendable {
    /// The resolved recipe (one weight and density per branch).
    public let recipe: MergeRecipe
    /// The model of each branch, in order (empty strings when `models` is empty).
    public let branches: [String]
    /// The base model named by the config (nil: given by the caller, e.g. the MoT student).
    public let baseModel: String?
    /// Things that were accepted but have no effect (e.g. `int8_mask`), for the user.
    public let notes: [String]

    /// Resolves `config`. With `models` empty, `branchCount` equally treated branches take
    /// the top-level `parameters` (a MoT run: one branch per teacher); otherwise the branches
    /// are the `models` entries, minus an entry equal to `base_model` for the methods that use
    /// a base (mergekit lists the base among the models). `branchCount`, when given, must match.
    /// `defaultSeed` is used when `merge.seed` is null (the run's `trainer.seed`).
    /// - Throws: `MergeError` naming the key.
    public init(config: MergeConfig, branchCount: Int? = nil, defaultSeed: Int = 1) throws {
        let method = config.mergeMethod
        let usesBase = method != .linear
        var notes: [String] = []
        var entries = config.models.enumerated().map { (index: $0.offset, model: $0.element) }
        if let base = config.baseModel {
            if usesBase {
                if entries.contains(where: { $0.model.model == base }) {
                    notes.append("base_model `\(base)` is also listed under models: it is the base, not a branch "
                                    + "(as in mergekit)")
                }
                entries.removeAll { $0.model.model == base }
            } else {
                notes.append("base_model `\(base)` is not used by linear (as in mergekit): the result is the "
                                + "weighted average of the models listed")
            }
        }
        for (i, m) in entries {
            let p = m.parameters
            for (key, set) in [("normalize", p.normalize != nil), ("lambda", p.lambda != nil),
                               ("rescale", p.rescale != nil), ("int8_mask", p.int8Mask != nil)] where set {
                throw MergeError("models.\(i).parameters.\(key)", expected: "\(key) in the top-level parameters",
                                 found: "it set for model `\(m.model)`",
                                 remedy: "\(key) applies to the whole merge in mergekit: move it to the top-level "
                                    + "`parameters`.")
            }
        }
        let count: Int
        if entries.isEmpty {
            guard let branchCount, branchCount > 0 else {
                throw MergeError("models", expected: "the models to merge", found: "an empty list",
                                 remedy: "List them under `models:` (mergekit: `- model: <path>`).")
            }
            count = branchCount
        } else {
            count = entries.count
            if let branchCount, branchCount != count {
                throw MergeError("models", expected: "\(branchCount) branches (one per rank of the branch group)",
                                 found: "\(count) models: \(entries.map(\.model.model).joined(separator: ", "))",
                                 remedy: "List one model per branch, or leave models empty for equal branches.")
            }
        }
        let top = config.parameters
        let weights = (0..<count).map { k in entries.isEmpty ? (top.weight ?? 1) : (entries[k].model.parameters.weight ?? top.weight ?? 1) }
        let densities = (0..<count).map { k in entries.isEmpty ? (top.density ?? 1) : (entries[k].model.parameters.density ?? top.density ?? 1) }
        if top.int8Mask != nil {
            notes.append("int8_mask is a mergekit memory option and has no effect here (masks are never stored)")
        }
        if densities.contains(where: { $0 < 1 }) && !(method == .ties || method == .dareTies || method == .dareLinear) {
            notes.append("density has no effect with \(method.rawValue) (mergekit only sparsifies for ties and dare_*)")
        }
        if top.rescale != nil && !(method == .dareLinear || method == .dareTies) {
            notes.append("rescale has no effect with \(method.rawValue) (only dare_* rescale)")
        }
        if top.lambda != nil && method == .linear {
            notes.append("lambda has no effect with linear (it scales task vectors)")
        }
        let seed = UInt64(bitPattern: Int64(config.seed ?? defaultSeed))
        recipe = MergeRecipe(method: method, weights: weights, densities: densities, normalize: top.normalize,
                             lambda: top.lambda ?? 1, rescale: top.rescale, seed: seed)
        try recipe.validate()
        if usesBase && config.baseModel == nil && !config.models.isEmpty && branchCount == nil {
            throw MergeError("base_model", expected: "a base model for \(method.rawValue) (task vectors are θ − base)",
                             found: "none", remedy: "Set base_model to the model the branches were fine-tuned from.")
        }
        branches = entries.isEmpty ? Array(repeating: "", count: count) : entries.map(\.model.model)
        baseModel = usesBase ? config.baseModel : nil
        self.notes = notes
    }
}
