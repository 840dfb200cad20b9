import Foundation
import Transformer

/// A whole-model reference case written by Tests/Fixtures/make_fixtures.py.
struct ReferenceFixture: Decodable {
    struct Batch: Decodable { let batchSize: Int; let seqLen: Int; let tokens: [Double]; let targets: [Double]; let weights: [Double] }
    struct Optimizer: Decodable {
        let lr: Double, beta1: Double, beta2: Double, eps: Double, weightDecay: Double, maxNorm: Double
        let warmup: Int, total: Int, minRatio: Double, steps: Int
        let losses: [Double], gradNorms: [Double], finalLoss: Double
    }
    let name: String
    let config: ModelConfig
    let batch: Batch
    let parameters: [String: [Float]]
    let logits: [Double]
    let loss: Double
    let gradients: [String: [Double]]
    let adamw: Optimizer

    /// Tests/Fixtures, found from this file's path so `swift test` works from any directory.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func load(_ name: String) throws -> ReferenceFixture {
        let url = directory.appendingPathComponent(name + ".json")
        return try JSONDecoder().decode(ReferenceFixture.self, from: Data(contentsOf: url))
    }
}
