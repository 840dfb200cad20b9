import ArgumentParser
import Foundation
import Objectives
import Roles
import Tensors

/// `ispo-cluster detect features|train|eval|head`: the FLaG hallucination-detection
/// head on a frozen model (METHODS.md §7).
///
/// Feature file (`features` writes it, the others read it): JSONL, one answer a
/// line: `group` (FNV-1a 64 of data_source + prompt, so a question's answers stay
/// together in splits), `data_source`, `label` (1 = correct, 0 = wrong),
/// `representation_dim` (3·C), `token_dim` (7), `features` (`[representation | token]`).
struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "FLaG hallucination detection: extract features from a model, train the head, evaluate it against baselines.",
        subcommands: [DetectFeatures.self, DetectTrain.self, DetectEval.self, DetectHead.self])
}

/// Options shared by `train` and `eval`.
struct DetectHeadOptions: ParsableArguments {
    @Option(help: "K, the number of latent groups of the FLaG head.") var k = 4
    @Option(help: "λ_rank, weight of the pairwise ranking loss.") var lambdaRank = 0.5
    @Option(help: "λ_bal, weight of the routing balance (KL of mean routing from uniform).") var lambdaBal = 0.01
    @Option(help: "Routing temperature T.") var temperature = 1.0
    @Option(help: "d_p of a learned projection of the representation features (0 = none).") var projection = 0
    @Option(help: "AdamW learning rate (features are standardised; 3e-3, the earlier default, undertrains small sets: Docs/Results-FLaG.md).")
    var lr = 0.03
    @Option(help: "AdamW weight decay.") var weightDecay = 1e-2
    @Option(help: "Maximum epochs.") var epochs = 200
    @Option(help: "Epochs without a better validation AUROC (ties: lower BCE) before stopping.") var patience = 20
    @Option(help: "Minibatch size.") var batchSize = 128
    @Option(help: "Fraction of the training questions held out for early stopping.") var valFraction = 0.2
    @Option(help: "Seed of splits, initialisation and shuffling.") var seed: UInt64 = 0
    @Flag(help: "Use only the 7 token-probability features.") var tokenOnly = false

    func validate() throws {
        guard k >= 1 else { throw ValidationError("--k must be ≥ 1, found \(k).") }
        guard lambdaRank >= 0, lambdaBal >= 0 else { throw ValidationError("--lambda-rank and --lambda-bal must be ≥ 0.") }
        guard temperature > 0 else { throw ValidationError("--temperature must be > 0, found \(temperature).") }
        guard valFraction > 0, valFraction < 1 else { throw ValidationError("--val-fraction must be in (0, 1), found \(valFraction).") }
        guard epochs > 0, patience > 0, batchSize > 0, projection >= 0 else {
            throw ValidationError("--epochs, --patience and --batch-size must be positive, --projection ≥ 0.")
        }
    }

    var settings: FLaGTrainingSettings {
        var s = FLaGTrainingSettings()
        s.lr = lr; s.weightDecay = weightDecay; s.epochs = epochs; s.patience = patience; s.batchSize = batchSize; s.seed = seed
        return s
    }

    func shape(for data: FLaGDataset, groups: Int? = nil, projected: Bool = true) -> FLaGHeadShape {
        FLaGHeadShape(representationDim: data.representationDim, tokenDim: data.tokenDim,
                      projectionDim: projected && data.representationDim > 0 ? projection : 0,
                      groups: groups ?? k, temperature: temperature)
    }

    /// Splits `data` by question into train and validation and trains a head.
    func trainFLaG(_ data: FLaGDataset, groups: Int? = nil, weights: FLaGLossWeights, projected: Bool = true) -> FLaGHeadFile {
        let (tr, va) = data.splitByGroup(heldOut: valFraction, seed: SeedMixer.derive(run: seed, purpose: 2))
        return FLaGTraining.trainFLaG(train: data.subset(tr), validation: data.subset(va), shape: shape(for: data, groups: groups, projected: projected),
                                      weights: weights, settings: settings)
    }

    func load(_ path: String) throws -> FLaGDataset {
        let d = try DetectFeatureFile.read(path: path)
        return tokenOnly ? d.tokenOnly() : d
    }
}

/// Reading and writing the feature JSONL.
enum DetectFeatureFile {
    /// FNV-1a 64 of a string, as 16 hex digits (stable across runs and platforms).
    static func groupKey(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return String(format: "%016llx", h)
    }

