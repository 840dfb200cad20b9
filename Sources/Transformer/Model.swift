import Foundation
import Layers
import Tensors

/// A batch of token sequences of equal length: tokens (B, T), row-major.
public struct TokenBatch: Sendable {
    /// Sequences.
    public let batchSize: Int
    /// Tokens per sequence.
    public let seqLen: Int
    /// B·T token ids.
    public let tokens: [Int32]

    /// `tokens.count` must equal `batchSize · seqLen`.
    public init(batchSize: Int, seqLen: Int, tokens: [Int32]) {
        precondition(tokens.count == batchSize * seqLen, "TokenBatch: \(tokens.count) tokens for \(batchSize)×\(seqLen)")
        self.batchSize = batchSize; self.seqLen = seqLen; self.tokens = tokens
    }
}

/// A Llama/Qwen2-family decoder whose parameters and gradients are each one
/// flat buffer addressed through `layout`. The forward reads as a list of
/// layer calls; the backward is the same list reversed.
public final class Model {
    /// Shape of the network.
    public let config: ModelConfig
    /// Where each named parameter lives in `parameters` and `gradients`.
    public let layout: ParameterLayout
    /// All parameters.
    public let parameters: FlatBuffer
    /// ∂loss/∂parameters, accumulated by `forwardBackward` until `zeroGradients()`.
    public let gradients: FlatBuffer
    let rope: RopeTable
    let weights: [BlockOffsets]
    let embedOffset: Int, finalNormOffset: Int, headOffset: Int
    var activations: Activations?
    var decodeWorkspace: DecodeWorkspace?
    var cachedGenerationKV: KVCache?

    /// Offsets of one block's parameters.
    struct BlockOffsets {
        let norm1, wq, wk, wv, wo, norm2, wGate, wUp, wDown: Int
        let bq, bk, bv: Int?
    }

    /// A model with zero parameters (fill them with `initialize(seed:)` or `load(_:)`).
    public init(config: ModelConfig) throws {
        try config.validate()
        self.config = config
        layout = ParameterLayout(config: config)
        parameters = FlatBuffer(count: layout.totalCount)
        gradients = FlatBuffer(count: layout.totalCount)
        rope = RopeTable(headDim: config.headDim, maxPositions: config.maxSeqLen, theta: config.ropeTheta,
                         interleaved: config.ropeStyle == .interleaved)
        let L = layout
        weights = (0..<config.layers).map { l in
            let p = "model.layers.\(l)."
            return BlockOffsets(
                norm1: L[p + "input_layernorm.weight"].offset, wq: L[p + "self_attn.q_proj.weight"].offset,
                wk: L[p + "self_attn.k_proj.weight"].offset, wv: L[p + "self_attn.v_proj.weight"].offset,
                wo: L[p + "self_attn.o_proj.weight"].offset, norm2: L[p + "post_attention_layernorm.weight"].offset,
                wGate: L[p + "mlp.gate_proj.weight"].offset, wUp: L[p + "mlp.up_proj.weight"].offset,
                wDown: L[p + "mlp.down_proj.weight"].offset,
                bq: L.entry(p + "self_attn.q_proj.bias")?.offset, bk: L.entry(p + "self_attn.k_proj.bias")?.offset,
                bv: L.entry(p + "self_attn.v_proj.bias")?.offset)
        }
        // Decoding fuses the Q/K/V and gate/up projections into single GEMMs,
        // which relies on these weights being adjacent in the layout.
        for (l, o) in weights.enumerated() {
            let qd = config.heads * config.headDim * config.dim, kvd = config.kvHeads * config.headDim * config.dim
            precondition(o.wk == o.wq + qd && o.wv == o.wk + kvd && o.wUp == o.wGate + config.ffnDim * config.dim,
                         "layer \(l): Q/K/V or gate/up weights are not adjacent in the layout")
            if let bq = o.bq, let bk = o.bk, let bv = o.bv {
                precondition(bk == bq + config.heads * config.headDim && bv == bk + config.kvHeads * config.headDim,
                             "layer \(l): Q/K/V biases are not adjacent in the layout")
            }
        }
        embedOffset = L["model.embed_tokens.weight"].offset
        finalNormOffset = L["model.norm.weight"].offset
        headOffset = config.tiedEmbeddings ? embedOffset : L["lm_head.weight"].offset
    }

    /// GPT-2-style initialisation: N(0, 0.02) matrices, output projections of
    /// each block scaled by 1/√(2·layers), unit norms, zero biases.
    public func initialize(seed: UInt64) {
        var rng = Rng(seed: seed)
        let residualScale = 1 / (2 * Double(config.layers)).squareRoot()
        for e in layout.entries {
            let p = parameters.pointer + e.offset
            if e.shape.count == 1 {
                let value: Float = e.name.hasSuffix("norm.weight") ? 1 : 0
                p.update(repeating: value, count: e.count)
                continue
            }
            let isOutput = e.name.hasSuffix("o_proj.weight") || e.name.hasSuffix("down_proj.weight")
            let std = 0.02 * (isOutput ? residualScale : 1)
            for i in 0..<e.count { p[i] = Float(rng.normal() * std) }
        }
    }

