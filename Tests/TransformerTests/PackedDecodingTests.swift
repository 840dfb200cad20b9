import Foundation
import Layers
import Platform
import Tensors
@testable import Transformer
import XCTest

/// Decoding on packed weights (the path `generate` takes for small batches):
/// same logits as the full forward, and re-packed whenever weights change.
final class PackedDecodingTests: XCTestCase {
    /// Packed-GEMM decoding vs the full forward (sgemm): fp32, different
    /// summation order; max abs logit difference ÷ max |logit|. With the ×5
    /// weights and 62-token sequences here the logits reach ±15: measured
    /// 1.1e-5 (packed) and 0.9e-5 (BLAS-cached path on the same sequences).
    static let packedRelativeTolerance: Float = 5e-5

    /// Sizes that are not multiples of the 16-column panels or 8-lane vectors:
    /// vocab 50, ffn 40, head dim 12 (attention tail), qkv width 48 + 2·24.
    func oddModel(_ style: RopeStyle, seed: UInt64) throws -> Model {
        try DecodeTestModels.scaled(style, dim: 48, ffn: 40, maxSeqLen: 70, seed: seed)
    }

    func fullLogits(_ model: Model, _ seq: [Int32]) -> [[Float]] { DecodeTestModels.fullLogits(model, seq) }

    /// Both decode engines, whatever this machine would pick; the packed one
    /// with the AVX2 and (where the CPU has it) the AVX-512 micro-kernel.
    func forEachEngine(_ body: (DecodeEngine) throws -> Void) rethrows {
        let savedKernel = PackedGemm.useAVX512, savedEngine = DecodeEngine.forced
        defer { DecodeEngine.forced = savedEngine; PackedGemm.useAVX512 = savedKernel }
        let runs: [(DecodeEngine, Bool)] = [(.packed, false), (.blas, false)]
            + (CPUFeatures.current().avx512 ? [(.packed, true)] : [])
        for (e, avx512) in runs {
            DecodeEngine.forced = e
            PackedGemm.useAVX512 = avx512
            try body(e)
        }
    }

    func testPackedDecodingReproducesFullForward() throws {
      try forEachEngine { engine in
        for style in RopeStyle.allCases {
            let model = try oddModel(style, seed: 7)
            let V = model.config.vocabSize
            // 17 sequences of different lengths decoded together (3 row blocks of the micro-kernel),
            // long enough (up to 66 positions) for several 32-key attention blocks.
            var rng = Rng(seed: 9)
            let seqs: [[Int32]] = (0..<17).map { i in (0..<(30 + 2 * i)).map { _ in Int32(rng.below(V)) } }
            let refs = seqs.map { fullLogits(model, $0) }
            // Same decode on the BLAS path (no packing), then on the packed path.
            func decodeError(packed usePacked: Bool) throws -> Float {
                let packed = usePacked ? try XCTUnwrap(model.preparePackedWeights(rows: seqs.count)) : nil
                if usePacked { XCTAssertEqual(packed?.engine, engine) }
                defer { packed?.valid = false }
                let cache = KVCache(config: model.config, slots: seqs.count)
                // Prefill the first 3 tokens of each (51 rows, several row blocks), then decode one token per step.
                var slots: [Int] = [], toks: [Int32] = []
                for (i, s) in seqs.enumerated() { slots += [i, i, i]; toks += s[0..<3] }
                _ = model.extend(cache: cache, slots: slots, tokens: toks, logitRows: [0])
                var worst: Float = 0
                for t in 3..<seqs.map(\.count).max()! {
                    let active = seqs.indices.filter { t < seqs[$0].count }
                    let out = model.extend(cache: cache, slots: active, tokens: active.map { seqs[$0][t] },
                                           logitRows: Array(active.indices))
                    for (k, i) in active.enumerated() {
                        for v in 0..<V { worst = max(worst, abs(out.row(k)[v] - refs[i][t][v])) }
                    }
                }
                return worst
            }
            let blas = try decodeError(packed: false), worst = try decodeError(packed: true)
            var scale: Float = 0
            for r in refs { for row in r { for x in row { scale = max(scale, abs(x)) } } }
            print("[decoding] \(engine) engine, \(style): max |BLAS-cached − full| = \(blas), max |packed − full| = \(worst), max |logit| = \(scale)")
            XCTAssertLessThan(worst / scale, Self.packedRelativeTolerance, "\(style)")
            XCTAssertLessThan(blas / scale, Self.packedRelativeTolerance, "\(style)")
        }
      }
    }

    /// Weights changed in place between calls (optimizer step, broadcast) must
    /// be seen by the next `generate`, and the packing must not outlive its call.
    func testGenerateRepacksAfterInPlaceWeightUpdates() throws {
      try forEachEngine { _ in
        let a = try oddModel(.rotateHalf, seed: 1), b = try oddModel(.rotateHalf, seed: 2)
        let prompts: [[Int32]] = [[1, 2, 3], [4, 5], [6]]
        let greedy = SamplingOptions(greedy: true, maxNewTokens: 12)
        let fromA = a.generate(prompts: prompts, options: greedy, seeds: [1, 2, 3])
        XCTAssertEqual(a.decodeWorkspace?.packed?.valid, false, "packing must be retired when generate returns")
        a.parameters.pointer.update(from: b.parameters.pointer, count: a.parameters.count)
        let fromAUpdated = a.generate(prompts: prompts, options: greedy, seeds: [1, 2, 3])
        let fromB = b.generate(prompts: prompts, options: greedy, seeds: [1, 2, 3])
        XCTAssertEqual(fromAUpdated.map(\.tokens), fromB.map(\.tokens))
        XCTAssertEqual(fromAUpdated.map(\.logProbs), fromB.map(\.logProbs))
        XCTAssertNotEqual(fromA.map(\.logProbs), fromB.map(\.logProbs), "the two models should differ")
        // Greedy decoding on the packed path follows the full forward's arg-max.
        for (p, c) in zip(prompts, fromB) {
            let full = fullLogits(b, p + c.tokens)
            for (i, tok) in c.tokens.enumerated() {
                let row = full[p.count - 1 + i]
                XCTAssertEqual(Int(tok), row.indices.max { row[$0] < row[$1] }!)
            }
        }
      }
    }
}
