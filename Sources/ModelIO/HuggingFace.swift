import Foundation
import Tensors
import Transformer

/// Writes a Hugging Face checkpoint folder: `model.safetensors` and a
/// `config.json` that transformers' `LlamaForCausalLM` (or `Qwen2ForCausalLM`
/// when the model has Q/K/V biases) loads.
///
/// The exported weights always use HF's rotate-half RoPE: when
/// `config.ropeStyle` is `.interleaved`, the Q and K rows (and biases) are
/// reordered with `RopeRows.toRotateHalf`. `tensors` must hold exactly the
/// parameters of `config` under their HF names and shapes (a `lm_head.weight`
/// next to tied embeddings is dropped). The folder is created if needed.
/// `tokenIDs` (bos/eos/pad) go into `config.json` so transformers and
/// `ModelLoading` know when to stop; without them the folder has no EOS.
public func exportHuggingFace(config: ModelConfig, tensors: [String: Tensor], to directory: String,
                              dtype: SafetensorsDType = .f32, tokenIDs: HuggingFaceTokenIDs? = nil) throws {
    do { try config.validate() } catch {
        throw ModelIOError(.malformed, file: directory, expected: "a valid model config", found: "\(error)",
                           remedy: "Fix the model configuration before exporting.")
    }
    var out: [String: Tensor] = [:]
    for (name, _, shape) in parameterNames(config) {
        guard let t = tensors[name] else {
            throw ModelIOError(.missing, file: directory, expected: "parameter '\(name)' to export",
                               found: "no such tensor among the \(tensors.count) given",
                               remedy: "Pass every parameter of the model, named as in ParameterLayout.")
        }
        guard t.shape == shape else {
            throw ModelIOError(.shapeMismatch, file: directory, expected: "'\(name)' of shape \(shape)",
                               found: "shape \(t.shape)", remedy: "Export tensors that match the model config.")
        }
        out[name] = t
    }
    for name in tensors.keys where out[name] == nil && !(name == "lm_head.weight" && config.tiedEmbeddings) {
        throw ModelIOError(.malformed, file: directory, expected: "only the parameters of the model config",
                           found: "an extra tensor '\(name)'", remedy: "Remove it, or fix the model config.")
    }
    if config.ropeStyle == .interleaved {
        for l in 0 ..< config.layers {
            let p = "model.layers.\(l).self_attn."
            for (proj, heads) in [("q_proj", config.heads), ("k_proj", config.kvHeads)] {
                for kind in ["weight", "bias"] {
                    if let t = out[p + proj + "." + kind] {
                        out[p + proj + "." + kind] = try RopeRows.toRotateHalf(t, heads: heads)
                    }
                }
            }
        }
    }
    do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
        throw ModelIOError(.writeFailed, file: directory, expected: "a writable folder",
                           found: "it could not be created (\(error.localizedDescription))",
                           remedy: "Choose a folder you can write to.")
    }
    try writeSafetensors(out, to: directory + "/model.safetensors", dtype: dtype, metadata: ["format": "pt"])
    try writeConfigJSON(config, dtype: dtype, tokenIDs: tokenIDs, to: directory + "/config.json")
}

