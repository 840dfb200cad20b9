import Layers
import Tensors

/// Everything the forward pass keeps for the backward pass, for one (B, T),
/// carved out of one buffer, plus the backward scratch.
final class Activations {
    /// Saved tensors of one decoder block. N = B·T rows.
    struct Block {
        let input: UnsafeMutablePointer<Float>      // (N, C) residual entering the block
        let norm1: UnsafeMutablePointer<Float>      // (N, C)
        let rstd1: UnsafeMutablePointer<Float>      // (N)
        let q: UnsafeMutablePointer<Float>          // (N, H·hd), rotated
        let k: UnsafeMutablePointer<Float>          // (N, Hkv·hd), rotated
        let v: UnsafeMutablePointer<Float>          // (N, Hkv·hd)
        let probs: UnsafeMutablePointer<Float>      // (B, H, T, T)
        let attn: UnsafeMutablePointer<Float>       // (N, H·hd) attention output before o_proj
        let mid: UnsafeMutablePointer<Float>        // (N, C) residual after attention
        let norm2: UnsafeMutablePointer<Float>      // (N, C)
        let rstd2: UnsafeMutablePointer<Float>      // (N)
        let gate: UnsafeMutablePointer<Float>       // (N, F)
        let up: UnsafeMutablePointer<Float>         // (N, F)
        let hidden: UnsafeMutablePointer<Float>     // (N, F) silu(gate)·up
    }

    let batch: Int, seqLen: Int
    let blocks: [Block]
    let output: UnsafeMutablePointer<Float>     // (N, C) residual after the last block
    let finalNorm: UnsafeMutablePointer<Float>  // (N, C)
    let finalRstd: UnsafeMutablePointer<Float>  // (N)
    let logits: UnsafeMutablePointer<Float>     // (N, V)
    let positions: [Int32]                      // (N) position of each row
    let attentionShape: AttentionShape
    // Backward scratch.
    let dResidual: UnsafeMutablePointer<Float>  // (N, C)
    let dNorm: UnsafeMutablePointer<Float>      // (N, C)
    let dAttn: UnsafeMutablePointer<Float>      // (N, H·hd)
    let dQ: UnsafeMutablePointer<Float>, dK: UnsafeMutablePointer<Float>, dV: UnsafeMutablePointer<Float>
    let dHidden: UnsafeMutablePointer<Float>, dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>
    let attnScratch: UnsafeMutablePointer<Float>
    private let storage: FlatBuffer

    init(config c: ModelConfig, batch: Int, seqLen: Int) {
        self.batch = batch; self.seqLen = seqLen
        let N = batch * seqLen, C = c.dim, hd = c.headDim
        let qd = c.heads * hd, kvd = c.kvHeads * hd, F = c.ffnDim
        let shape = AttentionShape(batch: batch, seqLen: seqLen, heads: c.heads, kvHeads: c.kvHeads, headDim: hd)
        attentionShape = shape
        let blockResidual: Int = 4 * N * C + 2 * N
        let blockAttention: Int = 2 * N * qd + 2 * N * kvd + shape.probsCount
        let perBlock: Int = blockResidual + blockAttention + 3 * N * F
        let head: Int = 2 * N * C + N + N * c.vocabSize
        let scratch: Int = 2 * N * C + 2 * N * qd + 2 * N * kvd + 3 * N * F + shape.scratchCount
        let total: Int = c.layers * perBlock + head + scratch
        storage = FlatBuffer(count: total)
        var cursor = storage.pointer
        func take(_ n: Int) -> UnsafeMutablePointer<Float> { defer { cursor += n }; return cursor }
        var blocks: [Block] = []
        for _ in 0..<c.layers {
            blocks.append(Block(input: take(N * C), norm1: take(N * C), rstd1: take(N), q: take(N * qd),
                                k: take(N * kvd), v: take(N * kvd), probs: take(shape.probsCount),
                                attn: take(N * qd), mid: take(N * C), norm2: take(N * C), rstd2: take(N),
                                gate: take(N * F), up: take(N * F), hidden: take(N * F)))
        }
        self.blocks = blocks
        output = take(N * C); finalNorm = take(N * C); finalRstd = take(N); logits = take(N * c.vocabSize)
        dResidual = take(N * C); dNorm = take(N * C); dAttn = take(N * qd); dQ = take(N * qd)
        dK = take(N * kvd); dV = take(N * kvd); dHidden = take(N * F); dGate = take(N * F); dUp = take(N * F)
        attnScratch = take(shape.scratchCount)
        precondition(cursor - storage.pointer <= total, "Activations: layout overflow")
        positions = (0..<N).map { Int32($0 % seqLen) }
    }
}
