import Checkpoint
import Foundation
import Objectives
import Optimization
import Tensors

/// Labelled feature vectors for the FLaG head and its baselines.
public struct FLaGDataset: Sendable {
    /// (N, dim) row-major features `[representation | token]`.
    public var features: [Double]
    /// (N) 1 = correct answer, 0 = wrong (hallucinated).
    public var labels: [Int]
    /// (N) the question each answer belongs to; splits keep a question's answers together.
    public var groups: [String]
    /// (N) each answer's data source (task family or benchmark); empty when unknown.
    public var sources: [String] = []
    /// Length of the representation part.
    public var representationDim: Int
    /// Length of the token part (7).
    public var tokenDim: Int

    /// Creates a dataset; counts must agree.
    public init(features: [Double], labels: [Int], groups: [String], representationDim: Int, tokenDim: Int) {
        precondition(labels.count == groups.count && features.count == labels.count * (representationDim + tokenDim),
                     "FLaG dataset: \(features.count) features, \(labels.count) labels, \(groups.count) groups, dim \(representationDim + tokenDim)")
        self.features = features; self.labels = labels; self.groups = groups
        self.representationDim = representationDim; self.tokenDim = tokenDim
    }

    /// Feature length.
    public var dim: Int { representationDim + tokenDim }
    /// Number of examples.
    public var count: Int { labels.count }

    /// The examples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> FLaGDataset {
        let D = dim
        var f: [Double] = []
        f.reserveCapacity(indices.count * D)
        for i in indices { f.append(contentsOf: features[i * D..<(i + 1) * D]) }
        var out = FLaGDataset(features: f, labels: indices.map { labels[$0] }, groups: indices.map { groups[$0] },
                              representationDim: representationDim, tokenDim: tokenDim)
        if sources.count == count { out.sources = indices.map { sources[$0] } }
        return out
    }

    /// Only the 7 token features (representation dropped).
    public func tokenOnly() -> FLaGDataset {
        let D = dim
        var f: [Double] = []
        for i in 0..<count { f.append(contentsOf: features[(i * D + representationDim)..<((i + 1) * D)]) }
        var out = FLaGDataset(features: f, labels: labels, groups: groups, representationDim: 0, tokenDim: tokenDim)
        out.sources = sources
        return out
    }

    /// Seeded split by question: a fraction `heldOut` of the distinct groups (at
    /// least one, when there are two or more) goes to the second part.
    public func splitByGroup(heldOut: Double, seed: UInt64) -> (kept: [Int], heldOut: [Int]) {
        precondition(heldOut > 0 && heldOut < 1, "FLaG split: held-out fraction in (0, 1)")
        var distinct = Array(Set(groups)).sorted()
        var rng = Rng(seed: seed)
        for i in stride(from: distinct.count - 1, to: 0, by: -1) { distinct.swapAt(i, rng.below(i + 1)) }
        let n = distinct.count < 2 ? 0 : max(1, Int((Double(distinct.count) * heldOut).rounded()))
        let out = Set(distinct.prefix(n))
        return ((0..<count).filter { !out.contains(groups[$0]) }, (0..<count).filter { out.contains(groups[$0]) })
    }
}

/// Per-feature standardisation fitted on training data (constant features keep scale 1).
public struct FLaGStandardizer: Codable, Equatable, Sendable {
    /// Means (dim).
    public var mean: [Double]
    /// Standard deviations (dim), 1 where a feature is constant.
    public var std: [Double]

    /// Fits on `data`.
    public init(fitting data: FLaGDataset) {
        let D = data.dim, N = Double(max(data.count, 1))
        var m = [Double](repeating: 0, count: D), v = m
        for i in 0..<data.count { for j in 0..<D { m[j] += data.features[i * D + j] / N } }
        for i in 0..<data.count { for j in 0..<D { let d = data.features[i * D + j] - m[j]; v[j] += d * d / N } }
        mean = m; std = v.map { $0 > 1e-12 ? $0.squareRoot() : 1 }
    }

    /// A standardiser with these statistics (as read back from a head file).
    public init(mean: [Double], std: [Double]) { self.mean = mean; self.std = std }

