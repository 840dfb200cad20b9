import Tensors

/// Helpers shared by the layer tests: seeded inputs, Double oracles and
/// central finite differences.
enum Oracle {
    /// Seeded values in [-scale, scale).
    static func random(_ n: Int, seed: UInt64, scale: Double = 1) -> [Float] {
        var rng = Rng(seed: seed)
        return (0..<n).map { _ in Float((rng.uniform() * 2 - 1) * scale) }
    }

    /// ∂f/∂x by central differences in Double (h = 1e-5: truncation error
    /// ~h² ≈ 1e-10, rounding ~1e-16/h ≈ 1e-11 for O(1) functions).
    static func gradient(of f: ([Double]) -> Double, at x: [Double], h: Double = 1e-5) -> [Double] {
        var x = x
        return (0..<x.count).map { i in
            let keep = x[i]
            x[i] = keep + h; let up = f(x)
            x[i] = keep - h; let down = f(x)
            x[i] = keep
            return (up - down) / (2 * h)
        }
    }

    /// max |a − b| / max(max|b|, floor).
    static func relativeError(_ a: [Float], _ b: [Double], floor: Double = 1e-6) -> Double {
        precondition(a.count == b.count, "size mismatch \(a.count) vs \(b.count)")
        let scale = max(b.map { abs($0) }.max() ?? 0, floor)
        var e = 0.0
        for i in 0..<a.count { e = max(e, abs(Double(a[i]) - b[i])) }
        return e / scale
    }

    /// Σ r·y, the scalar whose gradient w.r.t. y is r.
    static func project(_ y: [Double], _ r: [Float]) -> Double {
        var s = 0.0
        for i in 0..<y.count { s += y[i] * Double(r[i]) }
        return s
    }
}

/// Forward oracles in Double, written from the formulas, not from the kernels.
enum Naive {
    static func linear(_ x: [Double], _ w: [Double], _ b: [Double]?, n: Int, ic: Int, oc: Int) -> [Double] {
        var y = [Double](repeating: 0, count: n * oc)
        for r in 0..<n { for o in 0..<oc {
            var s = b?[o] ?? 0
            for i in 0..<ic { s += x[r * ic + i] * w[o * ic + i] }
            y[r * oc + o] = s
        } }
        return y
    }

    static func rmsnorm(_ x: [Double], _ w: [Double], n: Int, c: Int, eps: Double) -> [Double] {
        var y = x
        for r in 0..<n {
            var ms = 0.0
            for i in 0..<c { ms += x[r * c + i] * x[r * c + i] }
            let s = 1 / (ms / Double(c) + eps).squareRoot()
            for i in 0..<c { y[r * c + i] = x[r * c + i] * s * w[i] }
        }
        return y
    }

    static func swiglu(_ g: [Double], _ u: [Double]) -> [Double] {
        (0..<g.count).map { i in g[i] / (1 + Foundation.exp(-g[i])) * u[i] }
    }

    /// x: (N, heads, hd); position of row n is positions[n].
    static func rope(_ x: [Double], positions: [Int], heads: Int, hd: Int, theta: Double, interleaved: Bool) -> [Double] {
        var y = x
        let half = hd / 2
        for (n, p) in positions.enumerated() { for h in 0..<heads { for i in 0..<half {
            let a = Double(p) * Foundation.pow(theta, -2 * Double(i) / Double(hd))
            let ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + half
            let base = (n * heads + h) * hd
            let u = x[base + ia], v = x[base + ib]
            y[base + ia] = u * Foundation.cos(a) - v * Foundation.sin(a)
            y[base + ib] = u * Foundation.sin(a) + v * Foundation.cos(a)
        } } }
        return y
    }

    /// Causal GQA attention. q: (B,T,H,hd), k/v: (B,T,G,hd).
    static func attention(q: [Double], k: [Double], v: [Double], b B: Int, t T: Int, h H: Int, g G: Int, hd: Int) -> [Double] {
        var out = [Double](repeating: 0, count: B * T * H * hd)
        for b in 0..<B { for h in 0..<H {
            let g = h / (H / G)
            for t in 0..<T {
                var s = [Double](repeating: 0, count: t + 1)
                for j in 0...t {
                    var d = 0.0
                    for i in 0..<hd { d += q[((b * T + t) * H + h) * hd + i] * k[((b * T + j) * G + g) * hd + i] }
                    s[j] = d / Double(hd).squareRoot()
                }
                let m = s.max()!
                let e = s.map { Foundation.exp($0 - m) }
                let z = e.reduce(0, +)
                for i in 0..<hd {
                    var acc = 0.0
                    for j in 0...t { acc += e[j] / z * v[((b * T + j) * G + g) * hd + i] }
                    out[((b * T + t) * H + h) * hd + i] = acc
                }
            }
        } }
        return out
    }
}

import Foundation
