import Checkpoint
import Foundation
import Merging
import ModelIO
import Tensors
import Transformer

/// One model read for merging: its architecture (when the format records it) and its
/// parameters under Hugging Face names.
public struct MergeInputModel {
    /// The formats `load(path:)` reads.
    public enum Format: String, Sendable {
        /// A Hugging Face folder: `config.json` and `model.safetensors` (or shards).
        case huggingFace = "Hugging Face folder"
        /// A GGUF file (F32/F16/BF16/Q8_0/Q4_0/Q4_1), dequantized to fp32.
        case gguf = "GGUF file"
        /// A bare `.safetensors` file with Hugging Face names; no architecture.
        case safetensors = "safetensors file"
        /// An ispo-cluster checkpoint directory (`global_step_<N>`).
        case checkpoint = "checkpoint"
    }

    /// Where it was read from.
    public let path: String
    /// What it was read as.
    public let format: Format
    /// The architecture, or nil for a bare safetensors file.
    public var config: ModelConfig?
    /// Parameters by Hugging Face name.
    public var tensors: [String: Tensor]

    /// Manifest `layout` key under which a checkpoint records its `ModelConfig` as JSON;
    /// checkpoints without it cannot be merged (their tensor names are unknown).
    public static let checkpointConfigKey = "model_config"

    /// Reads `path`: a checkpoint (whatever `CheckpointResolver.resolve` says the path names:
    /// a `global_step_<N>` directory, or the newest complete checkpoint of a checkpoints or
    /// run directory; the flat `parameters` tensor of group `model`, concatenated over ranks),
    /// a Hugging Face folder, a `.gguf` file or a `.safetensors` file.
    /// - Throws: `MergeError` for an unknown or missing path, `CheckpointError` for a checkpoint
    ///   location holding no complete checkpoint, or the reader's error.
    public static func load(path: String) throws -> MergeInputModel {
        if let checkpoint = try CheckpointResolver.resolve(path) { return try loadCheckpoint(checkpoint) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw MergeError("model `\(path)`", expected: "a local Hugging Face folder, .gguf or .safetensors file, "
                                + "or checkpoint directory", found: "no such file or directory",
                             remedy: "mergekit downloads Hub ids itself; here, download the model first "
                                + "(e.g. huggingface-cli download <id> --local-dir <dir>) and give the path.")
        }
        if isDirectory.boolValue {
            if FileManager.default.fileExists(atPath: path + "/config.json") {
                let (config, tensors) = try importHuggingFace(directory: path)
                return MergeInputModel(path: path, format: .huggingFace, config: config, tensors: tensors)
            }
            throw MergeError("model `\(path)`", expected: "a Hugging Face folder (config.json) or a checkpoint "
                                + "directory (manifest.json)", found: "a directory with neither",
                             remedy: "Point at the model folder itself, or at <run>/checkpoints/global_step_<N>.")
        }
        if path.hasSuffix(".gguf") {
            let (config, tensors) = try llamaModel(from: try GGUFFile(path: path))
            return MergeInputModel(path: path, format: .gguf, config: config, tensors: tensors)
        }
        if path.hasSuffix(".safetensors") {
            return MergeInputModel(path: path, format: .safetensors, config: nil, tensors: try readSafetensors(path).tensors)
        }
        throw MergeError("model `\(path)`", expected: "a folder, a .gguf or a .safetensors file",
                         found: "a file with another extension", remedy: "Rename or convert the model file.")
    }

    private static func loadCheckpoint(_ path: String) throws -> MergeInputModel {
        let reader = try CheckpointReader(directory: path)
        guard let json = reader.manifest.layout[checkpointConfigKey],
              let config = try? JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8)) else {
            throw MergeError("checkpoint `\(path)`", expected: "its model architecture in manifest.json "
                                + "(layout key `\(checkpointConfigKey)`, a ModelConfig as JSON)",
                             found: reader.manifest.layout[checkpointConfigKey] == nil ? "no such key" : "invalid JSON",
                             remedy: "Export the checkpoint to a Hugging Face folder and merge that.")
        }
        let layout = ParameterLayout(config: config)
        let flat = try reader.concatenated(tensor: "parameters", group: "model")
        guard flat.count == layout.totalCount else {
            throw MergeError("checkpoint `\(path)`", expected: "\(layout.totalCount) parameters (its model_config)",
                             found: "\(flat.count) in tensor `parameters` of group `model`",
                             remedy: "The checkpoint does not match its recorded architecture; it cannot be merged.")
        }
        var tensors: [String: Tensor] = [:]
        for e in layout.entries { tensors[e.name] = Tensor(shape: e.shape, data: Array(flat[e.range])) }
        return MergeInputModel(path: path, format: .checkpoint, config: config, tensors: tensors)
    }

    /// Reorders Q/K rows to rotate-half RoPE if the model is interleaved (GGUF), so it can be
    /// merged with Hugging Face models (whose rows pair dimensions differently).
    mutating func convertToRotateHalf() throws {
        guard var c = config, c.ropeStyle == .interleaved else { return }
        for l in 0..<c.layers {
            for (proj, heads) in [("q_proj", c.heads), ("k_proj", c.kvHeads)] {
                for kind in ["weight", "bias"] {
                    let name = "model.layers.\(l).self_attn.\(proj).\(kind)"
                    if let t = tensors[name] { tensors[name] = try RopeRows.toRotateHalf(t, heads: heads) }
                }
            }
        }
        c.ropeStyle = .rotateHalf
        config = c
    }
}

