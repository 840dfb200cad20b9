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
