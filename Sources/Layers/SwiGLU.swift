import Tensors

/// The gated activation of the Llama MLP: out = silu(gate) ⊙ up.
public enum SwiGLU {
    /// out, gate, up: (N, F)
    public static func forward(out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>,
                               up: UnsafePointer<Float>, count: Int) {
        Parallel.forRanges(count, minPerWorker: 1 << 14) { r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD8<Float>.self)
                let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD8<Float>.self)
                let s = 1 / (1 + VectorMath.exp8(-g))
                UnsafeMutableRawPointer(out + i).storeBytes(of: g * s * u, as: SIMD8<Float>.self)
                i += 8
            }
            while i < r.upperBound {
                let g = gate[i], s = 1 / (1 + VectorMath.exp(-g))
                out[i] = g * s * up[i]; i += 1
            }
        }
    }

    /// dgate = dout · up · silu'(gate), dup = dout · silu(gate) (overwrite).
    /// silu'(g) = σ(g) · (1 + g · (1 − σ(g))).
    public static func backward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, gate: UnsafePointer<Float>,
                                up: UnsafePointer<Float>, count: Int) {
        Parallel.forRanges(count, minPerWorker: 1 << 14) { r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD8<Float>.self)
                let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD8<Float>.self)
                let d = UnsafeRawPointer(dout + i).loadUnaligned(as: SIMD8<Float>.self)
                let s = 1 / (1 + VectorMath.exp8(-g))
                let dsilu = s * (1 + g * (1 - s))
                UnsafeMutableRawPointer(dgate + i).storeBytes(of: d * u * dsilu, as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(dup + i).storeBytes(of: d * g * s, as: SIMD8<Float>.self)
                i += 8
            }
            while i < r.upperBound {
                let g = gate[i], s = 1 / (1 + VectorMath.exp(-g))
                dgate[i] = dout[i] * up[i] * s * (1 + g * (1 - s))
                dup[i] = dout[i] * g * s
                i += 1
            }
        }
    }
}
