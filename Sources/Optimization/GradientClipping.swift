import Tensors

/// Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_ semantics).
public enum GradientClipping {
    /// Σ g² over `count` floats, accumulated in Double. With sharded gradients,
    /// sum this over the shards before taking the root.
    public static func sumOfSquares(_ g: UnsafePointer<Float>, count: Int) -> Double {
        var total = 0.0
        var i = 0
        while i < count {
            let n = min(4096, count - i)
            total += Double(VectorMath.dot(g + i, g + i, n))
            i += n
        }
        return total
    }

    /// Scales `g` by maxNorm / (norm + 1e-6) when norm > maxNorm (as PyTorch).
    /// Returns the norm before clipping.
    @discardableResult
    public static func clip(_ g: UnsafeMutablePointer<Float>, count: Int, maxNorm: Double, norm: Double? = nil) -> Double {
        let n = norm ?? sumOfSquares(g, count: count).squareRoot()
        if maxNorm > 0 && n > maxNorm { VectorMath.scale(g, count, by: Float(maxNorm / (n + 1e-6))) }
        return n
    }
}
