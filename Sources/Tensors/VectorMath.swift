import Foundation

/// Vectorised elementwise kernels shared by the layers and the objectives.
/// Written over SIMD8<Float> so release builds (AVX2) process 8 lanes at once.
public enum VectorMath {
    /// exp for 8 lanes; relative error ≤ 2e-7 on [-87, 88] (measured against
    /// Double exp in `VectorMathTests`), 0 below −87.3, +inf above 88.7.
    @inlinable @inline(__always)
    public static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let lo = SIMD8<Float>(repeating: -87.33654), hi = SIMD8<Float>(repeating: 88.72283)
        var v = x.replacing(with: lo, where: x .< lo)
        v = v.replacing(with: hi, where: v .> hi)
        // Round-to-nearest by the 1.5·2²³ trick: adding it leaves the integer
        // in the low mantissa bits, so n needs no (slow, generic) SIMD rounding
        // or float→int conversion.
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let shifted = magic.addingProduct(v, SIMD8<Float>(repeating: 1.442695040888963))
        let n = shifted - magic
        let ni = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        var r = v.addingProduct(n, SIMD8<Float>(repeating: -0.693359375))
        r = r.addingProduct(n, SIMD8<Float>(repeating: 2.12194440e-4))
        // Minimax polynomial for e^r on [-ln2/2, ln2/2] (Cephes expf).
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * (r * r) + r + 1
        // Scale by 2^n through the exponent bits; split n so 2^n never overflows early.
        let half = ni &>> 1
        let s1 = unsafeBitCast((half &+ 127) &<< 23, to: SIMD8<Float>.self)
        let s2 = unsafeBitCast((ni &- half &+ 127) &<< 23, to: SIMD8<Float>.self)
        var out = p * s1 * s2
        out = out.replacing(with: 0, where: x .< lo)
        out = out.replacing(with: .infinity, where: x .> hi)
        return out
    }

    /// Scalar exp with the same algorithm as `exp8` (for tails).
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float { exp8(SIMD8(repeating: x))[0] }

    /// Maximum of `x[0..<n]`.
    @inlinable @inline(__always)
    public static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m8 = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        while i + 8 <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            m8 = m8.replacing(with: v, where: v .> m8); i += 8
        }
        var m = m8.max()
        while i < n { m = Swift.max(m, x[i]); i += 1 }
        return m
    }

    /// y[i] = exp(x[i] − shift) for i < n; returns Σ y (accumulated in Double).
    /// `x` and `y` may be the same buffer.
    @inlinable @inline(__always)
    @discardableResult
    public static func expShifted(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                                  shift: Float) -> Double {
        let s8 = SIMD8<Float>(repeating: shift)
        var acc = SIMD8<Float>(repeating: 0)
        var total = 0.0
        var i = 0
        var blocks = 0
        while i + 8 <= n {
            let e = exp8(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - s8)
            UnsafeMutableRawPointer(y + i).storeBytes(of: e, as: SIMD8<Float>.self)
            acc += e; i += 8; blocks += 1
            // Flush to Double every 256 blocks so very long rows keep precision.
            if blocks & 255 == 0 { total += Double(acc.sum()); acc = .zero }
        }
        total += Double(acc.sum())
        while i < n { let e = exp(x[i] - shift); y[i] = e; total += Double(e); i += 1 }
        return total
    }

    /// x[i] *= s for i < n.
    @inlinable @inline(__always)
    public static func scale(_ x: UnsafeMutablePointer<Float>, _ n: Int, by s: Float) {
        var i = 0
        let s8 = SIMD8<Float>(repeating: s)
        while i + 8 <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) * s8
            UnsafeMutableRawPointer(x + i).storeBytes(of: v, as: SIMD8<Float>.self); i += 8
        }
        while i < n { x[i] *= s; i += 1 }
    }

    /// Σ x[i]·y[i] for i < n (fp32 lanes, Double final sum).
    @inlinable @inline(__always)
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            acc = acc.addingProduct(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self),
                                    UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)); i += 8
        }
        var s = acc.sum()
        while i < n { s += x[i] * y[i]; i += 1 }
        return s
    }

    /// y[i] += a·x[i] for i < n.
    @inlinable @inline(__always)
    public static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let a8 = SIMD8<Float>(repeating: a)
        var i = 0
        while i + 8 <= n {
            let v = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
                .addingProduct(a8, UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
            UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: SIMD8<Float>.self); i += 8
        }
        while i < n { y[i] += a * x[i]; i += 1 }
    }

    /// y[i] += x[i] for i < n.
    @inlinable @inline(__always)
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n {
            let v = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
                + UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: SIMD8<Float>.self); i += 8
        }
        while i < n { y[i] += x[i]; i += 1 }
    }
}
