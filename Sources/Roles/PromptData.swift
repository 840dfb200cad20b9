import Configs
import Foundation
import Tasks
import Tensors

/// Where prompts come from: synthetic families (`synthetic:chain:5`, an
/// endless seeded stream; `synthetic:addition:3@style2` writes the SFT
/// completions in trace style 2, the data source stays `addition:3`),
/// benchmark files (`gsm8k_train`, `math500`, … from the fetched cache) or
/// verl JSONL files (a spec that ends in `.jsonl` or contains `/`: `data_source`,
/// `prompt`, `reward_model.ground_truth`, `extra_info`; relative paths are
/// under `root`). Every rank builds the same batches from the run seed, so
/// prompts never travel over MPI.
public struct PromptData {
    enum Source {
        case synthetic(any SyntheticFamily)
        case fixed(name: String, items: [PromptItem], completions: [String?])
    }
    let sources: [Source]
    let runSeed: UInt64
    /// The user message of each question (`data.prompt`).
    let wording: QuestionWording

    /// Validation prompts drawn from a synthetic family (an endless stream)
    /// when `validation(countPerSource:)` is given nil.
    public static let syntheticValidationCount = 64

    /// Parses `specs` (see the type comment). `root` is the repository root (for
    /// the data cache and relative paths); `key` names the config key the specs
    /// came from in error messages (`data.train_files`, `data.val_files`).
    /// Benchmark questions are worded by `prompt.template` (or their
    /// `prompt.benchmarks` entry), by default with the instruction of their
    /// answer format appended; synthetic questions as written unless
    /// `prompt.benchmarks.synthetic` is set; verl files are used as written
    /// (verl's preprocessing already put the instruction in the prompt).
    public init(specs: [String], root: String, maxSamples: Int?, runSeed: UInt64, prompt: PromptConfig = PromptConfig(),
                key: String = "data.train_files") throws {
        guard !specs.isEmpty else { throw PromptDataError("data: no files given; set data.train_files, e.g. [synthetic:addition:3] or [gsm8k_train]") }
        self.runSeed = runSeed
        let wording: QuestionWording
        do { wording = try QuestionWording(prompt) } catch { throw PromptDataError("\(error)") }
        self.wording = wording
        sources = try specs.map { spec in
            if spec.hasPrefix("synthetic:") {
                do {
                    return .synthetic(try SyntheticFamilies.named(String(spec.dropFirst("synthetic:".count))))
                } catch {
                    throw PromptDataError("data spec '\(spec)': \(error)")
                }
            }
            if Benchmark(rawValue: spec) == nil, Self.isFilePath(spec) {
                return try Self.verlSource(spec, root: root, maxSamples: maxSamples, key: key)
            }
            let examples: [TaskExample]
            do { examples = try BenchmarkSuite.load(spec, root: root, maxSamples: maxSamples) } catch let e as DataLoadError {
                throw PromptDataError("\(key): \(e)")
            }
            let items = examples.map { e in
                PromptItem(prompt: wording.benchmark(e.prompt, dataSource: e.dataSource), groundTruth: e.groundTruth,
                           dataSource: e.dataSource)
            }
            return .fixed(name: spec, items: items, completions: examples.map { $0.extraInfo["solution"] ?? $0.extraInfo["answer"] })
        }
    }

    /// Whether a spec names a file rather than a benchmark: it ends in `.jsonl`
    /// (or `.parquet`, refused with a conversion hint) or contains `/`.
    static func isFilePath(_ spec: String) -> Bool {
        spec.hasSuffix(".jsonl") || spec.hasSuffix(".parquet") || spec.contains("/")
    }