    /// Sets all gradients to zero.
    public func zeroGradients() { gradients.zero() }

    /// Pointer to a parameter.
    @inline(__always) func w(_ offset: Int) -> UnsafeMutablePointer<Float> { parameters.pointer + offset }
    /// Pointer to a gradient.
    @inline(__always) func g(_ offset: Int) -> UnsafeMutablePointer<Float> { gradients.pointer + offset }

    func activations(batch: Int, seqLen: Int) -> Activations {
        precondition(seqLen <= config.maxSeqLen, "sequence length \(seqLen) exceeds model.maxSeqLen \(config.maxSeqLen)")
        if let a = activations, a.batch == batch, a.seqLen == seqLen { return a }
        activations = nil  // free the old one before allocating the new one
        let a = Activations(config: config, batch: batch, seqLen: seqLen)
        activations = a
        return a
    }

    /// Runs the forward pass and returns the logits (B·T, V). The block stays
    /// valid until the next forward call on this model.
    @discardableResult
    public func forward(_ batch: TokenBatch) -> LogitsBlock {
        let c = config, B = batch.batchSize, T = batch.seqLen, N = B * T
        let C = c.dim, hd = c.headDim, qd = c.heads * hd, kvd = c.kvHeads * hd, F = c.ffnDim
        for t in batch.tokens { precondition(t >= 0 && Int(t) < c.vocabSize, "token \(t) outside vocabulary of \(c.vocabSize)") }
        let a = activations(batch: B, seqLen: T)
        batch.tokens.withUnsafeBufferPointer { tok in
            Embedding.forward(out: a.blocks.first?.input ?? a.output, tokens: tok.baseAddress!,
                              table: w(embedOffset), rows: N, channels: C)
        }
        a.positions.withUnsafeBufferPointer { pos in
            for l in 0..<c.layers {
                let s = a.blocks[l], o = weights[l]
                let out = l + 1 < c.layers ? a.blocks[l + 1].input : a.output
                RMSNorm.forward(out: s.norm1, rstd: s.rstd1, x: s.input, weight: w(o.norm1), rows: N, channels: C, eps: c.normEps)
                Linear.forward(out: s.q, x: s.norm1, weight: w(o.wq), bias: o.bq.map { w($0) }, rows: N, inChannels: C, outChannels: qd)
                Linear.forward(out: s.k, x: s.norm1, weight: w(o.wk), bias: o.bk.map { w($0) }, rows: N, inChannels: C, outChannels: kvd)
                Linear.forward(out: s.v, x: s.norm1, weight: w(o.wv), bias: o.bv.map { w($0) }, rows: N, inChannels: C, outChannels: kvd)
                rope.apply(s.q, rows: N, heads: c.heads, positions: pos.baseAddress!)
                rope.apply(s.k, rows: N, heads: c.kvHeads, positions: pos.baseAddress!)
                Attention.forward(out: s.attn, probs: s.probs, q: s.q, k: s.k, v: s.v, shape: a.attentionShape)
                s.mid.update(from: s.input, count: N * C)
                Linear.forward(out: s.mid, x: s.attn, weight: w(o.wo), bias: nil, rows: N, inChannels: qd, outChannels: C, accumulate: true)
                RMSNorm.forward(out: s.norm2, rstd: s.rstd2, x: s.mid, weight: w(o.norm2), rows: N, channels: C, eps: c.normEps)
                Linear.forward(out: s.gate, x: s.norm2, weight: w(o.wGate), bias: nil, rows: N, inChannels: C, outChannels: F)
                Linear.forward(out: s.up, x: s.norm2, weight: w(o.wUp), bias: nil, rows: N, inChannels: C, outChannels: F)
                SwiGLU.forward(out: s.hidden, gate: s.gate, up: s.up, count: N * F)
                out.update(from: s.mid, count: N * C)
                Linear.forward(out: out, x: s.hidden, weight: w(o.wDown), bias: nil, rows: N, inChannels: F, outChannels: C, accumulate: true)
            }
        }
        RMSNorm.forward(out: a.finalNorm, rstd: a.finalRstd, x: a.output, weight: w(finalNormOffset), rows: N, channels: C, eps: c.normEps)
        Linear.forward(out: a.logits, x: a.finalNorm, weight: w(headOffset), bias: nil, rows: N, inChannels: C, outChannels: c.vocabSize)
        return LogitsBlock(rows: N, vocab: c.vocabSize, data: a.logits)
    }

