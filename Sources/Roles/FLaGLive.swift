import Configs
import Foundation
import Objectives
import Transformer

/// The trained FLaG head a job scores its rollouts with (`flag.enable`):
/// loaded once per rank, checked against the model it reads.
public struct FLaGLive {
    /// The head (kind `flag` or `mlp`) with its standardiser.
    public let head: FLaGHeadFile
    /// Residual depth of the hidden-state features (0…layers).
    public let depth: Int
    /// The `flag` section.
    public let settings: FLaGConfig

    /// The head of `config.flag`, nil when `flag.enable` is false. Throws when the
    /// file is unreadable or damaged, its input size is not 3·dim + 7 of `model`,
    /// or it records a different `layer` than `config.layer`.
    public init?(config: FLaGConfig, model: Transformer.ModelConfig) throws {
        guard config.enable else { return nil }
        let depth = config.layer < 0 ? model.layers : config.layer
        guard depth <= model.layers else {
            throw ModelInputError(description: "flag.layer \(config.layer): expected -1 or 0…\(model.layers) for this model")
        }
        let file = try FLaGHeadFile.read(path: config.head)
        let expected = 3 * model.dim + FLaGTokenFeatures.count
        guard file.standardizer.mean.count == expected else {
            throw ModelInputError(description: "flag.head \(config.head): expected a head on \(expected) features (3·\(model.dim) hidden + "
                                  + "\(FLaGTokenFeatures.count) token) for this model, found one on \(file.standardizer.mean.count); "
                                  + "train it on `detect features` of this model without --token-only")
        }
        if let trained = file.layer, (trained < 0 ? model.layers : trained) != depth {
            throw ModelInputError(description: "flag.head \(config.head): expected a head trained on features of residual depth \(depth) "
                                  + "(flag.layer \(config.layer)), found one trained at --layer \(trained); set flag.layer=\(trained) "
                                  + "or retrain the head on features of this layer")
        }
        head = file; self.depth = depth; settings = config
    }

    /// S = log p(correct) − log p(wrong) of one answer's features. Token features are
    /// rounded to Float first, as `detect features` stores them for training.
    public func score(_ f: FLaGFeatureVector) -> Double {
        let row = FLaGDataset(features: f.representation.map(Double.init) + f.token.map { Double(Float($0)) }, labels: [0],
                              groups: [""], representationDim: f.representation.count, tokenDim: f.token.count)
        return head.scores(row)[0]
    }
}