    /// `data` with every feature standardised.
    public func apply(_ data: FLaGDataset) -> FLaGDataset {
        let D = data.dim
        precondition(D == mean.count, "FLaG standardizer: fitted on \(mean.count) features, found \(D)")
        var out = data
        for i in 0..<data.count { for j in 0..<D { out.features[i * D + j] = (data.features[i * D + j] - mean[j]) / std[j] } }
        return out
    }
}

/// Training settings shared by the FLaG head and the probes.
public struct FLaGTrainingSettings: Codable, Equatable, Sendable {
    /// AdamW learning rate. 0.03 rather than 3e-3: on standardised toy feature sets of
    /// 240 answers, 3e-3 left a linear probe at AUROC 0.44–0.57 after 40 epochs where
    /// 0.03 reached 0.96–0.97, and still trailed by up to 0.08 at 200 epochs
    /// (Docs/Results-FLaG.md, "Learning rate of `detect train`").
    public var lr: Double = 0.03
    /// AdamW decoupled weight decay.
    public var weightDecay: Double = 1e-2
    /// Maximum passes over the training data.
    public var epochs: Int = 200
    /// Examples per step (the ranking loss pairs within a batch).
    public var batchSize: Int = 128
    /// Epochs without a better validation (AUROC, then BCE) before stopping.
    public var patience: Int = 20
    /// Seed of initialisation and shuffling.
    public var seed: UInt64 = 0
    /// Defaults.
    public init() {}
}

/// What the `detect` command saves: a trained head with its standardiser.
/// Written as a checkpoint shard file (`FLaGHeadCheckpoint`, Docs/CheckpointFormat.md
/// "FLaG head file"): kind "flag" (`shape`, `weights`) or "mlp" (`hidden`), the
/// standardiser, the flat Double parameters, the best validation AUROC. The JSON
/// form (`format_version` 1) of earlier versions is still read.
public struct FLaGHeadFile: Codable, Sendable {
    /// Version of the legacy JSON form (1); the checkpoint form carries its own.
    public var formatVersion = 1
    /// "flag" or "mlp".
    public var kind: String
    /// The FLaG head's shape (kind "flag").
    public var shape: FLaGHeadShape?
    /// The loss weights it was trained with (kind "flag").
    public var weights: FLaGLossWeights?
    /// Hidden width (kind "mlp").
    public var hidden: Int?
    /// Feature standardisation fitted on the training split.
    public var standardizer: FLaGStandardizer
    /// Flat parameters.
    public var parameters: [Double]
    /// Validation AUROC of the kept parameters (nil if the validation split had one class).
    public var validationAUROC: Double?
    /// Epochs run.
    public var epochs: Int
    /// Residual depth the features were read at (`detect features --layer`), nil when not recorded.
    public var layer: Int?

    /// A head.
    public init(kind: String, shape: FLaGHeadShape?, weights: FLaGLossWeights?, hidden: Int?, standardizer: FLaGStandardizer,
                parameters: [Double], validationAUROC: Double?, epochs: Int, layer: Int? = nil) {
        self.kind = kind; self.shape = shape; self.weights = weights; self.hidden = hidden; self.standardizer = standardizer
        self.parameters = parameters; self.validationAUROC = validationAUROC; self.epochs = epochs; self.layer = layer
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", kind, shape, weights, hidden, standardizer, parameters
        case validationAUROC = "validation_auroc", epochs, layer
    }

    /// The argmax routing group of each row of `data` (kind "flag"; raw features).
    public func routedGroups(_ data: FLaGDataset) -> [Int] {
        guard kind == "flag", let shape else { return [] }
        let z = standardizer.apply(data), D = z.dim
        return (0..<z.count).map { i in
            let pi = FLaGHead.forward(parameters: parameters, features: z.features[i * D..<(i + 1) * D], shape: shape).routing
            return pi.indices.max { pi[$0] < pi[$1] }!
        }
    }

    /// Scores (higher = more likely correct) of `data` (raw, unstandardised features).
    public func scores(_ data: FLaGDataset) -> [Double] {
        let z = standardizer.apply(data)
        switch kind {
        case "mlp": return FLaGMLPProbe.scores(parameters: parameters, features: z.features, inputDim: z.dim, hidden: hidden ?? 0)
        default: return FLaGHead.scores(parameters: parameters, features: z.features, shape: shape!)
        }
    }