    static func read(path: String) throws -> FLaGDataset {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("\(path): expected a feature JSONL written by `ispo-cluster detect features`, found no readable file.")
        }
        var f: [Double] = [], y: [Int] = [], g: [String] = [], src: [String] = [], dims: (Int, Int)? = nil
        for (n, line) in text.split(separator: "\n").enumerated() where !line.isEmpty {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let r = obj["representation_dim"] as? Int, let t = obj["token_dim"] as? Int,
                  let x = obj["features"] as? [Double], let label = obj["label"] as? Int, let group = obj["group"] as? String else {
                throw ValidationError("\(path):\(n + 1): expected an object with group, label, representation_dim, token_dim, features; "
                                      + "regenerate it with `ispo-cluster detect features`.")
            }
            if let d = dims, d != (r, t) {
                throw ValidationError("\(path):\(n + 1): expected representation_dim \(d.0) and token_dim \(d.1) like the first line, "
                                      + "found \(r) and \(t); features of different models cannot be mixed.")
            }
            guard x.count == r + t else { throw ValidationError("\(path):\(n + 1): expected \(r + t) features, found \(x.count).") }
            dims = (r, t); f += x; y.append(label == 1 ? 1 : 0); g.append(group); src.append(obj["data_source"] as? String ?? "")
        }
        guard let d = dims else { throw ValidationError("\(path): expected at least one feature line, found none.") }
        var data = FLaGDataset(features: f, labels: y, groups: g, representationDim: d.0, tokenDim: d.1)
        data.sources = src
        return data
    }
}

/// `detect features`: feature vectors + labels for stored answers.
struct DetectFeatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Write FLaG feature vectors and labels for the answers in rollout or generation dumps.")

    @Option(help: "The frozen model: a .gguf file, a Hugging Face folder, or a tiny model's checkpoint / run directory.")
    var model: String
    @Option(name: .customLong("input"), help: "A dump JSONL (prompt, response, and correct or outcome); repeatable.")
    var inputs: [String]
    @Option(help: "The feature JSONL to write.") var output: String
    @Option(help: "Residual depth of the hidden states (0…layers; default the final-norm input).") var layer: Int?
    @Option(help: "Positions to set up; longer samples are skipped.") var maxSeqLen = 1024
    @Option(help: "Stop after this many samples (0 = all).") var limit = 0
    @Option(help: "Threads for OpenBLAS and the elementwise kernels.") var threads = 2

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("Give at least one --input <dump.jsonl>.") }
        guard maxSeqLen > 1, limit >= 0, threads > 0 else { throw ValidationError("--max-seq-len > 1, --limit ≥ 0, --threads > 0.") }
    }

    func run() throws {
        Blas.configure(threads: threads)
        let (m, codec) = try FLaGModelLoading.load(path: model, maxSeqLen: maxSeqLen)
        if let layer, layer < 0 || layer > m.config.layers {
            throw ValidationError("--layer \(layer): expected 0…\(m.config.layers) for this model.")
        }
        let ex = FLaGFeatureExtractor(model: m, depth: layer)
        var out = "", written = 0, skipped = 0, positives = 0
        let start = Date()
        outer: for path in inputs {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("--input \(path): expected a rollout or generation dump (JSONL), found no readable file.")
            }
            for (n, line) in text.split(separator: "\n").enumerated() where !line.isEmpty {
                if limit > 0 && written >= limit { break outer }
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let prompt = obj["prompt"] as? String, let response = obj["response"] as? String else {
                    throw ValidationError("\(path):\(n + 1): expected an object with prompt and response strings.")
                }
                let label: Int
                if let c = obj["correct"] as? Bool { label = c ? 1 : 0 }
                else if let o = obj["outcome"] as? Double { label = o > 0 ? 1 : 0 }
                else if let l = obj["label"] as? Int { label = l == 1 ? 1 : 0 }
                else {
                    throw ValidationError("\(path):\(n + 1): expected a label: `correct` (generation dumps), `outcome` (rollout dumps) or `label`, found none.")
                }
                let source = obj["data_source"] as? String ?? ""
                let fv: FLaGFeatureVector
                do {
                    fv = try ex.features(prompt: try codec.encode(try codec.formatPrompt(prompt)), answer: try codec.encode(response))
                } catch { skipped += 1; continue }
                let rec: [String: Any] = [
                    "group": DetectFeatureFile.groupKey(source + "\u{1F}" + prompt), "data_source": source, "label": label,
                    "representation_dim": fv.representation.count, "token_dim": fv.token.count,
                    "features": fv.representation.map { Double($0) } + fv.token.map { Double(Float($0)) },
                ]
                out += String(decoding: try JSONSerialization.data(withJSONObject: rec, options: [.sortedKeys]), as: UTF8.self) + "\n"
                written += 1; positives += label
                if written % 50 == 0 {
                    FileHandle.standardError.write(Data("detect features: \(written) answers, \(String(format: "%.1f", Date().timeIntervalSince(start)))s\n".utf8))
                }
            }
        }
        try Data(out.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        print("detect features: wrote \(written) answers (\(positives) correct, \(written - positives) wrong) to \(output); "
              + "skipped \(skipped) (empty, too long for --max-seq-len \(maxSeqLen), or not encodable)")
    }
}

