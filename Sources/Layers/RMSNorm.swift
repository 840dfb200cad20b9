import Tensors

/// Root-mean-square normalisation with a learned gain (no bias, no centering).
public enum RMSNorm {
    /// out = x · rstd · weight, rstd = 1/sqrt(mean(x²) + eps), saved per row.
    /// out, x: (N, C); rstd: (N); weight: (C)
    public static func forward(out: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                               x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               rows: Int, channels c: Int, eps: Float) {
        Parallel.forRanges(rows, minPerWorker: 16) { range in
            for n in range {
                let xr = x + n * c, orow = out + n * c
                let ms = VectorMath.dot(xr, xr, c) / Float(c)
                let r = 1 / (ms + eps).squareRoot()
                rstd[n] = r
                for i in 0..<c { orow[i] = xr[i] * r * weight[i] }
            }
        }
    }

    /// dx += ∂L/∂x and dweight += ∂L/∂weight (both accumulate).
    /// With x̂ = x·rstd: dx = rstd · (g − x̂ · mean(g · x̂)), g = dout · weight.
    public static func backward(dx: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                weight: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                rows: Int, channels c: Int) {
        // dweight is a reduction over rows: each worker sums into its own row of
        // a scratch block, merged once at the end (no atomics, deterministic).
        let workers = Parallel.workers
        let partial = FlatBuffer(count: workers * c)
        Parallel.forChunks(rows, minPerWorker: 16) { w, range in
            do {
                let dw = partial.pointer + w * c
                for n in range {
                    let xr = x + n * c, gr = dout + n * c, dxr = dx + n * c
                    let r = rstd[n]
                    var dotGX: Float = 0
                    for i in 0..<c { dotGX += gr[i] * weight[i] * xr[i] }
                    let coef = dotGX * r * r / Float(c)
                    for i in 0..<c {
                        dxr[i] += r * (gr[i] * weight[i] - xr[i] * coef)
                        dw[i] += gr[i] * xr[i] * r
                    }
                }
            }
        }
        for w in 0..<workers { VectorMath.add(partial.pointer + w * c, into: dweight, c) }
    }
}
