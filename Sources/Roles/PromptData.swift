import Foundation
import Tasks
import Tensors

/// Where prompts come from: synthetic families (`synthetic:chain:5`, an
/// endless seeded stream; `synthetic:addition:3@style2` writes the SFT
/// completions in trace style 2, the data source stays `addition:3`) or benchmark files (`gsm8k_train`, `math500`, … from
/// the fetched cache). Every rank builds the same batches from the run seed,
/// so prompts never travel over MPI.
public struct PromptData {
    enum Source {
        case synthetic(any SyntheticFamily)
        case fixed(name: String, items: [PromptItem], completions: [String?])
    }
    let sources: [Source]
    let runSeed: UInt64

    /// Parses `specs` (see the type comment). `root` is the repository root (for the data cache).
    public init(specs: [String], root: String, maxSamples: Int?, runSeed: UInt64, instruction: Bool = true) throws {
        guard !specs.isEmpty else { throw PromptDataError("data: no files given; set data.train_files, e.g. [synthetic:addition:3] or [gsm8k_train]") }
        self.runSeed = runSeed
        sources = try specs.map { spec in
            if spec.hasPrefix("synthetic:") {
                do {
                    return .synthetic(try SyntheticFamilies.named(String(spec.dropFirst("synthetic:".count))))
                } catch {
                    throw PromptDataError("data spec '\(spec)': \(error)")
                }
            }
            let examples = try BenchmarkSuite.load(spec, root: root, maxSamples: maxSamples)
            let items = examples.map { e -> PromptItem in
                let format = AnswerFormat.forSource(e.dataSource)
                let text = instruction ? e.prompt + "\n" + BenchmarkSuite.instruction(for: format) : e.prompt
                return PromptItem(prompt: text, groundTruth: e.groundTruth, dataSource: e.dataSource)
            }
            return .fixed(name: spec, items: items, completions: examples.map { $0.extraInfo["solution"] ?? $0.extraInfo["answer"] })
        }
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
            return (PromptItem(prompt: p.prompt, groundTruth: p.answer, dataSource: family.spec), p.completion)
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

    /// A fixed validation set of `count` prompts per source (all of a file when it is smaller).
    public func validation(countPerSource count: Int) -> [PromptItem] {
        var out: [PromptItem] = []
        for (s, source) in sources.enumerated() {
            switch source {
            case .synthetic(let family):
                var rng = Rng(seed: SeedMixer.derive(run: runSeed, sample: UInt64(s), purpose: 300))
                out += (0..<count).map { _ in let p = family.sample(&rng); return PromptItem(prompt: p.prompt, groundTruth: p.answer, dataSource: family.spec) }
            case .fixed(_, let items, _):
                out += items.prefix(count)
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
