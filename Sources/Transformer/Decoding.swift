import Layers
import Tensors

/// Scratch for `Model.extend`, grown to the largest row count seen.
final class DecodeWorkspace {
    let rows: Int, logitRows: Int
    /// qkv: (R, qd + 2·kvd) from one fused projection; gateUp: (R, gateUpWidth)
    /// likewise ([gate | up] per row on the BLAS path, panel-interleaved on the packed path).
    let x, norm, rstd, qkv, attn, gateUp, hidden, scores, logits: UnsafeMutablePointer<Float>
    /// Packed weights for small decode batches; carried over when the workspace grows.
    var packed: PackedDecodeWeights?
    private let storage: FlatBuffer

    init(config c: ModelConfig, rows R: Int, logitRows LR: Int) {
        rows = R; logitRows = LR
        let C = c.dim, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim, F = c.ffnDim
        let pw = PackedGemm.panelWidth, gateUpWidth = max(2 * F, 2 * pw * ((F + pw - 1) / pw))
        let sizes = [R * C, R * C, R, R * (qd + 2 * kvd), R * qd, R * gateUpWidth, R * F,
                     Parallel.workers * CachedAttention.paddedCount(c.maxSeqLen), LR * c.vocabSize]
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
    /// `tap`, when given, reads the residual stream of all R rows at its depth.
    /// - Returns: logits (logitRows.count, V), valid until the next call.
    public func extend(cache: KVCache, slots: [Int], tokens: [Int32], logitRows: [Int], tap: ResidualTap? = nil) -> LogitsBlock {
        precondition(slots.count == tokens.count, "extend: \(slots.count) slots for \(tokens.count) tokens")
        let c = config, R = tokens.count
        let C = c.dim, hd = c.headDim, qd = c.heads * hd, kvd = c.kvHeads * hd, F = c.ffnDim
        let qkvd = qd + 2 * kvd
        let ws = workspace(rows: R, logitRows: logitRows.count)
        // Small batches (decode steps) use the weights packed by `generate`;
        // prefill and direct calls use BLAS on the live parameters.
        let packed: PackedDecodeWeights? = ws.packed.flatMap { $0.valid && R <= PackedDecodeWeights.maxRows ? $0 : nil }
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
        if let tap, tap.depth == 0 { tap.read(UnsafePointer(ws.x), R) }
        // Decode steps extend each slot once: rows are then independent, so
        // RoPE, the cache write and attention run as one parallel section.
        let distinctSlots = Set(slots).count == R
        // The BLAS engine calls OpenBLAS from every team member at once: one OpenBLAS thread each.
        let blasThreads = packed.map { $0.usesPacking(rows: R) ? Blas.threads : 1 } ?? Blas.threads
        Blas.withThreads(blasThreads) {
            positions.withUnsafeBufferPointer { posBuf in
                let pos = posBuf.baseAddress!
                for l in 0..<c.layers {
                    let o = weights[l], pl = packed.flatMap { $0.usesPacking(rows: R) ? $0.layers[l] : nil }
                    // Q, K and V weights are adjacent in the layout (as are their
                    // biases), so one GEMM projects all three: row r is [q | k | v].
                    if packed != nil {
                        Self.rmsNormRows(out: ws.norm, x: ws.x, weight: w(o.norm1), rows: R, channels: C, eps: c.normEps)
                        decodeGemm(m: R, a: ws.norm, lda: C, packed: pl?.qkv, weight: w(o.wq), n: qkvd, k: C,
                                   bias: o.bq.map { w($0) }, c: ws.qkv, ldc: qkvd, accumulate: false)
                    } else {
                        RMSNorm.forward(out: ws.norm, rstd: ws.rstd, x: ws.x, weight: w(o.norm1), rows: R, channels: C, eps: c.normEps)
                        Linear.forward(out: ws.qkv, x: ws.norm, weight: w(o.wq), bias: o.bq.map { w($0) }, rows: R, inChannels: C, outChannels: qkvd)
                    }
                    if distinctSlots {
                        ropeStoreAttend(cache: cache, layer: l, slots: slots, positions: pos, ws: ws, rows: R)
                    } else {
                        rope.apply(ws.qkv, rows: R, heads: c.heads, positions: pos, rowStride: qkvd)
                        rope.apply(ws.qkv + qd, rows: R, heads: c.kvHeads, positions: pos, rowStride: qkvd)
                        for r in 0..<R { store(cache: cache, layer: l, slot: slots[r], position: Int(pos[r]), row: ws.qkv + r * qkvd) }
                        cachedAttention(cache: cache, layer: l, slots: slots, positions: pos, ws: ws, rows: R)
                    }
                    if let packed {
                        decodeGemm(m: R, a: ws.attn, lda: qd, packed: pl?.o, weight: w(o.wo), n: C, k: qd,
                                   bias: nil, c: ws.x, ldc: C, accumulate: true)
                        Self.rmsNormRows(out: ws.norm, x: ws.x, weight: w(o.norm2), rows: R, channels: C, eps: c.normEps)
                        gateUpSwiGLU(rows: R, ws: ws, packed: pl?.gateUp, width: packed.gateUpWidth, gate: w(o.wGate), up: w(o.wUp))
                        decodeGemm(m: R, a: ws.hidden, lda: F, packed: pl?.down, weight: w(o.wDown), n: C, k: F,
                                   bias: nil, c: ws.x, ldc: C, accumulate: true)
                    } else {
                        Linear.forward(out: ws.x, x: ws.attn, weight: w(o.wo), bias: nil, rows: R, inChannels: qd, outChannels: C, accumulate: true)
                        RMSNorm.forward(out: ws.norm, rstd: ws.rstd, x: ws.x, weight: w(o.norm2), rows: R, channels: C, eps: c.normEps)
                        Linear.forward(out: ws.gateUp, x: ws.norm, weight: w(o.wGate), bias: nil, rows: R, inChannels: C, outChannels: 2 * F)
                        for r in 0..<R {
                            SwiGLU.forward(out: ws.hidden + r * F, gate: ws.gateUp + r * 2 * F, up: ws.gateUp + r * 2 * F + F, count: F)
                        }
                        Linear.forward(out: ws.x, x: ws.hidden, weight: w(o.wDown), bias: nil, rows: R, inChannels: F, outChannels: C, accumulate: true)
                    }
                    if let tap, tap.depth == l + 1 { tap.read(UnsafePointer(ws.x), R) }
                }
            }
        }
        for r in 0..<R { cache.advance(slot: slots[r], by: 1) }
        // Only the requested rows go through the final norm and the LM head.
        let LR = logitRows.count
        for (i, r) in logitRows.enumerated() { (ws.norm + i * C).update(from: ws.x + r * C, count: C) }
        RMSNorm.forward(out: ws.norm, rstd: ws.rstd, x: ws.norm, weight: w(finalNormOffset), rows: LR, channels: C, eps: c.normEps)
        if let packed = ws.packed, packed.valid, LR <= PackedDecodeWeights.maxRows {
            let usePacking = packed.usesPacking(rows: LR)
            Blas.withThreads(usePacking ? Blas.threads : 1) {
                decodeGemm(m: LR, a: ws.norm, lda: C, packed: usePacking ? packed.head : nil, weight: w(headOffset), n: c.vocabSize, k: C,
                           bias: nil, c: ws.logits, ldc: c.vocabSize, accumulate: false)
            }
        } else {
            Linear.forward(out: ws.logits, x: ws.norm, weight: w(headOffset), bias: nil, rows: LR, inChannels: C, outChannels: c.vocabSize)
        }
        return LogitsBlock(rows: LR, vocab: c.vocabSize, data: ws.logits)
    }

    /// The decode workspace, grown (keeping the packed weights) to hold `rows` and `logitRows`.
    func workspace(rows R: Int, logitRows LR: Int) -> DecodeWorkspace {
        let oldRows = decodeWorkspace?.rows ?? 0, oldLogitRows = decodeWorkspace?.logitRows ?? 0
        if let ws = decodeWorkspace, oldRows >= R, oldLogitRows >= LR { return ws }
        let packed = decodeWorkspace?.packed
        decodeWorkspace = nil  // release before allocating the larger one
        let ws = DecodeWorkspace(config: config, rows: max(R, oldRows, 1), logitRows: max(LR, oldLogitRows, 1))
        ws.packed = packed
        decodeWorkspace = ws
        return ws
    }

    /// Packs the current parameters for the decode steps of one `generate`
    /// call (a batch of `rows` sequences) and returns the packing, or nil when
    /// the batch is too large to use it. The caller clears `valid` when done.
    func preparePackedWeights(rows: Int) -> PackedDecodeWeights? {
        guard rows <= PackedDecodeWeights.maxRows else { return nil }
        let ws = workspace(rows: rows, logitRows: rows)
        let engine = DecodeEngine.preferred
        let packed = ws.packed.flatMap { $0.engine == engine ? $0 : nil } ?? PackedDecodeWeights(config: config, engine: engine)
        packed.repack(from: self)
        ws.packed = packed
        return packed
    }

    /// c (+)= a · Wᵀ (+ bias) for a decode step, W (n, k) live at `weight` or
    /// packed in `packed`: the packed micro-kernel when there is a packing,
    /// else single-threaded OpenBLAS on column slices, one slice per team piece.
    private func decodeGemm(m: Int, a: UnsafePointer<Float>, lda: Int, packed pm: PackedMatrix?,
                            weight: UnsafePointer<Float>, n: Int, k: Int, bias: UnsafePointer<Float>?,
                            c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        if let pm {
            PackedGemm.multiply(m: m, a: a, lda: lda, b: pm, bias: bias, c: c, ldc: ldc, accumulate: accumulate)
            return
        }
        let pw = PackedGemm.panelWidth, blocks = (n + pw - 1) / pw
        WorkerTeam.current.forChunks(blocks, grain: max(1, (1 << 16) / max(1, m * k * pw))) { _, range in
            let lo = range.lowerBound * pw, hi = min(n, range.upperBound * pw)
            Self.blasSlice(m: m, a: a, lda: lda, weight: weight, k: k, columns: lo..<hi, bias: bias,
                           c: c, ldc: ldc, accumulate: accumulate)
        }
    }

    /// Columns `columns` of c (+)= a · Wᵀ (+ bias) by one OpenBLAS call.
    @inline(__always)
    private static func blasSlice(m: Int, a: UnsafePointer<Float>, lda: Int, weight: UnsafePointer<Float>, k: Int,
                                  columns: Range<Int>, bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>,
                                  ldc: Int, accumulate: Bool) {
        let lo = columns.lowerBound, w = columns.count
        Blas.gemm(transB: true, m: m, n: w, k: k, a: a, lda: lda, b: weight + lo * k, ldb: k,
                  beta: accumulate ? 1 : 0, c: c + lo, ldc: ldc)
        if let bias { for r in 0..<m { VectorMath.add(bias + lo, into: c + r * ldc + lo, w) } }
    }

    /// hidden = silu(norm · W_gateᵀ) ⊙ (norm · W_upᵀ): each team piece
    /// computes the gate and up columns of one block of hidden units (panel
    /// pairs of the interleaved packing, or two BLAS slices) and applies SwiGLU
    /// to them while they are still in cache.
    private func gateUpSwiGLU(rows R: Int, ws: DecodeWorkspace, packed gu: PackedMatrix?, width W: Int,
                              gate: UnsafePointer<Float>, up: UnsafePointer<Float>) {
        let C = config.dim, F = config.ffnDim, pw = PackedGemm.panelWidth
        let pairs = W / (2 * pw)
        WorkerTeam.current.forChunks(pairs, grain: max(1, (1 << 16) / max(1, R * C * 2 * pw))) { _, range in
            let lo = range.lowerBound * pw, hi = min(F, range.upperBound * pw)
            // Gate column j of row r lands at gateUp[r·W + 2·pw·(j/pw) + j%pw], its up column pw floats later.
            if let gu {
                PackedGemm.multiply(m: R, a: ws.norm, lda: C, b: gu, panels: (2 * range.lowerBound)..<(2 * range.upperBound),
                                    bias: nil, c: ws.gateUp, ldc: W, accumulate: false)
            } else {
                // Same placement from two BLAS calls per 16-column block would be tiny GEMMs; instead
                // write gate and up as [gate | up] halves of this piece's 2·(hi − lo) columns.
                let base = ws.gateUp + 2 * lo
                Blas.gemm(transB: true, m: R, n: hi - lo, k: C, a: ws.norm, lda: C, b: gate + lo * C, ldb: C,
                          c: base, ldc: W)
                Blas.gemm(transB: true, m: R, n: hi - lo, k: C, a: ws.norm, lda: C, b: up + lo * C, ldb: C,
                          c: base + (hi - lo), ldc: W)
            }
            for r in 0..<R {
                let row = ws.gateUp + r * W, out = ws.hidden + r * F
                var j = lo
                while j < hi {
                    // Where gate j and up j live in this row.
                    let g: UnsafeMutablePointer<Float>, u: UnsafeMutablePointer<Float>, run: Int
                    if gu != nil {
                        let q = j / pw, o = j - q * pw
                        g = row + 2 * q * pw + o; u = g + pw; run = min(pw - o, hi - j)
                    } else {
                        g = row + 2 * lo + (j - lo); u = g + (hi - lo); run = hi - j
                    }
                    var i = 0
                    while i + 8 <= run {
                        let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
                        let uv = UnsafeRawPointer(u + i).loadUnaligned(as: SIMD8<Float>.self)
                        let s = 1 / (1 + VectorMath.exp8(-gv))
                        UnsafeMutableRawPointer(out + j + i).storeBytes(of: gv * s * uv, as: SIMD8<Float>.self)
                        i += 8
                    }
                    while i < run {
                        let gi = g[i], s = 1 / (1 + VectorMath.exp(-gi))
                        out[j + i] = gi * s * u[i]
                        i += 1
                    }
                    j += run
                }
            }
        }
    }

    /// Writes row's rotated key and its value at `position` of (layer, slot).
    @inline(__always)
    private func store(cache: KVCache, layer l: Int, slot: Int, position p: Int, row: UnsafePointer<Float>) {
        let qd = config.heads * config.headDim, kvd = config.kvHeads * config.headDim
        cache.store(key: row + qd, value: row + qd + kvd, layer: l, slot: slot, position: p)
    }

    /// attn[r, h] = Σ_j softmax_j(q[r,h]·K[slot, j, g]/√hd) · V[slot, j, g] for j ≤ pos[r].
    private func cachedAttention(cache: KVCache, layer l: Int, slots: [Int], positions pos: UnsafePointer<Int32>,
                                 ws: DecodeWorkspace, rows R: Int) {
        slots.withUnsafeBufferPointer { sl in
            WorkerTeam.current.forChunks(R, grain: 2) { who, range in
                for r in range { attendRow(r, cache: cache, layer: l, slot: sl[r], position: Int(pos[r]), ws: ws, participant: who) }
            }
        }
    }

    /// For rows whose slots are all different: RoPE on q and k, the cache
    /// write, then attention, row by row in one parallel section.
    private func ropeStoreAttend(cache: KVCache, layer l: Int, slots: [Int], positions pos: UnsafePointer<Int32>,
                                 ws: DecodeWorkspace, rows R: Int) {
        let c = config, qd = c.heads * c.headDim, qkvd = qd + 2 * c.kvHeads * c.headDim
        slots.withUnsafeBufferPointer { sl in
            WorkerTeam.current.forChunks(R, grain: 2) { who, range in
                // One row per call keeps RopeTable.apply on this thread (it parallelises from 64 rows).
                for r in range {
                    let row = ws.qkv + r * qkvd
                    rope.apply(row, rows: 1, heads: c.heads, positions: pos + r, rowStride: qkvd)
                    rope.apply(row + qd, rows: 1, heads: c.kvHeads, positions: pos + r, rowStride: qkvd)
                    store(cache: cache, layer: l, slot: sl[r], position: Int(pos[r]), row: row)
                    attendRow(r, cache: cache, layer: l, slot: sl[r], position: Int(pos[r]), ws: ws, participant: who)
                }
            }
        }
    }

    /// Attention of every query head of row r over its slot's positions 0...position.
    @inline(__always)
    private func attendRow(_ r: Int, cache: KVCache, layer l: Int, slot: Int, position: Int, ws: DecodeWorkspace,
                           participant: Int) {
        let c = config, hd = c.headDim, H = c.heads, group = c.heads / c.kvHeads, kvd = c.kvHeads * hd
        let qkvd = H * hd + 2 * kvd, kStride = cache.keyHeadStride, vStride = cache.maxLen * hd
        let scale = 1 / Float(hd).squareRoot()
        let scores = ws.scores + participant * CachedAttention.paddedCount(c.maxSeqLen)
        let kb = cache.keyBase(layer: l, slot: slot), vb = cache.valueBase(layer: l, slot: slot)
        for h in 0..<H {
            let g = h / group
            CachedAttention.attendTransposed(q: ws.qkv + r * qkvd + h * hd, keysT: kb + g * kStride,
                                             values: vb + g * vStride, stride: hd, count: position + 1, headDim: hd,
                                             scale: scale, scores: scores, out: ws.attn + r * H * hd + h * hd)
        }
    }

    /// RMSNorm for a few rows on the calling thread (no rstd kept: decoding
    /// has no backward). Same arithmetic as `RMSNorm.forward`.
    static func rmsNormRows(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                            rows: Int, channels c: Int, eps: Float) {
        for n in 0..<rows {
            let xr = x + n * c, orow = out + n * c
            let r = 1 / (VectorMath.dot(xr, xr, c) / Float(c) + eps).squareRoot()
            let r8 = SIMD8<Float>(repeating: r)
            var i = 0
            while i + 8 <= c {
                let v = UnsafeRawPointer(xr + i).loadUnaligned(as: SIMD8<Float>.self) * r8
                    * UnsafeRawPointer(weight + i).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(orow + i).storeBytes(of: v, as: SIMD8<Float>.self)
                i += 8
            }
            while i < c { orow[i] = xr[i] * r * weight[i]; i += 1 }
        }
    }
}
