import Layers
import Tensors

extension Model {
    /// Runs the forward pass and copies out residual-stream hidden states, read-only:
    /// `depth` d is the residual after d blocks (0 = the embeddings, `config.layers` =
    /// the input of the final norm, the state the logits are read from).
    ///
    /// - Returns: the logits (B·T, V), valid until the next forward on this model
    ///   (as `forward`'s), and one (B·T, C) row-major array per requested depth.
    public func forwardWithHidden(_ batch: TokenBatch, depths: [Int]) -> (logits: LogitsBlock, hidden: [[Float]]) {
        for d in depths {
            precondition(d >= 0 && d <= config.layers, "forwardWithHidden: depth \(d) outside 0…\(config.layers)")
        }
        let logits = forward(batch)
        guard let a = activations else { preconditionFailure("forwardWithHidden: no activations after forward") }
        let count = batch.batchSize * batch.seqLen * config.dim
        let hidden = depths.map { d -> [Float] in
            let src = d < config.layers ? a.blocks[d].input : a.output
            return Array(UnsafeBufferPointer(start: src, count: count))
        }
        return (logits, hidden)
    }
}