/// The order in which every model's tensors are laid out in one flat buffer, and the tensor
/// ranges (`segments`, for TIES' per-tensor trimming).
public struct MergeLayout: Equatable, Sendable {
    /// Tensor names in buffer order (the model's parameter order when known, else sorted).
    public let names: [String]
    /// Their shapes.
    public let shapes: [[Int]]
    /// Their ranges in the flat buffer.
    public let segments: [Range<Int>]
    /// Total parameters.
    public var count: Int { segments.last?.upperBound ?? 0 }

    /// The layout of `reference` (the base, or the first model).
    public init(reference: MergeInputModel) {
        let order: [String]
        if let c = reference.config {
            order = ParameterLayout(config: c).entries.map(\.name).filter { reference.tensors[$0] != nil }
        } else {
            order = reference.tensors.keys.sorted()
        }
        names = order
        shapes = order.map { reference.tensors[$0]!.shape }
        var offset = 0
        segments = shapes.map { s in
            let n = s.reduce(1, *)
            defer { offset += n }
            return offset..<(offset + n)
        }
    }

    /// Throws unless `model` has the architecture of `reference`: the same config (all but
    /// the context length) when both record one, and the same tensor names and shapes.
    public func check(_ model: MergeInputModel, against reference: MergeInputModel) throws {
        let subject = "model `\(model.path)`"
        let remedy = "Merge models of one architecture (same layers, widths, vocabulary, tied embeddings, biases)."
        if let a = reference.config, let b = model.config {
            let fields: [(String, String, String)] = [
                ("vocab_size", "\(a.vocabSize)", "\(b.vocabSize)"), ("hidden_size", "\(a.dim)", "\(b.dim)"),
                ("num_hidden_layers", "\(a.layers)", "\(b.layers)"),
                ("num_attention_heads", "\(a.heads)", "\(b.heads)"),
                ("num_key_value_heads", "\(a.kvHeads)", "\(b.kvHeads)"),
                ("intermediate_size", "\(a.ffnDim)", "\(b.ffnDim)"),
                ("tie_word_embeddings", "\(a.tiedEmbeddings)", "\(b.tiedEmbeddings)"),
                ("attention bias (qkv_bias)", "\(a.qkvBias)", "\(b.qkvBias)"),
                ("rope_theta", "\(a.ropeTheta)", "\(b.ropeTheta)"), ("rms_norm_eps", "\(a.normEps)", "\(b.normEps)"),
                ("RoPE style", a.ropeStyle.rawValue, b.ropeStyle.rawValue),
            ]
            for (name, x, y) in fields where x != y {
                throw MergeError(subject, expected: "\(name) \(x) as in `\(reference.path)`", found: "\(name) \(y)",
                                 remedy: remedy)
            }
        }
        for (name, shape) in zip(names, shapes) {
            guard let t = model.tensors[name] else {
                throw MergeError(subject, expected: "tensor `\(name)` (as in `\(reference.path)`)", found: "no such tensor",
                                 remedy: remedy)
            }
            guard t.shape == shape else {
                throw MergeError(subject, expected: "`\(name)` of shape \(shape) (as in `\(reference.path)`)",
                                 found: "shape \(t.shape)", remedy: remedy)
            }
        }
        let known = Set(names)
        if let extra = model.tensors.keys.sorted().first(where: { !known.contains($0) }) {
            throw MergeError(subject, expected: "only the tensors of `\(reference.path)`", found: "an extra tensor `\(extra)`",
                             remedy: remedy)
        }
    }

    /// The model's tensors in layout order as one flat buffer (checked with `check` first).
    public func flatten(_ model: MergeInputModel) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(count)
        for name in names { out += model.tensors[name]!.data }
        return out
    }

    /// Named tensors cut from a flat buffer in this layout.
    public func tensors(from flat: [Float]) -> [String: Tensor] {
        precondition(flat.count == count, "MergeLayout: \(flat.count) values for a layout of \(count)")
        var out: [String: Tensor] = [:]
        for (i, name) in names.enumerated() { out[name] = Tensor(shape: shapes[i], data: Array(flat[segments[i]])) }
        return out
    }
}
