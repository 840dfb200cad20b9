import Foundation
import Layers
import Tensors
import XCTest

/// Every layer's forward against a Double oracle, every backward against
/// central finite differences of that oracle.
final class LayerTests: XCTestCase {
    /// fp32 kernels vs Double oracles, max error relative to the output's
    /// magnitude. Measured ≤ 1.3e-7 over every check below (each prints its own).
    static let forwardTolerance = 2e-6
    /// fp32 backward vs finite differences of the Double oracle (h = 1e-5);
    /// measured ≤ 1.3e-7.
    static let backwardTolerance = 2e-6

    func d(_ a: [Float]) -> [Double] { a.map(Double.init) }

    /// Asserts and prints the measured error, so the tolerances above stay honest.
    func assertClose(_ a: [Float], _ b: [Double], _ tolerance: Double, _ label: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        let err = Oracle.relativeError(a, b)
        print("[layers] \(label) line \(line): relative error \(err)")
        XCTAssertLessThan(err, tolerance, label, file: file, line: line)
    }

    func testLinearForwardBackward() {
        let n = 3, ic = 5, oc = 4
        let x = Oracle.random(n * ic, seed: 1), w = Oracle.random(oc * ic, seed: 2), b = Oracle.random(oc, seed: 3)
        let r = Oracle.random(n * oc, seed: 4)
        var y = [Float](repeating: 0, count: n * oc)
        Linear.forward(out: &y, x: x, weight: w, bias: b, rows: n, inChannels: ic, outChannels: oc)
        assertClose(y, Naive.linear(d(x), d(w), d(b), n: n, ic: ic, oc: oc), Self.forwardTolerance, #function)
        var dx = [Float](repeating: 0, count: n * ic), dw = [Float](repeating: 0, count: oc * ic), db = [Float](repeating: 0, count: oc)
        Linear.backward(dx: &dx, accumulateInput: false, dweight: &dw, dbias: &db, dout: r, x: x, weight: w,
                        rows: n, inChannels: ic, outChannels: oc)
        let fx = Oracle.gradient(of: { Oracle.project(Naive.linear($0, self.d(w), self.d(b), n: n, ic: ic, oc: oc), r) }, at: d(x))
        let fw = Oracle.gradient(of: { Oracle.project(Naive.linear(self.d(x), $0, self.d(b), n: n, ic: ic, oc: oc), r) }, at: d(w))
        let fb = Oracle.gradient(of: { Oracle.project(Naive.linear(self.d(x), self.d(w), $0, n: n, ic: ic, oc: oc), r) }, at: d(b))
        assertClose(dx, fx, Self.backwardTolerance, #function)
        assertClose(dw, fw, Self.backwardTolerance, #function)
        assertClose(db, fb, Self.backwardTolerance, #function)
        // Accumulation: a second backward adds the same amounts.
        Linear.backward(dx: &dx, accumulateInput: true, dweight: &dw, dbias: &db, dout: r, x: x, weight: w,
                        rows: n, inChannels: ic, outChannels: oc)
        assertClose(dw, fw.map { 2 * $0 }, Self.backwardTolerance, #function)
        assertClose(dx, fx.map { 2 * $0 }, Self.backwardTolerance, #function)
    }

    func testRMSNormForwardBackward() {
        let n = 4, c = 8
        let eps: Float = 1e-5
        let x = Oracle.random(n * c, seed: 5), w = Oracle.random(c, seed: 6).map { 1 + $0 * 0.5 }
        let r = Oracle.random(n * c, seed: 7)
        var y = [Float](repeating: 0, count: n * c), rstd = [Float](repeating: 0, count: n)
        RMSNorm.forward(out: &y, rstd: &rstd, x: x, weight: w, rows: n, channels: c, eps: eps)
        assertClose(y, Naive.rmsnorm(d(x), d(w), n: n, c: c, eps: Double(eps)), Self.forwardTolerance, #function)
        var dx = [Float](repeating: 0, count: n * c), dw = [Float](repeating: 0, count: c)
        RMSNorm.backward(dx: &dx, dweight: &dw, dout: r, x: x, weight: w, rstd: rstd, rows: n, channels: c)
        let fx = Oracle.gradient(of: { Oracle.project(Naive.rmsnorm($0, self.d(w), n: n, c: c, eps: Double(eps)), r) }, at: d(x))
        let fw = Oracle.gradient(of: { Oracle.project(Naive.rmsnorm(self.d(x), $0, n: n, c: c, eps: Double(eps)), r) }, at: d(w))
        assertClose(dx, fx, Self.backwardTolerance, #function)
        assertClose(dw, fw, Self.backwardTolerance, #function)
    }

    func testSwiGLUForwardBackward() {
        let n = 37  // not a multiple of 8: exercises the SIMD tail
        let g = Oracle.random(n, seed: 8, scale: 4), u = Oracle.random(n, seed: 9)
        let r = Oracle.random(n, seed: 10)
        var y = [Float](repeating: 0, count: n)
        SwiGLU.forward(out: &y, gate: g, up: u, count: n)
        assertClose(y, Naive.swiglu(d(g), d(u)), Self.forwardTolerance, #function)
        var dg = [Float](repeating: 0, count: n), du = [Float](repeating: 0, count: n)
        SwiGLU.backward(dgate: &dg, dup: &du, dout: r, gate: g, up: u, count: n)
        assertClose(dg, Oracle.gradient(of: { Oracle.project(Naive.swiglu($0, self.d(u)), r) }, at: d(g)), Self.backwardTolerance, #function)
        assertClose(du, Oracle.gradient(of: { Oracle.project(Naive.swiglu(self.d(g), $0), r) }, at: d(u)), Self.backwardTolerance, #function)
    }

    func testEmbeddingForwardBackwardWithRepeatedTokens() {
        let v = 6, c = 5
        let table = Oracle.random(v * c, seed: 11)
        let tokens: [Int32] = [3, 1, 3, 0]
        var y = [Float](repeating: 0, count: tokens.count * c)
        Embedding.forward(out: &y, tokens: tokens, table: table, rows: tokens.count, channels: c)
        for (n, t) in tokens.enumerated() { XCTAssertEqual(Array(y[n * c..<(n + 1) * c]), Array(table[Int(t) * c..<(Int(t) + 1) * c])) }
        let r = Oracle.random(tokens.count * c, seed: 12)
        var dt = [Float](repeating: 0, count: v * c)
        Embedding.backward(dtable: &dt, dout: r, tokens: tokens, rows: tokens.count, channels: c)
        let f = Oracle.gradient(of: { tab in
            var s = 0.0
            for (n, t) in tokens.enumerated() { for i in 0..<c { s += tab[Int(t) * c + i] * Double(r[n * c + i]) } }
            return s
        }, at: d(table))
        assertClose(dt, f, Self.backwardTolerance, #function)
    }

    func testRopeBothConventionsForwardBackward() {
        let rows = 5, heads = 3, hd = 8
        let positions: [Int32] = [0, 1, 4, 9, 15]
        for interleaved in [false, true] {
            let table = RopeTable(headDim: hd, maxPositions: 16, theta: 10000, interleaved: interleaved)
            let x = Oracle.random(rows * heads * hd, seed: 13)
            var y = x
            table.apply(&y, rows: rows, heads: heads, positions: positions)
            let ref = Naive.rope(d(x), positions: positions.map(Int.init), heads: heads, hd: hd, theta: 10000, interleaved: interleaved)
            assertClose(y, ref, Self.forwardTolerance, #function)
            // Backward is the inverse rotation of the upstream gradient.
            let r = Oracle.random(rows * heads * hd, seed: 14)
            var dx = r
            table.apply(&dx, rows: rows, heads: heads, positions: positions, inverse: true)
            let f = Oracle.gradient(of: { Oracle.project(Naive.rope($0, positions: positions.map(Int.init), heads: heads, hd: hd, theta: 10000, interleaved: interleaved), r) }, at: d(x))
            assertClose(dx, f, Self.backwardTolerance, #function)
        }
    }

    func testCausalGQAAttentionForwardBackward() {
      // One block, and blocks of 2 rows (the last one partial) for the masked-GEMM path.
      for blockRows in [64, 2] {
        let B = 2, T = 5, H = 4, G = 2, hd = 4
        let shape = AttentionShape(batch: B, seqLen: T, heads: H, kvHeads: G, headDim: hd, blockRows: blockRows)
        let q = Oracle.random(B * T * H * hd, seed: 15, scale: 2), k = Oracle.random(B * T * G * hd, seed: 16, scale: 2)
        let v = Oracle.random(B * T * G * hd, seed: 17)
        var out = [Float](repeating: 0, count: q.count), probs = [Float](repeating: 0, count: shape.probsCount)
        Attention.forward(out: &out, probs: &probs, q: q, k: k, v: v, shape: shape)
        let f = { (q: [Double], k: [Double], v: [Double]) in Naive.attention(q: q, k: k, v: v, b: B, t: T, h: H, g: G, hd: hd) }
        assertClose(out, f(d(q), d(k), d(v)), Self.forwardTolerance, #function)
        let r = Oracle.random(q.count, seed: 18)
        var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count), dv = dk
        var scratch = [Float](repeating: 0, count: shape.scratchCount)
        Attention.backward(dq: &dq, dk: &dk, dv: &dv, dout: r, probs: probs, q: q, k: k, v: v, scratch: &scratch, shape: shape)
        let fq = Oracle.gradient(of: { Oracle.project(f($0, self.d(k), self.d(v)), r) }, at: d(q))
        let fk = Oracle.gradient(of: { Oracle.project(f(self.d(q), $0, self.d(v)), r) }, at: d(k))
        let fv = Oracle.gradient(of: { Oracle.project(f(self.d(q), self.d(k), $0), r) }, at: d(v))
        assertClose(dq, fq, Self.backwardTolerance, #function)
        assertClose(dk, fk, Self.backwardTolerance, #function)
        assertClose(dv, fv, Self.backwardTolerance, #function)
      }
    }

    func testCachedAttentionMatchesNaiveForOneQuery() {
        // hd = 40 covers both the 32-lane register path and the scalar tail.
        let hd = 40, n = 13, stride = 2 * hd
        let q = Oracle.random(hd, seed: 20), keys = Oracle.random(n * stride, seed: 21), values = Oracle.random(n * stride, seed: 22)
        var scores = [Float](repeating: 0, count: n), out = [Float](repeating: 0, count: hd)
        CachedAttention.attend(q: q, keys: keys, values: values, count: n, headDim: hd, stride: stride,
                               scale: 1 / Float(hd).squareRoot(), scores: &scores, out: &out)
        // The same query as the last row of a length-n causal attention.
        var qs = [Double](repeating: 0, count: n * hd), ks = qs, vs = qs
        for j in 0..<n { for i in 0..<hd { ks[j * hd + i] = Double(keys[j * stride + i]); vs[j * hd + i] = Double(values[j * stride + i]) } }
        for i in 0..<hd { qs[(n - 1) * hd + i] = Double(q[i]) }
        let ref = Naive.attention(q: qs, k: ks, v: vs, b: 1, t: n, h: 1, g: 1, hd: hd)
        assertClose(out, Array(ref[((n - 1) * hd)...]), Self.forwardTolerance, #function)
    }

    func testLogitsStatsMatchDouble() {
        let n = 101
        let row = Oracle.random(n, seed: 19, scale: 20)
        let m = row.map(Double.init).max()!
        let z = row.map { Foundation.exp(Double($0) - m) }.reduce(0, +)
        let logZ = m + Foundation.log(z)
        let entropy = -row.map { Double($0) - logZ }.map { Foundation.exp($0) * $0 }.reduce(0, +)
        let got = LogitsMath.logProbAndEntropy(row, n, index: 7)
        XCTAssertEqual(Double(got.logProb), Double(row[7]) - logZ, accuracy: 1e-5)
        XCTAssertEqual(Double(got.entropy), entropy, accuracy: 1e-5)
    }
}
