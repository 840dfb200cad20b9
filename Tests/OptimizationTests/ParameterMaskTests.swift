import Optimization
import Tensors
import Transformer
import XCTest

/// Parameter masks: the range algebra, the per-head ranges of a layout, and
/// AdamW leaving frozen parameters and moments bit-identical.
final class ParameterMaskTests: XCTestCase {
    /// GQA (4 query heads, 2 KV heads), head dim 2, QKV biases, 2 blocks.
    static let config = ModelConfig(vocabSize: 11, dim: 8, layers: 2, heads: 4, kvHeads: 2, ffnDim: 12, maxSeqLen: 8,
                                    qkvBias: true)

    func testRangesAreSortedMergedAndComplemented() {
        let m = ParameterMask(totalCount: 20, ranges: [10..<12, 2..<4, 3..<6, 6..<7, 15..<15, 18..<20])
        XCTAssertEqual(m.ranges, [2..<7, 10..<12, 18..<20])
        XCTAssertEqual(m.selectedCount, 9)
        XCTAssertEqual(m.complement.ranges, [0..<2, 7..<10, 12..<18])
        XCTAssertEqual(m.complement.complement, m)
        XCTAssertEqual(ParameterMask.allBut([2..<7], totalCount: 9).ranges, [0..<2, 7..<9])
        XCTAssertEqual(ParameterMask.all(totalCount: 5).complement.ranges, [])
        XCTAssertEqual((0..<20).filter { m.contains($0) }, [2, 3, 4, 5, 6, 10, 11, 18, 19])
        XCTAssertEqual(m.localRanges(in: 5..<19), [0..<2, 5..<7, 13..<14])
        let g = FlatBuffer([Float](repeating: 1, count: 20))
        m.zeroFrozen(g.pointer + 5, shard: 5..<19)
        XCTAssertEqual(g.toArray(), [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1])
    }

    func testHeadRangesOfOneHeadByHand() {
        let layout = ParameterLayout(config: Self.config)
        XCTAssertEqual(layout.attentionLayers, 2)
        XCTAssertEqual(layout.attentionHeads.count, 8)
        let p = "model.layers.1.self_attn."
        let q = layout[p + "q_proj.weight"].offset, k = layout[p + "k_proj.weight"].offset
        let v = layout[p + "v_proj.weight"].offset, o = layout[p + "o_proj.weight"].offset
        let qb = layout[p + "q_proj.bias"].offset, kb = layout[p + "k_proj.bias"].offset, vb = layout[p + "v_proj.bias"].offset
        // Query head 3 → rows 6, 7 (8 floats each); KV head 3 / (4/2) = 1 → rows 2, 3;
        // O input columns 6, 7 of each of its 8 rows of width 8.
        var expected = [(q + 48)..<(q + 64), (k + 16)..<(k + 32), (v + 16)..<(v + 32),
                        (qb + 6)..<(qb + 8), (kb + 2)..<(kb + 4), (vb + 2)..<(vb + 4)]
        expected += (0..<8).map { r in (o + r * 8 + 6)..<(o + r * 8 + 8) }
        XCTAssertEqual(layout.headRanges(AttentionHead(layer: 1, head: 3)), expected.sorted { $0.lowerBound < $1.lowerBound })
        XCTAssertEqual(layout.headWeightRanges(AttentionHead(layer: 1, head: 3)),
                       [(q + 48)..<(q + 64), (k + 16)..<(k + 32), (v + 16)..<(v + 32)])
    }

