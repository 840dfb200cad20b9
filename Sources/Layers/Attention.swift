import Tensors

/// Causal multi-head self-attention with grouped key/value heads (GQA), over
/// whole sequences (training and teacher-forced scoring). Inputs are already
/// projected and rotated; query head h reads key/value head h / (H / Hkv).
public struct AttentionShape: Sendable {
    /// Sequences in the batch (B).
    public let batch: Int
    /// Tokens per sequence (T).
    public let seqLen: Int
    /// Query heads (H).
    public let heads: Int
    /// Key/value heads (Hkv).
    public let kvHeads: Int
    /// Head width (hd).
    public let headDim: Int

    /// Query rows per block. Block i only multiplies against keys 0..<(i+1)·blockRows,
    /// so the GEMMs skip most of the masked upper triangle (10/16 of the
    /// full work at T = 4 blocks).
    public let blockRows: Int

    /// A shape; `heads` must be a multiple of `kvHeads`.
    public init(batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int, blockRows: Int = 64) {
        precondition(heads % kvHeads == 0 && blockRows > 0)
        self.batch = batch; self.seqLen = seqLen; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
        self.blockRows = blockRows
    }

    /// Floats in the saved probabilities: (B, H, T, T).
    public var probsCount: Int { batch * heads * seqLen * seqLen }
    /// Floats of scratch the backward pass needs: one (T, T) block per worker.
    public var scratchCount: Int { Parallel.workers * seqLen * seqLen }
}

/// Forward and backward of causal attention.
///
/// The per-head GEMMs are small (T×T×hd), so the work is split over
/// (sequence, key/value-head group) items across the workers, each calling
/// single-threaded BLAS; a group's query heads stay on one worker so the
/// dk/dv accumulation never races.
public enum Attention {
    /// out = softmax(q·kᵀ/√hd + causal mask) · v; probabilities saved for backward.
    /// out, q: (B, T, H, hd); k, v: (B, T, Hkv, hd); probs: (B, H, T, T)
    public static func forward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                               q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                               shape s: AttentionShape) {
        let T = s.seqLen, H = s.heads, G = s.kvHeads, hd = s.headDim
        let group = H / G, qStride = H * hd, kvStride = G * hd
        let scale = 1 / Float(hd).squareRoot()
        Blas.withThreads(1) {
            Parallel.forRanges(s.batch * G) { items in
                for item in items {
                    let b = item / G, g = item % G
                    let kb = k + b * T * kvStride + g * hd
                    let vb = v + b * T * kvStride + g * hd
                    for h in (g * group)..<((g + 1) * group) {
                        let qb = q + b * T * qStride + h * hd
                        let p = probs + (b * H + h) * T * T
                        let ob = out + b * T * qStride + h * hd
                        var r0 = 0
                        while r0 < T {
                            let r1 = min(T, r0 + s.blockRows), rows = r1 - r0
                            Blas.gemm(transB: true, m: rows, n: r1, k: hd, alpha: scale, a: qb + r0 * qStride, lda: qStride,
                                      b: kb, ldb: kvStride, c: p + r0 * T, ldc: T)
                            causalSoftmaxRows(p, rows: r0..<r1, width: T)
                            Blas.gemm(m: rows, n: hd, k: r1, a: p + r0 * T, lda: T, b: vb, ldb: kvStride,
                                      c: ob + r0 * qStride, ldc: qStride)
                            r0 = r1
                        }
                    }
                }
            }
        }
    }

    /// Row t keeps columns 0...t: p[t, j] = softmax over j ≤ t, 0 for j > t.
    static func causalSoftmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Range<Int>, width T: Int) {
        for t in rows {
            let row = p + t * T
            let n = t + 1
            let m = VectorMath.max(row, n)
            let sum = VectorMath.expShifted(row, row, n, shift: m)
            VectorMath.scale(row, n, by: Float(1 / sum))
            if n < T { (row + n).update(repeating: 0, count: T - n) }
        }
    }

    /// dq, dk, dv += gradients (accumulate). `scratch` holds `shape.scratchCount` floats.
    /// dS = P ⊙ (dP − rowsum(dP ⊙ P)) / √hd with dP = dout · vᵀ; dq += dS·k, dk += dSᵀ·q, dv += Pᵀ·dout.
    public static func backward(dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                                dv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                probs: UnsafePointer<Float>, q: UnsafePointer<Float>,
                                k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                scratch: UnsafeMutablePointer<Float>, shape s: AttentionShape) {
        let T = s.seqLen, H = s.heads, G = s.kvHeads, hd = s.headDim
        let group = H / G, qStride = H * hd, kvStride = G * hd
        let scale = 1 / Float(hd).squareRoot()
        Blas.withThreads(1) {
            Parallel.forChunks(s.batch * G) { chunk, items in
                let ds = scratch + chunk * T * T
                for item in items {
                    let b = item / G, g = item % G
                    let kvOff = b * T * kvStride + g * hd
                    for h in (g * group)..<((g + 1) * group) {
                        let qOff = b * T * qStride + h * hd
                        let p = probs + (b * H + h) * T * T
                        var r0 = 0
                        while r0 < T {
                            // Query rows r0..<r1 see keys 0..<r1.
                            let r1 = min(T, r0 + s.blockRows), rows = r1 - r0
                            let pb = p + r0 * T, db = ds + r0 * T
                            Blas.gemm(transB: true, m: rows, n: r1, k: hd, a: dout + qOff + r0 * qStride, lda: qStride,
                                      b: v + kvOff, ldb: kvStride, c: db, ldc: T)
                            for t in r0..<r1 {
                                let pr = p + t * T, dr = ds + t * T
                                let n = t + 1
                                let rowDot = VectorMath.dot(pr, dr, n)
                                for j in 0..<n { dr[j] = pr[j] * (dr[j] - rowDot) * scale }
                                if n < r1 { (dr + n).update(repeating: 0, count: r1 - n) }
                            }
                            Blas.gemm(m: rows, n: hd, k: r1, a: db, lda: T, b: k + kvOff, ldb: kvStride,
                                      beta: 1, c: dq + qOff + r0 * qStride, ldc: qStride)
                            Blas.gemm(transA: true, m: r1, n: hd, k: rows, a: db, lda: T, b: q + qOff + r0 * qStride, ldb: qStride,
                                      beta: 1, c: dk + kvOff, ldc: kvStride)
                            Blas.gemm(transA: true, m: r1, n: hd, k: rows, a: pb, lda: T, b: dout + qOff + r0 * qStride, ldb: qStride,
                                      beta: 1, c: dv + kvOff, ldc: kvStride)
                            r0 = r1
                        }
                    }
                }
            }
        }
    }
}
