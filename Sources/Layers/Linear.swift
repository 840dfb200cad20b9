import Tensors

/// Fully connected layer with PyTorch's weight layout: y = x · Wᵀ + b.
public enum Linear {
    /// out = x · weightᵀ (+ bias), or out += … when `accumulate` (residual adds).
    /// out: (N, OC), x: (N, IC), weight: (OC, IC), bias: (OC) or nil
    public static func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               rows n: Int, inChannels ic: Int, outChannels oc: Int,
                               accumulate: Bool = false) {
        Blas.gemm(transB: true, m: n, n: oc, k: ic, a: x, lda: ic, b: weight, ldb: ic,
                  beta: accumulate ? 1 : 0, c: out, ldc: oc)
        if let bias {
            for r in 0..<n { VectorMath.add(bias, into: out + r * oc, oc) }
        }
    }

    /// dx (+)= dout · weight; dweight += doutᵀ · x; dbias += Σ_rows dout.
    /// `accumulateInput` chooses whether dx is overwritten or accumulated.
    public static func backward(dx: UnsafeMutablePointer<Float>?, accumulateInput: Bool,
                                dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
                                dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                weight: UnsafePointer<Float>,
                                rows n: Int, inChannels ic: Int, outChannels oc: Int) {
        if let dx {
            Blas.gemm(m: n, n: ic, k: oc, a: dout, lda: oc, b: weight, ldb: ic,
                      beta: accumulateInput ? 1 : 0, c: dx, ldc: ic)
        }
        Blas.gemm(transA: true, m: oc, n: ic, k: n, a: dout, lda: oc, b: x, ldb: ic, beta: 1, c: dweight, ldc: ic)
        if let dbias {
            for r in 0..<n { VectorMath.add(dout + r * oc, into: dbias, oc) }
        }
    }
}