    func testAllHeadsCoverExactlyTheAttentionProjections() {
        let layout = ParameterLayout(config: Self.config)
        let union = ParameterMask.only(layout.headRanges(layout.attentionHeads), totalCount: layout.totalCount)
        var expected = [Bool](repeating: false, count: layout.totalCount)
        for e in layout.entries where e.name.contains("self_attn.") { for i in e.range { expected[i] = true } }
        XCTAssertEqual((0..<layout.totalCount).map { union.contains($0) }, expected)
        // Query heads own disjoint Q rows and O columns.
        var owner = [Int](repeating: 0, count: layout.totalCount)
        for h in layout.attentionHeads {
            for r in layout.headRanges(h) { for i in r { owner[i] += 1 } }
        }
        for e in layout.entries where e.name.contains("q_proj") || e.name.contains("o_proj") {
            XCTAssertTrue(e.range.allSatisfy { owner[$0] == 1 }, e.name)
        }
        // Each KV head is shared by the 2 query heads of its group.
        for e in layout.entries where e.name.contains("k_proj") || e.name.contains("v_proj") {
            XCTAssertTrue(e.range.allSatisfy { owner[$0] == 2 }, e.name)
        }
    }

    /// One masked AdamW step with weight decay and non-zero starting moments.
    /// Returns (parameters, m, v) before and after, and an unmasked run's after.
    func step(mask: ParameterMask, shard: Range<Int>, layout: ParameterLayout)
        -> (before: [[Float]], after: [[Float]], unmasked: [[Float]], grads: [Float]) {
        var rng = Rng(seed: 99)
        let P = layout.totalCount
        let params = (0..<P).map { _ in Float(rng.normal() * 0.1) }
        let grads = (0..<P).map { _ in Float(rng.normal() * 0.01) }
        let m0 = (0..<shard.count).map { _ in Float(rng.normal() * 0.001) }
        let v0 = (0..<shard.count).map { _ in Float(rng.uniform() * 1e-4) }
        let segments = layout.entries.map { DecaySegment(range: $0.range, decays: $0.decays) }
        let cfg = AdamWConfig(lr: 1e-2, weightDecay: 0.1)
        func run(_ trainable: ParameterMask?) -> ([[Float]], [Float]) {
            let p = FlatBuffer(params), g = FlatBuffer(grads)
            let opt = AdamW(config: cfg, shard: shard, segments: segments, trainable: trainable)
            opt.m.write(m0); opt.v.write(v0)
            trainable?.zeroFrozen(g.pointer + shard.lowerBound, shard: shard)
            opt.step(parameters: p.pointer + shard.lowerBound, gradients: g.pointer + shard.lowerBound, lr: 1e-2)
            return ([p.slice(shard), opt.m.toArray(), opt.v.toArray()], g.toArray())
        }
        let (after, g) = run(mask)
        return ([Array(params[shard]), m0, v0], after, run(nil).0, g)
    }

    func testMaskedAdamWLeavesFrozenParametersAndMomentsBitIdentical() {
        let layout = ParameterLayout(config: Self.config)
        let heads = [AttentionHead(layer: 0, head: 1), AttentionHead(layer: 1, head: 2)]
        let only = ParameterMask.only(layout.headRanges(heads), totalCount: layout.totalCount)
        let allBut = ParameterMask.allBut(layout.headRanges(heads), totalCount: layout.totalCount)
        for mask in [only, allBut] {
            for shard in [0..<layout.totalCount, 37..<(layout.totalCount - 50)] {
                let r = step(mask: mask, shard: shard, layout: layout)
                var frozen = 0, trained = 0
                for j in 0..<shard.count {
                    let i = shard.lowerBound + j
                    if mask.contains(i) {
                        trained += 1
                        XCTAssertNotEqual(r.after[0][j].bitPattern, r.before[0][j].bitPattern, "parameter \(i) should move")
                        for t in 0..<3 { XCTAssertEqual(r.after[t][j].bitPattern, r.unmasked[t][j].bitPattern, "element \(i) as without a mask") }
                    } else {
                        frozen += 1
                        XCTAssertEqual(r.grads[i], 0, "gradient \(i) zeroed")
                        for t in 0..<3 { XCTAssertEqual(r.after[t][j].bitPattern, r.before[t][j].bitPattern, "frozen element \(i), buffer \(t)") }
                    }
                }
                XCTAssertGreaterThan(frozen, 0); XCTAssertGreaterThan(trained, 0)
            }
        }
    }
}
