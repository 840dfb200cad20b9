import Configs
import Foundation
import Merging
import ModelIO
import Tensors
import Transformer

/// What `ModelMerge.run` did.
public struct ModelMergeSummary: Equatable, Sendable {
    /// The method.
    public let method: MergeRecipe.Method
    /// Branch models in order with their weight and density.
    public let branches: [(path: String, weight: Double, density: Double)]
    /// The base model, if the method uses one.
    public let base: String?
    /// Parameters per model.
    public let parameterCount: Int
    /// Where the result was written.
    public let output: String
    /// Storage dtype of the output.
    public let dtype: SafetensorsDType
    /// Options accepted without effect, and conversions done.
    public let notes: [String]

    /// Field by field (tuples are not Equatable, so `branches` is compared by its parts).
    public static func == (a: Self, b: Self) -> Bool {
        a.method == b.method && a.base == b.base && a.parameterCount == b.parameterCount && a.output == b.output
            && a.dtype == b.dtype && a.notes == b.notes
            && a.branches.map(\.path) == b.branches.map(\.path) && a.branches.map(\.weight) == b.branches.map(\.weight)
            && a.branches.map(\.density) == b.branches.map(\.density)
    }
}

/// `ispo-cluster merge`: reads the models a mergekit config names, checks they share one
/// architecture, merges them (`Merge.merge`) and writes the result.
public enum ModelMerge {
    /// Loads the mergekit file at `recipePath` and runs it. Relative model paths are taken
    /// from the current directory (as mergekit does), else from the file's folder.
    /// - Throws: `ConfigError` for the file, `MergeError` / `ModelIOError` / `CheckpointError` for models.
    public static func run(recipePath: String, output: String, seed: Int = 1,
                           log: (String) -> Void = { print($0) }) throws -> ModelMergeSummary {
        let config = try MergeConfig.load(mergekitFile: recipePath)
        let text = try? String(contentsOfFile: recipePath, encoding: .utf8)
        return try run(config: config, output: output, seed: seed,
                       relativeTo: (recipePath as NSString).deletingLastPathComponent, recipeText: text, log: log)
    }

    /// Runs a parsed merge config. `output`: a folder (Hugging Face: `model.safetensors`,
    /// `config.json` with the donor's bos/eos/pad ids, the tokenizer (`MergeTokenizer`: the
    /// donor's — base model, else first model — or `tokenizer_source`'s; a GGUF donor's is
    /// written as Hugging Face files), `chat_template.jinja` when `chat_template` is set, and
    /// `mergekit_config.yml`) or a path ending in `.safetensors` (one file, no tokenizer). The
    /// output dtype is `out_dtype`, else `dtype`.
    public static func run(config: MergeConfig, output: String, seed: Int = 1, relativeTo folder: String = "",
                           recipeText: String? = nil, log: (String) -> Void = { print($0) }) throws -> ModelMergeSummary {
        let plan = try MergePlan(config: config, defaultSeed: seed)
        let recipe = plan.recipe
        var notes = plan.notes
        let dtype = try outputDType(config.outDtype ?? config.dtype)
        func resolve(_ p: String) -> String {
            if p.hasPrefix("/") || FileManager.default.fileExists(atPath: p) || folder.isEmpty { return p }
            let beside = (folder as NSString).appendingPathComponent(p)
            return FileManager.default.fileExists(atPath: beside) ? beside : p
        }
        let basePath = plan.baseModel.map(resolve)
        let branchPaths = plan.branches.map(resolve)
        let referencePath = basePath ?? branchPaths[0]
        let donorPath = plan.donorModel.map(resolve) ?? referencePath

        log("reading \(referencePath)")
        var reference = try MergeInputModel.load(path: referencePath)
        var layout = MergeLayout(reference: reference)
        var loaded: [String: MergeInputModel] = [referencePath: reference]
        var all: [MergeInputModel] = [reference]
        for p in branchPaths where loaded[p] == nil {
            log("reading \(p)")
            let m = try MergeInputModel.load(path: p)
            loaded[p] = m
            all.append(m)
        }
        // GGUF rows pair RoPE dimensions differently from Hugging Face: bring mixed inputs to HF's order.
        let styles = Set(all.compactMap { $0.config?.ropeStyle })
        if styles.contains(.interleaved) && (styles.count > 1 || all.contains { $0.config == nil }) {
            notes.append("GGUF (interleaved RoPE) inputs were converted to Hugging Face's rotate-half row order")
            for key in Array(loaded.keys) { try loaded[key]!.convertToRotateHalf() }
            reference = loaded[referencePath]!
            layout = MergeLayout(reference: reference)
        }
        for p in branchPaths { try layout.check(loaded[p]!, against: reference) }
        let donorModel = loaded[donorPath] ?? reference
        let donor = (path: donorModel.path, format: donorModel.format)
        var tokenizer: (source: String?, template: String?) = (nil, nil)
        if !output.hasSuffix(".safetensors"), let vocabSize = reference.config?.vocabSize {
            // Checked before merging, so that a config mistake costs no merge.
            let hasTokenizer = config.tokenizerSource != nil || TokenizerFiles.hasTokenizer(donor.path)
            tokenizer.source = hasTokenizer
                ? try MergeTokenizer.source(config.tokenizerSource, donor: donor.path, vocabSize: vocabSize, resolve: resolve)
                : nil
            let models = [donor.path] + ([basePath].compactMap { $0 } + branchPaths).filter { $0 != donor.path }
            tokenizer.template = try MergeTokenizer.chatTemplate(config.chatTemplate, models: models)
            if config.chatTemplate == "auto" && tokenizer.template == nil {
                notes.append("chat_template: auto found no chat template in the models; none was written")
            }
        } else if config.tokenizerSource != nil || config.chatTemplate != nil {
            notes.append("tokenizer_source and chat_template have no effect on a single .safetensors output")
        }

        log("merging \(branchPaths.count) models (\(layout.count) parameters each) with \(recipe.method.rawValue)")
        let baseFlat = recipe.usesBase ? layout.flatten(reference) : nil
        let merged = Merge.merge(branches: branchPaths.map { layout.flatten(loaded[$0]!) }, base: baseFlat,
                                 recipe: recipe, segments: layout.segments)
        loaded.removeAll()
        if let bad = merged.firstIndex(where: { !$0.isFinite }) {
            let name = layout.names[layout.segments.firstIndex { $0.contains(bad) } ?? 0]
            throw MergeError("merged parameters", expected: "finite values", found: "\(merged[bad]) in `\(name)`",
                             remedy: "An input holds NaN or infinity there; check the models.")
        }
        var tensors = layout.tensors(from: merged)
        try write(&tensors, config: reference.config, to: output, dtype: dtype, donor: donor, tokenizer: tokenizer,
                  recipeText: recipeText, notes: &notes)
        log("wrote \(output) (\(dtype.torchName))")
        for n in notes { log("note: \(n)") }
        return ModelMergeSummary(
            method: recipe.method,
            branches: branchPaths.indices.map { (branchPaths[$0], recipe.weights[$0], recipe.densities[$0]) },
            base: basePath, parameterCount: layout.count, output: output, dtype: dtype, notes: notes)
    }

