import Layers
import Tensors

/// Scratch for `Model.extend`, grown to the largest row count seen.
final class DecodeWorkspace {
    let rows: Int, logitRows: Int
    /// qkv: (R, qd + 2·kvd) from one fused projection; gateUp: (R, 2F) likewise.
    let x, norm, rstd, qkv, attn, gateUp, hidden, scores, logits: UnsafeMutablePointer<Float>
    private let storage: FlatBuffer

    init(config c: ModelConfig, rows R: Int, logitRows LR: Int) {
        rows = R; logitRows = LR
        let C = c.dim, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim, F = c.ffnDim
        let sizes = [R * C, R * C, R, R * (qd + 2 * kvd), R * qd, R * 2 * F, R * F,
                     Parallel.workers * c.maxSeqLen, LR * c.vocabSize]
        storage = FlatBuffer(count: sizes.reduce(0, +))
        var p = storage.pointer
        var ptrs: [UnsafeMutablePointer<Float>] = []
        for s in sizes { ptrs.append(p); p += s }
        x = ptrs[0]; norm = ptrs[1]; rstd = ptrs[2]; qkv = ptrs[3]; attn = ptrs[4]
        gateUp = ptrs[5]; hidden = ptrs[6]; scores = ptrs[7]; logits = ptrs[8]
    }
}

extension Model {
    /// Appends tokens to cached sequences and returns logits for chosen rows.
    ///
    /// Row r appends `tokens[r]` to slot `slots[r]` at that slot's next position;
    /// several rows may extend the same slot (prefill), in order. Each row attends
    /// to its slot's cache up to and including its own position, so the result
    /// equals the full causal forward on the concatenated sequence.
    /// - Returns: logits (logitRows.count, V), valid until the next call.
    public func extend(cache: KVCache, slots: [Int], tokens: [Int32], logitRows: [Int]) -> LogitsBlock {
        precondition(slots.count == tokens.count, "extend: \(slots.count) slots for \(tokens.count) tokens")
        let c = config, R = tokens.count
        let C = c.dim, hd = c.headDim, qd = c.heads * hd, kvd = c.kvHeads * hd, F = c.ffnDim
        let qkvd = qd + 2 * kvd
        let oldRows = decodeWorkspace?.rows ?? 0, oldLogitRows = decodeWorkspace?.logitRows ?? 0
        if oldRows < R || oldLogitRows < logitRows.count {
            decodeWorkspace = nil  // release before allocating the larger one
            decodeWorkspace = DecodeWorkspace(config: c, rows: max(R, oldRows),
                                              logitRows: max(logitRows.count, oldLogitRows, 1))
        }
        let ws = decodeWorkspace!
        // Positions: each row takes the next free position of its slot.
        var positions = [Int32](repeating: 0, count: R)
        var next = cache.lengths
        for r in 0..<R {
            let s = slots[r]
            precondition(next[s] < cache.maxLen, "extend: slot \(s) is full (\(cache.maxLen) positions)")
            precondition(tokens[r] >= 0 && Int(tokens[r]) < c.vocabSize, "token \(tokens[r]) outside vocabulary")
            positions[r] = Int32(next[s]); next[s] += 1
        }
        tokens.withUnsafeBufferPointer { tok in
            Embedding.forward(out: ws.x, tokens: tok.baseAddress!, table: w(embedOffset), rows: R, channels: C)
        }
        positions.withUnsafeBufferPointer { posBuf in
            let pos = posBuf.baseAddress!
            for l in 0..<c.layers {
                let o = weights[l]
                // Q, K and V weights are adjacent in the layout (as are their
                // biases), so one GEMM projects all three: row r is [q | k | v].
                RMSNorm.forward(out: ws.norm, rstd: ws.rstd, x: ws.x, weight: w(o.norm1), rows: R, channels: C, eps: c.normEps)
                Linear.forward(out: ws.qkv, x: ws.norm, weight: w(o.wq), bias: o.bq.map { w($0) }, rows: R, inChannels: C, outChannels: qkvd)
                rope.apply(ws.qkv, rows: R, heads: c.heads, positions: pos, rowStride: qkvd)
                rope.apply(ws.qkv + qd, rows: R, heads: c.kvHeads, positions: pos, rowStride: qkvd)
                for r in 0..<R {
                    let p = Int(pos[r]), row = ws.qkv + r * qkvd
                    (cache.keyBase(layer: l, slot: slots[r]) + p * kvd).update(from: row + qd, count: kvd)
                    (cache.valueBase(layer: l, slot: slots[r]) + p * kvd).update(from: row + qd + kvd, count: kvd)
                }
                cachedAttention(cache: cache, layer: l, slots: slots, positions: pos, ws: ws, rows: R)
                Linear.forward(out: ws.x, x: ws.attn, weight: w(o.wo), bias: nil, rows: R, inChannels: qd, outChannels: C, accumulate: true)
                RMSNorm.forward(out: ws.norm, rstd: ws.rstd, x: ws.x, weight: w(o.norm2), rows: R, channels: C, eps: c.normEps)
                Linear.forward(out: ws.gateUp, x: ws.norm, weight: w(o.wGate), bias: nil, rows: R, inChannels: C, outChannels: 2 * F)
                for r in 0..<R {
                    SwiGLU.forward(out: ws.hidden + r * F, gate: ws.gateUp + r * 2 * F, up: ws.gateUp + r * 2 * F + F, count: F)
                }
                Linear.forward(out: ws.x, x: ws.hidden, weight: w(o.wDown), bias: nil, rows: R, inChannels: F, outChannels: C, accumulate: true)
            }
        }
        for r in 0..<R { cache.advance(slot: slots[r], by: 1) }
        // Only the requested rows go through the final norm and the LM head.
        let LR = logitRows.count
        for (i, r) in logitRows.enumerated() { (ws.norm + i * C).update(from: ws.x + r * C, count: C) }
        RMSNorm.forward(out: ws.norm, rstd: ws.rstd, x: ws.norm, weight: w(finalNormOffset), rows: LR, channels: C, eps: c.normEps)
        Linear.forward(out: ws.logits, x: ws.norm, weight: w(headOffset), bias: nil, rows: LR, inChannels: C, outChannels: c.vocabSize)
        return LogitsBlock(rows: LR, vocab: c.vocabSize, data: ws.logits)
    }

    /// attn[r, h] = Σ_j softmax_j(q[r,h]·K[slot, j, g]/√hd) · V[slot, j, g] for j ≤ pos[r].
    private func cachedAttention(cache: KVCache, layer l: Int, slots: [Int], positions pos: UnsafePointer<Int32>,
                                 ws: DecodeWorkspace, rows R: Int) {
        let c = config, hd = c.headDim, H = c.heads, group = c.heads / c.kvHeads, kvd = c.kvHeads * hd
        let qkvd = H * hd + 2 * kvd
        let scale = 1 / Float(hd).squareRoot()
        slots.withUnsafeBufferPointer { sl in
            Parallel.forChunks(R) { chunk, range in
                let scores = ws.scores + chunk * c.maxSeqLen
                for r in range {
                    let n = Int(pos[r]) + 1
                    let kb = cache.keyBase(layer: l, slot: sl[r]), vb = cache.valueBase(layer: l, slot: sl[r])
                    for h in 0..<H {
                        let g = h / group
                        CachedAttention.attend(q: ws.qkv + r * qkvd + h * hd, keys: kb + g * hd, values: vb + g * hd,
                                               count: n, headDim: hd, stride: kvd, scale: scale,
                                               scores: scores, out: ws.attn + r * H * hd + h * hd)
                    }
                }
            }
        }
    }
}