    /// A verl JSONL file as a fixed source: the prompt text as the file gives it
    /// (a string, or the user turns of a chat), the chat's system message kept
    /// on the item, the reference completion from `extra_info.solution` or `.answer`.
    static func verlSource(_ spec: String, root: String, maxSamples: Int?, key: String) throws -> Source {
        let path = spec.hasPrefix("/") ? spec : URL(fileURLWithPath: root).appendingPathComponent(spec).path
        if spec.hasSuffix(".parquet") {
            throw PromptDataError("\(key): '\(spec)' is a parquet file; expected JSONL. Convert it once with "
                + "`python3 Launch/parquet-to-jsonl.py \(spec) \(spec.dropLast(".parquet".count)).jsonl` (needs pyarrow) "
                + "and list the .jsonl file")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            let found = FileManager.default.fileExists(atPath: path) ? "a directory" : "no such file"
            throw PromptDataError("\(key): '\(spec)': expected a verl JSONL file at \(path), found \(found); "
                + "check the path (relative paths are under \(root)), or use a benchmark name "
                + "(\(Benchmark.allCases.map(\.rawValue).joined(separator: ", "))) or synthetic:<family>")
        }
        let examples: [TaskExample]
        do { examples = try VerlJSONL.read(path: path, maxSamples: maxSamples) } catch let e as DataLoadError {
            throw PromptDataError("\(key): \(e)")
        }
        guard !examples.isEmpty else {
            throw PromptDataError("\(key): '\(spec)': expected at least one verl row, found an empty file")
        }
        let items = examples.map {
            PromptItem(prompt: $0.prompt, groundTruth: $0.groundTruth, dataSource: $0.dataSource, system: $0.systemMessage)
        }
        return .fixed(name: spec, items: items, completions: examples.map { $0.extraInfo["solution"] ?? $0.extraInfo["answer"] })
    }

    /// The synthetic family behind a source name, if any (for trace checks).
    public var syntheticFamilies: [any SyntheticFamily] {
        sources.compactMap { if case .synthetic(let f) = $0 { return f } else { return nil } }
    }

    /// Prompt `index` of `step` (`purpose` separates train, validation and SFT streams).
    public func item(step: Int, index: Int, purpose: UInt64) -> (item: PromptItem, completion: String?) {
        let source = sources[index % sources.count]
        switch source {
        case .synthetic(let family):
            var rng = Rng(seed: SeedMixer.derive(run: runSeed, step: UInt64(step), sample: UInt64(index), purpose: 100 + purpose))
            let p = family.sample(&rng)
            return (PromptItem(prompt: wording.synthetic(p.prompt), groundTruth: p.answer, dataSource: family.spec), p.completion)
        case .fixed(_, let items, let completions):
            // Epoch-wise permutation of the file, seeded by the run.
            let k = step * 1_000_003 + index
            let epoch = k / items.count
            let order = permutation(items.count, seed: SeedMixer.derive(run: runSeed, step: UInt64(epoch), purpose: 200 + purpose))
            let i = order[k % items.count]
            return (items[i], completions[i])
        }
    }

    /// The `count` prompts of training step `step`.
    public func batch(step: Int, count: Int, purpose: UInt64 = 0) -> [PromptItem] {
        (0..<count).map { item(step: step, index: $0, purpose: purpose).item }
    }

    /// A fixed validation set of `count` prompts per source (all of a file when
    /// it is smaller). nil (`data.val_batch_size: null`) takes every prompt of a
    /// file and `syntheticValidationCount` prompts of a synthetic family.
    public func validation(countPerSource count: Int?) -> [PromptItem] {
        validationWithReferences(countPerSource: count).map(\.item)
    }

    /// The validation set with each prompt's reference completion (a file's
    /// worked solution, a synthetic trace), nil where the source has none.
    public func validationWithReferences(countPerSource count: Int?) -> [(item: PromptItem, completion: String?)] {
        precondition((count ?? 0) >= 0, "validation count must be non-negative")
        var out: [(item: PromptItem, completion: String?)] = []
        for (s, source) in sources.enumerated() {
            switch source {
            case .synthetic(let family):
                var rng = Rng(seed: SeedMixer.derive(run: runSeed, sample: UInt64(s), purpose: 300))
                out += (0..<(count ?? Self.syntheticValidationCount)).map { _ in
                    let p = family.sample(&rng)
                    return (PromptItem(prompt: wording.synthetic(p.prompt), groundTruth: p.answer, dataSource: family.spec), p.completion)
                }
            case .fixed(_, let items, let completions):
                let n = count.map { min($0, items.count) } ?? items.count
                out += (0..<n).map { (items[$0], completions[$0]) }
            }
        }
        return out
    }

    func permutation(_ n: Int, seed: UInt64) -> [Int] {
        var rng = Rng(seed: seed)
        var a = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { a.swapAt(i, rng.below(i + 1)) }
        return a
    }
}

/// A data specification that cannot be used.
public struct PromptDataError: Error, CustomStringConvertible {
    /// What is wrong and what to do.
    public let description: String
    init(_ s: String) { description = s }
}