    /// Reads a head file: the checkpoint form (magic `ISPOCKPT`, every CRC checked), or
    /// the legacy JSON form (format_version 1). Anything else, or a damaged file, throws
    /// a `CheckpointError` saying what was expected, what was found and to retrain.
    public static func read(path: String) throws -> FLaGHeadFile {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CheckpointError(.unreadable, file: path, expected: "a readable FLaG head file", found: "no such file or no permission",
                                  remedy: "Check the path (flag.head / --head); heads are written by `ispo-cluster detect train`.")
        }
        let start = (try? handle.read(upToCount: 8)) ?? Data()
        try? handle.close()
        if Array(start) == Array("ISPOCKPT".utf8) { return try FLaGHeadCheckpoint.read(path: path) }
        guard start.first == UInt8(ascii: "{") else {
            let shown = start.map { String(format: "%02x", $0) }.joined(separator: " ")
            throw CheckpointError(start.isEmpty ? .truncated : .wrongFormat, file: path,
                                  expected: "a FLaG head checkpoint (starting with ISPOCKPT) written by `ispo-cluster detect train`",
                                  found: start.isEmpty ? "an empty file" : "first bytes \(shown)", remedy: FLaGHeadCheckpoint.retrain)
        }
        return try readLegacyJSON(path: path)
    }

    /// The JSON head of earlier versions (format_version 1).
    static func readLegacyJSON(path: String) throws -> FLaGHeadFile {
        let file: FLaGHeadFile
        do { file = try JSONDecoder().decode(FLaGHeadFile.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw CheckpointError(.wrongFormat, file: path, expected: "a FLaG head (checkpoint, or the JSON of earlier versions)",
                                  found: "JSON that does not decode as one: \(error)", remedy: FLaGHeadCheckpoint.retrain)
        }
        guard file.formatVersion == 1 else {
            throw CheckpointError(.unsupportedVersion, file: path, expected: "JSON head format_version 1",
                                  found: "\(file.formatVersion)", remedy: FLaGHeadCheckpoint.retrain)
        }
        try FLaGHeadCheckpoint.checkConsistent(file, path: path)
        return file
    }

    /// Writes the head as a checkpoint shard file, atomically (`<path>.partial`, fsync, rename).
    public func write(path: String) throws { try FLaGHeadCheckpoint.write(self, path: path) }
}

/// Minibatch AdamW training of the FLaG head and the MLP probe with early
/// stopping on held-out questions (validation AUROC, ties broken by BCE; the best parameters are kept).
public enum FLaGTraining {
    /// Generic loop: `loss(params, trainBatchIndices)`; `validate(params)` gives the
    /// validation BCE and AUROC (nil = no validation data). The kept parameters are
    /// those of the epoch with the best validation AUROC, ties (frequent on a small
    /// split, e.g. several epochs at 1.0) broken by the lower BCE; with one class in
    /// the split, the lower BCE alone. BCE alone is not the criterion: the ranking
    /// term grows the score scale, which inflates BCE while the ranking improves.
    /// The random initialisation is never kept (the first epoch always counts).
    static func fit(initial: [Double], trainCount: Int, settings: FLaGTrainingSettings,
                    loss: ([Double], [Int]) -> (value: Double, gradient: [Double]),
                    validate: ([Double]) -> (loss: Double, auroc: Double?)?) -> (parameters: [Double], validation: Double?, epochs: Int) {
        func better(_ v: (loss: Double, auroc: Double?), than b: (loss: Double, auroc: Double?)) -> Bool {
            if let a = v.auroc, let ab = b.auroc, abs(a - ab) > 1e-9 { return a > ab }
            return v.loss < b.loss - 1e-6 * max(1, abs(b.loss))
        }
        var p = initial.map(Float.init)
        let P = p.count
        let opt = AdamW(config: AdamWConfig(lr: settings.lr, weightDecay: settings.weightDecay), shard: 0..<P,
                        segments: [DecaySegment(range: 0..<P, decays: true)])
        var rng = Rng(seed: SeedMixer.derive(run: settings.seed, purpose: 0xF1A6))
        var best = initial, bestVal: (loss: Double, auroc: Double?)? = nil, stale = 0, epochs = 0
        var order = Array(0..<trainCount)
        for _ in 0..<settings.epochs {
            epochs += 1
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
            for start in stride(from: 0, to: order.count, by: max(1, settings.batchSize)) {
                let batch = Array(order[start..<min(order.count, start + settings.batchSize)])
                let g = loss(p.map(Double.init), batch).gradient.map(Float.init)
                p.withUnsafeMutableBufferPointer { pp in
                    g.withUnsafeBufferPointer { gp in opt.step(parameters: pp.baseAddress!, gradients: gp.baseAddress!, lr: settings.lr) }
                }
            }
            let current = p.map(Double.init)
            guard let v = validate(current) else { best = current; continue }  // no validation data: keep the latest
            if bestVal == nil || better(v, than: bestVal!) { bestVal = v; best = current; stale = 0 } else {
                stale += 1
                if stale >= settings.patience { break }
            }
        }
        return (best, bestVal?.auroc, epochs)
    }

