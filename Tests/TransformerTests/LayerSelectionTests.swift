import Foundation
import Tensors
@testable import Transformer
import XCTest

/// `Model.keepingLayers`: layer-dropped students start from the teacher's weights.
final class LayerSelectionTests: XCTestCase {
    func model(layers: Int) throws -> Model {
        let cfg = ModelConfig(vocabSize: 40, dim: 32, layers: layers, heads: 4, kvHeads: 2, ffnDim: 48, maxSeqLen: 16)
        let m = try Model(config: cfg)
        m.initialize(seed: 3)
        return m
    }

    func logits(_ m: Model, _ tokens: [Int32]) -> [Float] {
        let block = m.forward(TokenBatch(batchSize: 1, seqLen: tokens.count, tokens: tokens))
        return Array(UnsafeBufferPointer(start: block.row(0), count: block.vocab * tokens.count))
    }

    func testEvenlySpacedLayersKeepFirstAndLast() {
        XCTAssertEqual(Model.evenlySpacedLayers(keep: 10, of: 30), [0, 3, 6, 10, 13, 16, 19, 23, 26, 29])
        XCTAssertEqual(Model.evenlySpacedLayers(keep: 2, of: 5), [0, 4])
        XCTAssertEqual(Model.evenlySpacedLayers(keep: 1, of: 5), [0])
        XCTAssertEqual(Model.evenlySpacedLayers(keep: 4, of: 4), [0, 1, 2, 3])
    }

    /// Keeping every layer reproduces the model bit for bit.
    func testKeepingAllLayersIsTheSameModel() throws {
        let m = try model(layers: 3)
        let copy = try m.keepingLayers([0, 1, 2])
        XCTAssertEqual(copy.parameters.toArray(), m.parameters.toArray())
        XCTAssertEqual(logits(copy, [1, 5, 9, 2]), logits(m, [1, 5, 9, 2]))
    }

    /// Keeping layers 0 and 2 of three equals a two-layer model loaded with
    /// exactly those layers' tensors (and differs from keeping 0 and 1).
    func testKeptLayersCarryTheirOwnWeights() throws {
        let m = try model(layers: 3)
        let kept = try m.keepingLayers([0, 2])
        XCTAssertEqual(kept.config.layers, 2)
        let two = try model(layers: 2)
        var tensors = m.namedTensors()
        for (name, t) in m.namedTensors() where name.hasPrefix("model.layers.2.") {
            tensors[name.replacingOccurrences(of: "model.layers.2.", with: "model.layers.1.")] = t
        }
        tensors = tensors.filter { !$0.key.hasPrefix("model.layers.2.") }
        try two.load(tensors)
        XCTAssertEqual(kept.parameters.toArray(), two.parameters.toArray())
        let other = try m.keepingLayers([0, 1])
        XCTAssertNotEqual(logits(kept, [3, 4, 5]), logits(other, [3, 4, 5]))
    }

    func testBadLayerIndicesAreRejectedWithTheValidRange() throws {
        let m = try model(layers: 3)
        XCTAssertThrowsError(try m.keepingLayers([0, 3])) { error in
            XCTAssertTrue("\(error)".contains("0..<3"), "\(error)")
        }
        XCTAssertThrowsError(try m.keepingLayers([]))
    }
}
