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

    /// A shape; `heads` must be a multiple of `kvHeads`.
    public init(batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int) {
        precondition(heads % kvHeads == 0)
        self.batch = batch; self.seqLen = seqLen; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
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
                        Blas.gemm(transB: true, m: T, n: T, k: hd, alpha: scale, a: qb, lda: qStride,
                                  b: kb, ldb: kvStride, c: p, ldc: T)
                        causalSoftmaxRows(p, rows: T)
                        Blas.gemm(m: T, n: hd, k: T, a: p, lda: T, b: vb, ldb: kvStride,
                                  c: out + b * T * qStride + h * hd, ldc: qStride)
                    }
                }
            }
        }
    }

    /// Row t keeps columns 0...t: p[t, j] = softmax over j ≤ t, 0 for j > t.
    static func causalSoftmaxRows(_ p: UnsafeMutablePointer<Float>, rows T: Int) {
        for t in 0..<T {
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
                        Blas.gemm(transB: true, m: T, n: T, k: hd, a: dout + qOff, lda: qStride,
                                  b: v + kvOff, ldb: kvStride, c: ds, ldc: T)
                        for t in 0..<T {
                            let pr = p + t * T, dr = ds + t * T
                            let n = t + 1
                            let rowDot = VectorMath.dot(pr, dr, n)
                            for j in 0..<n { dr[j] = pr[j] * (dr[j] - rowDot) * scale }
                            if n < T { (dr + n).update(repeating: 0, count: T - n) }
                        }
                        Blas.gemm(m: T, n: hd, k: T, a: ds, lda: T, b: k + kvOff, ldb: kvStride,
                                  beta: 1, c: dq + qOff, ldc: qStride)
                        Blas.gemm(transA: true, m: T, n: hd, k: T, a: ds, lda: T, b: q + qOff, ldb: qStride,
                                  beta: 1, c: dk + kvOff, ldc: kvStride)
                        Blas.gemm(transA: true, m: T, n: hd, k: T, a: p, lda: T, b: dout + qOff, ldb: qStride,
                                  beta: 1, c: dv + kvOff, ldc: kvStride)
                    }
                }
            }
        }
    }
}
