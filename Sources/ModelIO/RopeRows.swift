import Tensors

/// Converts Q/K projection rows between the two RoPE pairings.
///
/// Within each head of width `hd` (half = hd/2):
/// - interleaved (GGUF / llama.cpp) rotates row pairs (2i, 2i+1);
/// - rotate-half (Hugging Face) rotates row pairs (i, i + half).
///
/// llama.cpp's converter maps HF row `a·half + i` to GGUF row `2i + a`
/// (a ∈ {0, 1}). So the HF rows [0, half) are the even interleaved rows and
/// [half, hd) the odd ones. Applying interleaved RoPE to `W` and rotate-half
/// RoPE to `ropeRowsToRotateHalf(W)` gives the same attention scores q·k.
public enum RopeRows {
    /// Interleaved → rotate-half (the inverse of llama.cpp's `permute`):
    /// `out[h·hd + a·half + i] = in[h·hd + 2i + a]`, for every column.
    ///
    /// `tensor` is a weight `(heads·hd, in)` or a bias `(heads·hd)`; `heads` is
    /// the number of heads its rows span (query heads for Q, KV heads for K).
    public static func toRotateHalf(_ tensor: Tensor, heads: Int) throws -> Tensor {
        try reorder(tensor, heads: heads, toRotateHalf: true)
    }

    /// Rotate-half → interleaved (llama.cpp's `permute`):
    /// `out[h·hd + 2i + a] = in[h·hd + a·half + i]`, for every column.
    public static func toInterleaved(_ tensor: Tensor, heads: Int) throws -> Tensor {
        try reorder(tensor, heads: heads, toRotateHalf: false)
    }

    private static func reorder(_ t: Tensor, heads: Int, toRotateHalf: Bool) throws -> Tensor {
        guard let rows = t.shape.first, heads > 0, rows > 0, rows % (2 * heads) == 0 else {
            throw ModelIOError(.shapeMismatch, file: "(Q/K projection tensor)",
                               expected: "rows divisible by 2 × \(heads) heads (an even head width)",
                               found: "shape \(t.shape)",
                               remedy: "Pass the Q weight with the query head count and K with the KV head count.")
        }
        let cols = t.count / rows
        let hd = rows / heads
        let half = hd / 2
        var out = [Float](repeating: 0, count: t.count)
        t.data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for h in 0 ..< heads {
                    for a in 0 ..< 2 {
                        for i in 0 ..< half {
                            let interleaved = h * hd + 2 * i + a
                            let rotateHalf = h * hd + a * half + i
                            let (from, to) = toRotateHalf ? (interleaved, rotateHalf) : (rotateHalf, interleaved)
                            for c in 0 ..< cols { dst[to * cols + c] = src[from * cols + c] }
                        }
                    }
                }
            }
        }
        return Tensor(shape: t.shape, data: out)
    }
}
