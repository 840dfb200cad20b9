import ArgumentParser
import Foundation
import ModelIO
import Roles

/// `ispo-cluster export <model> --output <folder>`: a GGUF file or a checkpoint
/// as a complete Hugging Face folder (weights, config.json with bos/eos ids,
/// tokenizer.json, tokenizer_config.json with the chat template,
/// generation_config.json), loadable by `ispo-cluster generate --model <folder>`
/// and by transformers without a separate tokenizer.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a .gguf file or a checkpoint to a Hugging Face folder (weights, config and tokenizer files).",
        discussion: """
            A checkpoint (a run directory, its checkpoints/ folder or one global_step_<N>) takes its tokenizer \
            from --tokenizer-from, else from the model its run started from (model.path); a run of the built-in \
            tiny model has none and exports its weights and config.json only.
            """)

    @Argument(help: "A .gguf file, or a checkpoint (run directory, checkpoints/ or global_step_<N>).")
    var model: String

    @Option(help: "Output folder (created if needed; files in it are replaced).")
    var output: String

    @Option(help: "Weight dtype in model.safetensors: float32, bfloat16 or float16.")
    var dtype = "float32"

    @Option(help: "A .gguf file or Hugging Face folder whose tokenizer a checkpoint is exported with.")
    var tokenizerFrom: String?

    /// The safetensors dtype of `--dtype`.
    func storedDType() throws -> SafetensorsDType {
        switch dtype {
        case "float32", "f32", "fp32": return .f32
        case "bfloat16", "bf16": return .bf16
        case "float16", "f16", "fp16": return .f16
        default: throw ValidationError("--dtype: expected float32, bfloat16 or float16, found '\(dtype)'.")
        }
    }

    func run() throws {
        let start = Date()
        let notes = try ModelExport.export(model, to: output, dtype: try storedDType(), tokenizerFrom: tokenizerFrom)
        for n in notes { print("  \(n)") }
        print(String(format: "exported %@ to %@ in %.1f s", model, output, Date().timeIntervalSince(start)))
    }
}
