import ArgumentParser
import Configs
import Foundation
import Merging
import Roles

/// `ispo-cluster merge <mergekit.yaml> --output <path>`: merges models offline with a
/// mergekit config (linear, task_arithmetic, ties, dare_linear, dare_ties). The same merge
/// runs as an allreduce between MoT branches (`Roles.allreduceMerge`); reading and
/// writing the model files is `Roles.ModelMerge`.
struct MergeModels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge models with a mergekit YAML config (linear, task_arithmetic, ties, dare_linear, dare_ties).",
        discussion: """
            Models (`model:` and `base_model:`) are Hugging Face folders, .gguf or .safetensors files, or \
            checkpoint directories that record their architecture; all must share one architecture. \
            The output is a Hugging Face folder (model.safetensors, config.json with the base's \
            bos/eos/pad ids, the base's tokenizer files — or tokenizer_source's; a GGUF base's \
            tokenizer is written as Hugging Face files — chat_template.jinja when chat_template is set, \
            mergekit_config.yml) or, for a path ending in .safetensors, one file, stored in the \
            config's out_dtype or dtype. Merging is done in fp32. Docs/Methods.md lists what mergekit \
            accepts that this command does not.
            """)

    @Argument(help: "A mergekit YAML config (merge_method, base_model, models, parameters, dtype).")
    var config: String

    @Option(help: "Output folder, or a path ending in .safetensors.")
    var output: String

    @Option(help: "Seed of DARE's drops when the config sets no merge seed.")
    var seed = 1

    func run() throws {
        let start = Date()
        let summary: ModelMergeSummary
        do {
            summary = try ModelMerge.run(recipePath: config, output: output, seed: seed)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode.failure
        } catch let error as MergeError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
        for (i, b) in summary.branches.enumerated() {
            print("  branch \(i): \(b.path) weight \(b.weight) density \(b.density)")
        }
        if let base = summary.base { print("  base: \(base)") }
        print(String(format: "merged %d models (%d parameters) with %@ in %.1f s", summary.branches.count,
                     summary.parameterCount, summary.method.rawValue, Date().timeIntervalSince(start)))
    }
}