    /// Trains a FLaG head of `shape` on `train`, early-stopped on `validation`.
    public static func trainFLaG(train: FLaGDataset, validation: FLaGDataset, shape: FLaGHeadShape, weights: FLaGLossWeights,
                                 settings: FLaGTrainingSettings) -> FLaGHeadFile {
        precondition(shape.inputDim == train.dim, "FLaG: head input \(shape.inputDim), features \(train.dim)")
        let standardizer = FLaGStandardizer(fitting: train)
        let tr = standardizer.apply(train), va = standardizer.apply(validation)
        let initial = FLaGHead.initialParameters(shape: shape, seed: SeedMixer.derive(run: settings.seed, purpose: 0xF1A7))
        let result = fit(initial: initial, trainCount: tr.count, settings: settings, loss: { p, idx in
            let b = tr.subset(idx)
            return FLaGHead.loss(parameters: p, features: b.features, labels: b.labels, shape: shape, weights: weights)
        }, validate: { p in
            guard va.count > 0 else { return nil }
            let l = FLaGHead.loss(parameters: p, features: va.features, labels: va.labels, shape: shape, weights: FLaGLossWeights()).value
            return (l, DetectionMetrics.auroc(scores: FLaGHead.scores(parameters: p, features: va.features, shape: shape), labels: va.labels))
        })
        return FLaGHeadFile(kind: "flag", shape: shape, weights: weights, hidden: nil, standardizer: standardizer,
                            parameters: result.parameters, validationAUROC: result.validation, epochs: result.epochs)
    }

    /// Trains the one-hidden-layer MLP probe (BCE), early-stopped on `validation`.
    public static func trainMLP(train: FLaGDataset, validation: FLaGDataset, hidden: Int, settings: FLaGTrainingSettings) -> FLaGHeadFile {
        let standardizer = FLaGStandardizer(fitting: train)
        let tr = standardizer.apply(train), va = standardizer.apply(validation), D = train.dim
        let initial = FLaGMLPProbe.initialParameters(inputDim: D, hidden: hidden, seed: SeedMixer.derive(run: settings.seed, purpose: 0xF1A8))
        let result = fit(initial: initial, trainCount: tr.count, settings: settings, loss: { p, idx in
            let b = tr.subset(idx)
            return FLaGMLPProbe.loss(parameters: p, features: b.features, labels: b.labels, inputDim: D, hidden: hidden)
        }, validate: { p in
            guard va.count > 0 else { return nil }
            let l = FLaGMLPProbe.loss(parameters: p, features: va.features, labels: va.labels, inputDim: D, hidden: hidden).value
            return (l, DetectionMetrics.auroc(scores: FLaGMLPProbe.scores(parameters: p, features: va.features, inputDim: D, hidden: hidden), labels: va.labels))
        })
        return FLaGHeadFile(kind: "mlp", shape: nil, weights: nil, hidden: hidden, standardizer: standardizer,
                            parameters: result.parameters, validationAUROC: result.validation, epochs: result.epochs)
    }
}
