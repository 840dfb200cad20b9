import Foundation
import Tensors
@testable import Transformer

/// Models and reference logits shared by the decoding tests.
enum DecodeTestModels {
    /// A model of `style` (tied embeddings for interleaved RoPE, QKV bias for
    /// rotate-half) with weights ×5 the default init, so the logits are not
    /// near-uniform and decode errors show.
    static func scaled(_ style: RopeStyle, dim: Int, ffn: Int, maxSeqLen: Int, seed: UInt64) throws -> Model {
        let cfg = ModelConfig(vocabSize: 50, dim: dim, layers: 2, heads: 4, kvHeads: 2, ffnDim: ffn, maxSeqLen: maxSeqLen,
                              ropeStyle: style, tiedEmbeddings: style == .interleaved, qkvBias: style == .rotateHalf)
        let m = try Model(config: cfg)
        m.initialize(seed: seed)
        VectorMath.scale(m.parameters.pointer, m.parameters.count, by: 5)
        return m
    }

    /// Every position's logits from the full (uncached) forward.
    static func fullLogits(_ model: Model, _ seq: [Int32]) -> [[Float]] {
        let block = model.forward(TokenBatch(batchSize: 1, seqLen: seq.count, tokens: seq))
        return (0..<seq.count).map { Array(UnsafeBufferPointer(start: block.row($0), count: block.vocab)) }
    }
}
