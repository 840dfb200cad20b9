import Configs
import Merging

extension MergeRecipe.Method {
    /// The merge method a config names (`merge.merge_method`, or a mergekit file's):
    /// the same mergekit method, so that Merging need not know `Configs`.
    public init(_ method: MergeMethod) {
        switch method {
        case .linear: self = .linear
        case .taskArithmetic: self = .taskArithmetic
        case .ties: self = .ties
        case .dareLinear: self = .dareLinear
        case .dareTies: self = .dareTies
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
    /// The base model named by the config (nil: given by the caller, e.g. the MoT student, or
    /// `linear`, where a base model is one of the branches).
    public let baseModel: String?
    /// The model whose tokenizer and config the output takes (mergekit's donor): `base_model`,
    /// else the first model listed; nil when `models` is empty.
    public let donorModel: String?
    /// Things that were accepted but have no effect (e.g. `int8_mask`), for the user.
    public let notes: [String]

    /// Resolves `config`. With `models` empty, `branchCount` equally treated branches take
    /// the top-level `parameters` (a MoT run: one branch per teacher); otherwise the branches
    /// are the `models` entries, minus an entry equal to `base_model` for the methods that use
    /// a base (mergekit lists the base among the models). `linear` averages a `base_model` with
    /// the models, as mergekit does: first, unless it is listed, and it must have a weight (its
    /// entry's or the top-level one). `branchCount`, when given, must match.
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
            } else if branchCount == nil {
                if !entries.contains(where: { $0.model.model == base }) {
                    entries.insert((index: -1, model: MergeModel(model: base)), at: 0)
                }
                let baseEntry = entries.first { $0.model.model == base }!
                if baseEntry.model.parameters.weight == nil && config.parameters.weight == nil {
                    throw MergeError("base_model `\(base)`",
                                     expected: "a weight: linear averages the base with the models (as mergekit does)",
                                     found: "no weight for it",
                                     remedy: "List it under models with `parameters: {weight: …}` (or set a top-level "
                                        + "parameters.weight), or remove base_model to average only the models.")
                }
            } else {
                notes.append("base_model `\(base)` is not used by linear in a MoT round: the result is the "
                                + "weighted average of the branches")
            }
        }
        for (i, m) in entries where i >= 0 {
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
        if top.rescale != nil && !(method == .ties || method == .dareLinear || method == .dareTies) {
            notes.append("rescale has no effect with \(method.rawValue) (only ties and dare_* sparsify)")
        }
        if top.lambda != nil && method == .linear {
            notes.append("lambda has no effect with linear (it scales task vectors)")
        }
        let seed = UInt64(bitPattern: Int64(config.seed ?? defaultSeed))
        recipe = MergeRecipe(method: MergeRecipe.Method(method), weights: weights, densities: densities,
                             normalize: top.normalize,
                             lambda: top.lambda ?? 1, rescale: top.rescale, seed: seed)
        try recipe.validate()
        if usesBase && config.baseModel == nil && !config.models.isEmpty && branchCount == nil {
            throw MergeError("base_model", expected: "a base model for \(method.rawValue) (task vectors are θ − base)",
                             found: "none", remedy: "Set base_model to the model the branches were fine-tuned from.")
        }
        branches = entries.isEmpty ? Array(repeating: "", count: count) : entries.map(\.model.model)
        baseModel = usesBase ? config.baseModel : nil
        donorModel = config.baseModel ?? config.models.first?.model
        self.notes = notes
    }
}