/// `detect train`: trains and saves a FLaG head.
struct DetectTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a FLaG head on a feature file, holding out questions for early stopping; save it as a checkpoint file.",
        discussion: """
            The head is written in the checkpoint shard format (Docs/CheckpointFormat.md, "FLaG head file"): \
            zstd-compressed, CRC-checked on read, written atomically, with K, the dimensions, the feature layout, \
            the layer and the standardiser in its metadata. `detect eval --head` and `flag.head=<path>` read it.
            """)

    @Option(help: "The feature JSONL.") var features: String
    @Option(help: "The head file to write (checkpoint shard format, e.g. head.shard).") var output: String
    @Option(help: "The --layer the features were extracted at (recorded in the head; flag.layer must match it).") var layer: Int?
    @OptionGroup var head: DetectHeadOptions

    func validate() throws {
        if let layer, layer < -1 { throw ValidationError("--layer \(layer): expected -1 (the final-norm input) or 0…layers.") }
    }

    func run() throws {
        let data = try head.load(features)
        var file = head.trainFLaG(data, weights: FLaGLossWeights(rank: head.lambdaRank, balance: head.lambdaBal))
        file.layer = layer
        try file.write(path: output)
        print("detect train: \(data.count) answers, K=\(head.k), \(file.epochs) epochs, validation AUROC "
              + "\(file.validationAUROC.map { String(format: "%.4f", $0) } ?? "n/a (one class)"); wrote \(output)")
    }
}