    /// mergekit's dtype names (and short ones) → the safetensors storage type.
    public static func outputDType(_ name: String) throws -> SafetensorsDType {
        switch name {
        case "float32", "fp32": return .f32
        case "float16", "fp16", "half": return .f16
        case "bfloat16", "bf16": return .bf16
        default:
            throw MergeError("dtype", expected: MergeConfig.dtypeSpellings.joined(separator: ", "), found: "`\(name)`",
                             remedy: "Set dtype (or out_dtype) to one of mergekit's float types.")
        }
    }

    private static func write(_ tensors: inout [String: Tensor], config: Transformer.ModelConfig?, to output: String,
                              dtype: SafetensorsDType, donor: (path: String, format: MergeInputModel.Format),
                              tokenizer: (source: String?, template: String?), recipeText: String?,
                              notes: inout [String]) throws {
        if output.hasSuffix(".safetensors") {
            if var c = config, c.ropeStyle == .interleaved {
                var m = MergeInputModel(path: output, format: .safetensors, config: c, tensors: tensors)
                try m.convertToRotateHalf()
                tensors = m.tensors
                c.ropeStyle = .rotateHalf
                notes.append("the output uses Hugging Face's rotate-half row order for Q and K")
            }
            let parent = (output as NSString).deletingLastPathComponent
            if !parent.isEmpty { try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
            try writeSafetensors(tensors, to: output, dtype: dtype, metadata: ["format": "pt"])
            return
        }
        guard let config else {
            throw MergeError("output `\(output)`", expected: "a model architecture to write config.json",
                             found: "models without one (bare .safetensors files)",
                             remedy: "Write a single file instead: give an --output path ending in .safetensors.")
        }
        // config.json takes the donor's special ids, as mergekit's config comes from the donor.
        let ids: HuggingFaceTokenIDs? = donor.format == .huggingFace || donor.format == .gguf
            ? try TokenizerFiles.tokenIDs(of: donor.path) : nil
        try exportHuggingFace(config: config, tensors: tensors, to: output, dtype: dtype, tokenIDs: ids)
        if let source = tokenizer.source {
            try TokenizerFiles.write(from: source, to: output, vocabSize: config.vocabSize, modelMaxLength: config.maxSeqLen)
        } else {
            notes.append("no tokenizer files were written: `\(donor.path)` is a \(donor.format.rawValue) without a tokenizer")
        }
        if let template = tokenizer.template { try MergeTokenizer.write(template: template, to: output) }
        if let recipeText {
            try Data(recipeText.utf8).write(to: URL(fileURLWithPath: output + "/mergekit_config.yml"), options: .atomic)
        }
    }
}
