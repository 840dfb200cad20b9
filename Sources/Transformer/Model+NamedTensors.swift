import Tensors

/// A named-tensor set that does not fit a model's layout.
public struct ParameterLoadError: Error, CustomStringConvertible {
    /// What is wrong and what to do.
    public let description: String
}

extension Model {
    /// Every parameter as a named tensor (Hugging Face names and shapes).
    public func namedTensors() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for e in layout.entries { out[e.name] = Tensor(shape: e.shape, data: parameters.slice(e.range)) }
        return out
    }

    /// Copies `tensors` into the parameters. Every layout entry must be present
    /// with its exact shape; a tied model ignores `lm_head.weight` if given;
    /// any other extra name is an error (it would be silently dropped otherwise).
    public func load(_ tensors: [String: Tensor]) throws {
        for e in layout.entries {
            guard let t = tensors[e.name] else {
                throw ParameterLoadError(description: "missing parameter \(e.name) (expected shape \(e.shape)); the file does not match the model config")
            }
            guard t.shape == e.shape else {
                throw ParameterLoadError(description: "parameter \(e.name): expected shape \(e.shape), found \(t.shape); check the model config against the file")
            }
            parameters.write(t.data, at: e.offset)
        }
        let extra = Set(tensors.keys).subtracting(layout.entries.map(\.name))
            .subtracting(config.tiedEmbeddings ? ["lm_head.weight"] : [])
        if let name = extra.sorted().first {
            throw ParameterLoadError(description: "unexpected parameter \(name) (and \(extra.count - 1) more) not in the model layout; check the model config (layers, qkvBias, tiedEmbeddings)")
        }
    }
}

extension Model {
    /// `count` layer indices of an `of`-layer model, evenly spaced and
    /// including the first and the last (DistilBERT-style students).
    public static func evenlySpacedLayers(keep count: Int, of layers: Int) -> [Int] {
        precondition(count >= 1 && count <= layers, "keep \(count) of \(layers) layers")
        if count == 1 { return [0] }
        return (0..<count).map { i in Int((Double(i) * Double(layers - 1) / Double(count - 1)).rounded()) }
    }

    /// A new model made of the layers `indices` of this one, in that order,
    /// with the same embedding, final norm and head: a smaller student that
    /// starts from the teacher's weights.
    public func keepingLayers(_ indices: [Int]) throws -> Model {
        guard !indices.isEmpty, indices.allSatisfy({ $0 >= 0 && $0 < config.layers }) else {
            throw ParameterLoadError(description: "layers to keep: expected indices in 0..<\(config.layers), found \(indices)")
        }
        var smaller = config
        smaller.layers = indices.count
        let out = try Model(config: smaller)
        var tensors: [String: Tensor] = [:]
        for (name, t) in namedTensors() {
            guard name.hasPrefix("model.layers.") else { tensors[name] = t; continue }
            let rest = name.dropFirst("model.layers.".count)
            guard let dot = rest.firstIndex(of: "."), let old = Int(rest[..<dot]),
                  let new = indices.firstIndex(of: old) else { continue }
            tensors["model.layers.\(new)" + rest[dot...]] = t
        }
        try out.load(tensors)
        return out
    }
}