/// `detect eval`: AUROC/AUPRC with bootstrap CIs for FLaG and the baselines.
struct DetectEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "AUROC and AUPRC (95% bootstrap CIs) of FLaG, a linear probe, an MLP probe and token-probability baselines.")

    @Option(help: "The feature JSONL to evaluate on (split by question into train and test unless --train-features is given).")
    var features: String
    @Option(help: "Train on this feature file instead (transfer: train on one task family, test on another).")
    var trainFeatures: String?
    @Option(help: "A saved FLaG head to evaluate instead of training one.") var head: String?
    @Option(help: "Fraction of questions held out as the test set (without --train-features).") var testFraction = 0.3
    @Option(help: "Fraction of the training questions whose labels are used (e.g. 0.1).") var labelFraction = 1.0
    @Option(help: "Hidden width of the MLP probe.") var mlpHidden = 32
    @Option(help: "Bootstrap resamples for the CIs.") var resamples = 1000
    @OptionGroup var options: DetectHeadOptions

    func validate() throws {
        guard testFraction > 0, testFraction < 1 else { throw ValidationError("--test-fraction must be in (0, 1), found \(testFraction).") }
        guard labelFraction > 0, labelFraction <= 1 else { throw ValidationError("--label-fraction must be in (0, 1], found \(labelFraction).") }
        guard mlpHidden > 0, resamples > 0 else { throw ValidationError("--mlp-hidden and --resamples must be positive.") }
    }

    func run() throws {
        let all = try options.load(features)
        var train: FLaGDataset, test: FLaGDataset
        if let trainFeatures {
            train = try options.load(trainFeatures); test = all
            guard train.dim == test.dim else {
                throw ValidationError("--train-features has \(train.dim) features, --features \(test.dim); extract both with the same model and --layer.")
            }
        } else {
            let (tr, te) = all.splitByGroup(heldOut: testFraction, seed: SeedMixer.derive(run: options.seed, purpose: 1))
            train = all.subset(tr); test = all.subset(te)
        }
        if labelFraction < 1 {
            let (_, keep) = train.splitByGroup(heldOut: labelFraction, seed: SeedMixer.derive(run: options.seed, purpose: 3))
            train = train.subset(keep)
        }
        guard Set(test.labels).count == 2 else {
            throw ValidationError("the test set has only \(test.labels.first == 1 ? "correct" : "wrong") answers (\(test.count)); "
                                  + "AUROC needs both; use more answers or a larger --test-fraction.")
        }
        var rows: [(String, [Double])] = []
        let R = test.representationDim
        let flag: FLaGHeadFile
        if let head {
            flag = try FLaGHeadFile.read(path: head)
            guard flag.standardizer.mean.count == test.dim else {
                throw ValidationError("--head \(head) reads \(flag.standardizer.mean.count) features, --features has \(test.dim); "
                                      + "use the same model, --layer and --token-only as when it was trained.")
            }
        } else {
            flag = options.trainFLaG(train, weights: FLaGLossWeights(rank: options.lambdaRank, balance: options.lambdaBal))
        }
        rows.append(("FLaG (K=\(flag.shape?.groups ?? 0))", flag.scores(test)))
        rows.append(("linear probe", options.trainFLaG(train, groups: 1, weights: FLaGLossWeights(), projected: false).scores(test)))
        let (tr, va) = train.splitByGroup(heldOut: options.valFraction, seed: SeedMixer.derive(run: options.seed, purpose: 2))
        rows.append(("MLP probe (H=\(mlpHidden))",
                     FLaGTraining.trainMLP(train: train.subset(tr), validation: train.subset(va), hidden: mlpHidden, settings: options.settings).scores(test)))
        let D = test.dim
        let column = { (j: Int, sign: Double) in (0..<test.count).map { sign * test.features[$0 * D + R + j] } }
        rows.append(("mean log-prob", column(0, 1)))
        rows.append(("mean entropy (negated)", column(2, -1)))
        rows.append(("answer-token probability", column(4, 1)))

        let pos = test.labels.reduce(0, +), trainPos = train.labels.reduce(0, +)
        print("detect eval: train \(train.count) answers (\(Set(train.groups).count) questions, \(trainPos) correct), test \(test.count) answers "
              + "(\(Set(test.groups).count) questions, \(pos) correct, \(test.count - pos) wrong), features \(D)\(options.tokenOnly ? " (token only)" : "")")
        print("AUROC: correct vs wrong; AUPRC: detecting wrong answers (positive = wrong, score negated); 95% bootstrap CIs, \(resamples) resamples")
        print(pad("method", 28) + " " + pad("AUROC", 26) + " AUPRC(wrong)")
        let wrong = test.labels.map { 1 - $0 }
        for (i, (name, s)) in rows.enumerated() {
            let seed = SeedMixer.derive(run: options.seed, purpose: 100 + UInt64(i))
            let a = DetectionMetrics.aurocWithCI(scores: s, labels: test.labels, resamples: resamples, seed: seed)!
            let p = DetectionMetrics.auprcWithCI(scores: s.map { -$0 }, labels: wrong, resamples: resamples, seed: seed)!
            print(pad(name, 28) + " " + pad(String(format: "%.3f [%.3f, %.3f]", a.value, a.lower, a.upper), 26)
                  + String(format: " %.3f [%.3f, %.3f]", p.value, p.lower, p.upper))
        }
        printRoutingSpecialisation(flag, test)
    }

    /// Mutual information (nats) between the argmax routing group and the error type
    /// (the wrong answers' data source, its family before the level), against the
    /// same with the types shuffled across those answers (mean of 100 permutations),
    /// and MI(group; family) on the correct answers as the input-only control.
    func printRoutingSpecialisation(_ flag: FLaGHeadFile, _ test: FLaGDataset) {
        guard test.sources.count == test.count, (flag.shape?.groups ?? 1) > 1 else { return }
        let routed = flag.routedGroups(test)
        let wrong = (0..<test.count).filter { test.labels[$0] == 0 }
        let groups = wrong.map { routed[$0] }
        let types = wrong.map { String(test.sources[$0].split(separator: ":").first ?? "") }
        guard Set(types).count > 1 else { return }
        let mi = DetectionMetrics.mutualInformation(groups, types)
        var rng = Rng(seed: SeedMixer.derive(run: options.seed, purpose: 200))
        var shuffled = types, control: [Double] = []
        for _ in 0..<100 {
            for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, rng.below(i + 1)) }
            control.append(DetectionMetrics.mutualInformation(groups, shuffled))
        }
        control.sort()
        let above = control.filter { $0 >= mi }.count
        print(String(format: "routing: MI(argmax group; error type) over %d wrong answers, %d types = %.4f nats; "
                     + "shuffled types: mean %.4f, 95th percentile %.4f; permutation p = %.2f",
                     wrong.count, Set(types).count, mi, control.reduce(0, +) / 100, control[94], Double(above + 1) / 101))
        // The matching control: groups may follow the families' inputs rather than errors;
        // the same MI on the correct answers says how much of the above is family alone.
        let correct = (0..<test.count).filter { test.labels[$0] == 1 }
        let correctTypes = correct.map { String(test.sources[$0].split(separator: ":").first ?? "") }
        if Set(correctTypes).count > 1 {
            print(String(format: "routing: MI(argmax group; family) over %d correct answers, %d families = %.4f nats (input-only control)",
                         correct.count, Set(correctTypes).count, DetectionMetrics.mutualInformation(correct.map { routed[$0] }, correctTypes)))
        }
    }
}

/// `s` padded with spaces to `width` characters (left-aligned table columns).
func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
