import ModelIO
import Tensors
import TestSupport
import XCTest

/// Reference RoPE implementations for the equivalence check.
enum ReferenceRope {
    /// Rotates pairs (2i, 2i+1) of each head by pos·θ^(-2i/hd) (GGUF / llama.cpp).
    static func interleaved(_ x: [Float], heads: Int, pos: Int, theta: Float) -> [Float] {
        let hd = x.count / heads
        var out = x
        for h in 0 ..< heads {
            for i in 0 ..< hd / 2 {
                let angle = Double(pos) * pow(Double(theta), -2 * Double(i) / Double(hd))
                let (a, b) = (Double(x[h * hd + 2 * i]), Double(x[h * hd + 2 * i + 1]))
                out[h * hd + 2 * i] = Float(a * cos(angle) - b * sin(angle))
                out[h * hd + 2 * i + 1] = Float(a * sin(angle) + b * cos(angle))
            }
        }
        return out
    }

    /// Rotates pairs (i, i + hd/2) of each head by the same angles (Hugging Face).
    static func rotateHalf(_ x: [Float], heads: Int, pos: Int, theta: Float) -> [Float] {
        let hd = x.count / heads, half = hd / 2
        var out = x
        for h in 0 ..< heads {
            for i in 0 ..< half {
                let angle = Double(pos) * pow(Double(theta), -2 * Double(i) / Double(hd))
                let (a, b) = (Double(x[h * hd + i]), Double(x[h * hd + half + i]))
                out[h * hd + i] = Float(a * cos(angle) - b * sin(angle))
                out[h * hd + half + i] = Float(a * sin(angle) + b * cos(angle))
            }
        }
        return out
    }
}

final class RopeRowsTests: XCTestCase {
    func matvec(_ w: Tensor, _ x: [Float]) -> [Float] {
        let rows = w.shape[0], cols = w.shape[1]
        return (0 ..< rows).map { r in (0 ..< cols).reduce(Float(0)) { $0 + w.data[r * cols + $1] * x[$1] } }
    }

    /// Attention logits q_h · k_{h / group} for every query head.
    func scores(_ q: [Float], _ k: [Float], heads: Int, kvHeads: Int) -> [Float] {
        let hd = q.count / heads
        return (0 ..< heads).map { h in
            let g = h / (heads / kvHeads)
            return (0 ..< hd).reduce(Float(0)) { $0 + q[h * hd + $1] * k[g * hd + $1] }
        }
    }

    func testPermuteAndUnpermuteAreInverse() throws {
        var rng = SplitMix64(seed: 11)
        for (rows, heads, cols) in [(24, 3, 5), (8, 1, 1), (64, 4, 3), (12, 6, 2)] {
            let w = rng.tensor([rows, cols])
            XCTAssertEqual(try RopeRows.toRotateHalf(RopeRows.toInterleaved(w, heads: heads), heads: heads), w)
            XCTAssertEqual(try RopeRows.toInterleaved(RopeRows.toRotateHalf(w, heads: heads), heads: heads), w)
            let bias = rng.tensor([rows])
            XCTAssertEqual(try RopeRows.toRotateHalf(RopeRows.toInterleaved(bias, heads: heads), heads: heads), bias)
        }
        assertModelIOError(try RopeRows.toRotateHalf(Tensor(zeros: [6, 2]), heads: 2), kind: .shapeMismatch,
                           mentions: ["[6, 2]"])
    }

    /// Matches llama.cpp's `permute` (reshape(n_head, 2, hd/2, ...).swapaxes(1, 2)):
    /// within each head, HF rows A = [0, hd/2) and B = [hd/2, hd) interleave as A0 B0 A1 B1 ...
    func testMatchesLlamaCppPermute() throws {
        var rng = SplitMix64(seed: 12)
        let heads = 3, hd = 8, cols = 4
        let hf = rng.tensor([heads * hd, cols])
        var expected: [Float] = []
        for h in 0 ..< heads {
            let rows = (0 ..< hd).map { Array(hf.data[((h * hd + $0) * cols) ..< ((h * hd + $0 + 1) * cols)]) }
            for i in 0 ..< hd / 2 { expected += rows[i] + rows[hd / 2 + i] }
        }
        XCTAssertEqual(try RopeRows.toInterleaved(hf, heads: heads).data, expected)
        // So the first HF half of each head holds the even interleaved rows, the second half the odd ones.
        let gg = try RopeRows.toInterleaved(hf, heads: heads)
        let back = try RopeRows.toRotateHalf(gg, heads: heads)
        for c in 0 ..< cols {
            XCTAssertEqual(back.data[1 * cols + c], gg.data[2 * cols + c])  // HF row 1 = interleaved row 2.
            XCTAssertEqual(back.data[(hd / 2) * cols + c], gg.data[1 * cols + c])  // HF row hd/2 = row 1.
        }
    }

    /// Rotate-half RoPE on un-permuted Q/K gives the same attention scores as
    /// interleaved RoPE on the GGUF-layout weights (with GQA).
    func testRotateHalfOnUnpermutedEqualsInterleavedOnOriginal() throws {
        var rng = SplitMix64(seed: 13)
        let dim = 24, heads = 3, kvHeads = 1, hd = 8, theta: Float = 10000
        let wq = rng.tensor([heads * hd, dim]), wk = rng.tensor([kvHeads * hd, dim])
        let wqHF = try RopeRows.toRotateHalf(wq, heads: heads)
        let wkHF = try RopeRows.toRotateHalf(wk, heads: kvHeads)
        for (p1, p2) in [(0, 0), (5, 2), (17, 9), (100, 3)] {
            let x1 = (0 ..< dim).map { _ in rng.float() }, x2 = (0 ..< dim).map { _ in rng.float() }
            let qI = ReferenceRope.interleaved(matvec(wq, x1), heads: heads, pos: p1, theta: theta)
            let kI = ReferenceRope.interleaved(matvec(wk, x2), heads: kvHeads, pos: p2, theta: theta)
            let qR = ReferenceRope.rotateHalf(matvec(wqHF, x1), heads: heads, pos: p1, theta: theta)
            let kR = ReferenceRope.rotateHalf(matvec(wkHF, x2), heads: kvHeads, pos: p2, theta: theta)
            let sI = scores(qI, kI, heads: heads, kvHeads: kvHeads)
            let sR = scores(qR, kR, heads: heads, kvHeads: kvHeads)
            for (a, b) in zip(sI, sR) { XCTAssertEqual(a, b, accuracy: 1e-4, "positions \(p1), \(p2)") }
            // The rotated vectors themselves are the same permutation of each other.
            let qIasHF = try RopeRows.toRotateHalf(Tensor(shape: [heads * hd], data: qI), heads: heads).data
            for (a, b) in zip(qIasHF, qR) { XCTAssertEqual(a, b, accuracy: 1e-5) }
            // Sanity: skipping the un-permute changes the scores once positions differ.
            if p1 != p2 {
                let wrongQ = ReferenceRope.rotateHalf(matvec(wq, x1), heads: heads, pos: p1, theta: theta)
                let wrongK = ReferenceRope.rotateHalf(matvec(wk, x2), heads: kvHeads, pos: p2, theta: theta)
                let sW = scores(wrongQ, wrongK, heads: heads, kvHeads: kvHeads)
                XCTAssertGreaterThan(zip(sI, sW).map { abs($0 - $1) }.max() ?? 0, 1e-3)
            }
        }
    }
}