/// The config.json dictionary for `config` (rotate-half RoPE is implied by HF).
func huggingFaceConfig(_ config: ModelConfig, dtype: SafetensorsDType) -> [String: Any] {
    // Print Floats by their shortest decimal (1e-05, not 9.99999974e-06).
    func number(_ f: Float) -> Double { Double("\(f)") ?? Double(f) }
    let qwen = config.qkvBias
    var json: [String: Any] = [
        "architectures": [qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"],
        "model_type": qwen ? "qwen2" : "llama",
        "hidden_size": config.dim,
        "intermediate_size": config.ffnDim,
        "num_attention_heads": config.heads,
        "num_key_value_heads": config.kvHeads,
        "num_hidden_layers": config.layers,
        "vocab_size": config.vocabSize,
        "rms_norm_eps": number(config.normEps),
        "rope_theta": number(config.ropeTheta),
        "max_position_embeddings": config.maxSeqLen,
        "tie_word_embeddings": config.tiedEmbeddings,
        "torch_dtype": dtype.torchName,
        "hidden_act": "silu",
        "head_dim": config.headDim,
        "use_cache": true,
    ]
    if !qwen {
        json["attention_bias"] = false
        json["mlp_bias"] = false
    }
    return json
}

private func writeConfigJSON(_ config: ModelConfig, dtype: SafetensorsDType, tokenIDs: HuggingFaceTokenIDs?,
                             to path: String) throws {
    var json = huggingFaceConfig(config, dtype: dtype)
    json.merge(tokenIDs?.json ?? [:]) { _, new in new }
    do {
        let data = try JSONSerialization.data(withJSONObject: json,
                                              options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw ModelIOError(.writeFailed, file: path, expected: "to write config.json",
                           found: "an error (\(error.localizedDescription))",
                           remedy: "Check that the folder is writable and the disk has space.")
    }
}

/// Reads a Hugging Face Llama/Qwen2 checkpoint folder: `config.json` and
/// `model.safetensors` (or the shards listed in `model.safetensors.index.json`).
///
/// Returns the config (rotate-half RoPE) and the model's parameters as fp32.
/// Tensors the config does not use (e.g. a tied `lm_head.weight`) are dropped.
public func importHuggingFace(directory: String) throws -> (config: ModelConfig, tensors: [String: Tensor]) {
    let config = try readHuggingFaceConfig(directory + "/config.json")
    let single = directory + "/model.safetensors"
    var files: [String] = [single]
    if !FileManager.default.fileExists(atPath: single) {
        let indexPath = directory + "/model.safetensors.index.json"
        if FileManager.default.fileExists(atPath: indexPath) {
            files = try shardFiles(indexPath, directory: directory)
        }
    }
    var sources: [String: SafetensorsFile] = [:]
    var owner: [String: String] = [:]
    for path in files {
        let file = try SafetensorsFile(path: path)
        sources[path] = file
        for e in file.entries { owner[e.name] = path }
    }
    // Each block has at least 9 tensors; a larger num_hidden_layers cannot be satisfied.
    guard config.layers <= owner.count / 9 else {
        throw ModelIOError(.missing, file: files.joined(separator: ", "),
                           expected: "9 tensors for each of the \(config.layers) layers in config.json",
                           found: "only \(owner.count) tensors", remedy: "Use a complete Llama/Qwen2 checkpoint.")
    }
    var tensors: [String: Tensor] = [:]
    for (name, _, shape) in parameterNames(config) {
        guard let path = owner[name], let file = sources[path], let entry = file.entry(named: name) else {
            throw ModelIOError(.missing, file: files.joined(separator: ", "),
                               expected: "tensor '\(name)' required by config.json",
                               found: "no such tensor", remedy: "Use a complete Llama/Qwen2 checkpoint.")
        }
        guard entry.shape == shape else {
            throw ModelIOError(.shapeMismatch, file: path, expected: "'\(name)' of shape \(shape) (from config.json)",
                               found: "shape \(entry.shape)",
                               remedy: "The weights do not match config.json; re-export the checkpoint.")
        }
        tensors[name] = try file.tensor(named: name)
    }
    return (config, tensors)
}

private func shardFiles(_ indexPath: String, directory: String) throws -> [String] {
    let data = try mapFile(indexPath, kind: "safetensors index")
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let map = object["weight_map"] as? [String: String] else {
        throw ModelIOError(.malformed, file: indexPath, expected: "a JSON object with a 'weight_map' of strings",
                           found: "something else", remedy: "Re-save the checkpoint with transformers.")
    }
    let names = Set(map.values)
    for n in names where n.contains("/") || n.hasPrefix(".") {
        throw ModelIOError(.malformed, file: indexPath, expected: "shard file names inside the folder",
                           found: "'\(n)'", remedy: "Re-save the checkpoint with transformers.")
    }
    return names.sorted().map { directory + "/" + $0 }
}

/// Parses an HF `config.json` of model_type `llama` or `qwen2` into a `ModelConfig`.
public func readHuggingFaceConfig(_ path: String) throws -> ModelConfig {
    let data = try mapFile(path, kind: "config.json")
    guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
        throw ModelIOError(.wrongFormat, file: path, expected: "a JSON object", found: "invalid JSON or not an object",
                           remedy: "Use the config.json saved with the model by transformers.")
    }
    func fail(_ key: String, _ expected: String) -> ModelIOError {
        ModelIOError(.malformed, file: path, expected: "'\(key)' to be \(expected)",
                     found: json[key].map { "\($0)" } ?? "no such key",
                     remedy: "Use the config.json saved with the model by transformers.")
    }
    func int(_ key: String, default value: Int? = nil) throws -> Int {
        guard let raw = json[key], !(raw is NSNull) else {
            if let value { return value }
            throw fail(key, "a positive integer")
        }
        guard let n = raw as? NSNumber, let i = Int(exactly: n.doubleValue), i > 0, i <= 1 << 28 else {
            throw fail(key, "a positive integer")
        }
        return i
    }
    func float(_ key: String, default value: Float) throws -> Float {
        guard let raw = json[key], !(raw is NSNull) else { return value }
        guard let n = raw as? NSNumber, n.doubleValue.isFinite, n.doubleValue > 0 else { throw fail(key, "a positive number") }
        return n.floatValue
    }
    let modelType = json["model_type"] as? String ?? ""
    guard modelType == "llama" || modelType == "qwen2" else {
        throw fail("model_type", "'llama' or 'qwen2'")
    }
    if let act = json["hidden_act"], (act as? String) != "silu" { throw fail("hidden_act", "'silu'") }
    if let scaling = json["rope_scaling"], !(scaling is NSNull) { throw fail("rope_scaling", "null (no RoPE scaling)") }
    // transformers ≥ 5 writes `rope_parameters: {rope_theta, rope_type}` instead of `rope_theta`.
    var ropeTheta = try float("rope_theta", default: 10000)
    if json["rope_theta"] == nil, let rope = json["rope_parameters"], !(rope is NSNull) {
        guard let parameters = rope as? [String: Any], (parameters["rope_type"] as? String ?? "default") == "default",
              let theta = parameters["rope_theta"] as? NSNumber, theta.doubleValue.isFinite, theta.doubleValue > 0 else {
            throw fail("rope_parameters", "{\"rope_type\": \"default\", \"rope_theta\": a positive number} (no RoPE scaling)")
        }
        ropeTheta = theta.floatValue
    }
    let heads = try int("num_attention_heads")
    let tied: Bool
    if let t = json["tie_word_embeddings"], !(t is NSNull) {
        guard let b = t as? Bool else { throw fail("tie_word_embeddings", "true or false") }
        tied = b
    } else {
        tied = false
    }
    // Llama's attention_bias also adds an o_proj bias, which this model does not have.
    if modelType == "llama", json["attention_bias"] as? Bool == true { throw fail("attention_bias", "false") }
    if json["mlp_bias"] as? Bool == true { throw fail("mlp_bias", "false") }
    let bias = modelType == "qwen2"
    let config = ModelConfig(
        vocabSize: try int("vocab_size"), dim: try int("hidden_size"), layers: try int("num_hidden_layers"),
        heads: heads, kvHeads: try int("num_key_value_heads", default: heads),
        ffnDim: try int("intermediate_size"), maxSeqLen: try int("max_position_embeddings", default: 2048),
        ropeTheta: ropeTheta, ropeStyle: .rotateHalf,
        normEps: try float("rms_norm_eps", default: 1e-6), tiedEmbeddings: tied, qkvBias: bias)
    do { try config.validate() } catch {
        throw ModelIOError(.malformed, file: path, expected: "a consistent model shape", found: "\(error)",
                           remedy: "Use the config.json saved with the model by transformers.")
    }
    if json["head_dim"] != nil, try int("head_dim") != config.headDim {
        throw fail("head_dim", "hidden_size / num_attention_heads = \(config.headDim)")
    }
    return config
}