    /// Forward, the loss on the logits, then backward; gradients accumulate into
    /// `gradients`. Returns the loss value. The loss overwrites the logits with dlogits.
    @discardableResult
    public func forwardBackward(batch: TokenBatch, loss: TokenLoss) -> Double {
        let block = forward(batch)
        let value = loss(block)
        backward(batch)
        return value
    }

    /// Backward from the dlogits left in the logits buffer by the loss.
    func backward(_ batch: TokenBatch) {
        let c = config, N = batch.batchSize * batch.seqLen
        let C = c.dim, hd = c.headDim, qd = c.heads * hd, kvd = c.kvHeads * hd, F = c.ffnDim
        guard let a = activations, a.batch == batch.batchSize, a.seqLen == batch.seqLen else {
            preconditionFailure("backward without a matching forward")
        }
        let dres = a.dResidual, dnorm = a.dNorm
        Linear.backward(dx: dnorm, accumulateInput: false, dweight: g(headOffset), dbias: nil, dout: a.logits,
                        x: a.finalNorm, weight: w(headOffset), rows: N, inChannels: C, outChannels: c.vocabSize)
        dres.update(repeating: 0, count: N * C)
        RMSNorm.backward(dx: dres, dweight: g(finalNormOffset), dout: dnorm, x: a.output, weight: w(finalNormOffset),
                         rstd: a.finalRstd, rows: N, channels: C)
        a.positions.withUnsafeBufferPointer { pos in
            for l in stride(from: c.layers - 1, through: 0, by: -1) {
                let s = a.blocks[l], o = weights[l]
                // MLP: out = mid + down(silu(gate(norm2)) · up(norm2))
                Linear.backward(dx: a.dHidden, accumulateInput: false, dweight: g(o.wDown), dbias: nil, dout: dres,
                                x: s.hidden, weight: w(o.wDown), rows: N, inChannels: F, outChannels: C)
                SwiGLU.backward(dgate: a.dGate, dup: a.dUp, dout: a.dHidden, gate: s.gate, up: s.up, count: N * F)
                Linear.backward(dx: dnorm, accumulateInput: false, dweight: g(o.wGate), dbias: nil, dout: a.dGate,
                                x: s.norm2, weight: w(o.wGate), rows: N, inChannels: C, outChannels: F)
                Linear.backward(dx: dnorm, accumulateInput: true, dweight: g(o.wUp), dbias: nil, dout: a.dUp,
                                x: s.norm2, weight: w(o.wUp), rows: N, inChannels: C, outChannels: F)
                RMSNorm.backward(dx: dres, dweight: g(o.norm2), dout: dnorm, x: s.mid, weight: w(o.norm2),
                                 rstd: s.rstd2, rows: N, channels: C)
                // Attention: mid = input + o_proj(attn(rope(q), rope(k), v))
                Linear.backward(dx: a.dAttn, accumulateInput: false, dweight: g(o.wo), dbias: nil, dout: dres,
                                x: s.attn, weight: w(o.wo), rows: N, inChannels: qd, outChannels: C)
                a.dQ.update(repeating: 0, count: N * qd)
                a.dK.update(repeating: 0, count: N * kvd)
                a.dV.update(repeating: 0, count: N * kvd)
                Attention.backward(dq: a.dQ, dk: a.dK, dv: a.dV, dout: a.dAttn, probs: s.probs, q: s.q, k: s.k, v: s.v,
                                   scratch: a.attnScratch, shape: a.attentionShape)
                rope.apply(a.dQ, rows: N, heads: c.heads, positions: pos.baseAddress!, inverse: true)
                rope.apply(a.dK, rows: N, heads: c.kvHeads, positions: pos.baseAddress!, inverse: true)
                Linear.backward(dx: dnorm, accumulateInput: false, dweight: g(o.wq), dbias: o.bq.map { g($0) }, dout: a.dQ,
                                x: s.norm1, weight: w(o.wq), rows: N, inChannels: C, outChannels: qd)
                Linear.backward(dx: dnorm, accumulateInput: true, dweight: g(o.wk), dbias: o.bk.map { g($0) }, dout: a.dK,
                                x: s.norm1, weight: w(o.wk), rows: N, inChannels: C, outChannels: kvd)
                Linear.backward(dx: dnorm, accumulateInput: true, dweight: g(o.wv), dbias: o.bv.map { g($0) }, dout: a.dV,
                                x: s.norm1, weight: w(o.wv), rows: N, inChannels: C, outChannels: kvd)
                RMSNorm.backward(dx: dres, dweight: g(o.norm1), dout: dnorm, x: s.input, weight: w(o.norm1),
                                 rstd: s.rstd1, rows: N, channels: C)
            }
        }
        batch.tokens.withUnsafeBufferPointer { tok in
            Embedding.backward(dtable: g(embedOffset), dout: dres, tokens: tok.baseAddress!, rows: N, channels: C)
        }
    }
}
