import Checkpoint
import Configs
import Foundation
import Objectives
@testable import Roles
import Tensors
import Transformer
import XCTest

/// The FLaG head file in the checkpoint shard format: a save→load round trip is
/// bit-exact, damage is detected with a clear message, a head of the wrong width
/// is refused by the live path, and the JSON heads of earlier versions still load.
final class FLaGHeadCheckpointTests: XCTestCase {
    static let modelDim = 8

    /// A random head with a projection on 3·8 + 7 features and a fitted standardiser.
    func head(layer: Int? = nil) -> (FLaGHeadFile, FLaGDataset) {
        let R = 3 * Self.modelDim, D = R + FLaGTokenFeatures.count, rows = 20
        var rng = Rng(seed: 5)
        let data = FLaGDataset(features: (0..<(rows * D)).map { _ in rng.normal() * 3 + 1 }, labels: (0..<rows).map { $0 % 2 },
                               groups: (0..<rows).map { "q\($0)" }, representationDim: R, tokenDim: FLaGTokenFeatures.count)
        let shape = FLaGHeadShape(representationDim: R, tokenDim: FLaGTokenFeatures.count, projectionDim: 4, groups: 3, temperature: 0.7)
        let h = FLaGHeadFile(kind: "flag", shape: shape, weights: FLaGLossWeights(rank: 0.5, balance: 0.01), hidden: nil,
                             standardizer: FLaGStandardizer(fitting: data),
                             parameters: FLaGHead.initialParameters(shape: shape, seed: 9, scale: 2), validationAUROC: 0.8125,
                             epochs: 17, layer: layer)
        return (h, data)
    }

    func headPath(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "flag-ckpt-\(getpid())-\(name)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir + "/head.shard"
    }

    func testRoundTripIsBitExactAndScoresIdentically() throws {
        let (h, data) = head(layer: 1)
        let path = headPath("roundtrip")
        try h.write(path: path)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(8)), Array("ISPOCKPT".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
        let back = try FLaGHeadFile.read(path: path)
        XCTAssertEqual(back.parameters.map { $0.bitPattern }, h.parameters.map { $0.bitPattern })
        XCTAssertEqual(back.standardizer.mean.map { $0.bitPattern }, h.standardizer.mean.map { $0.bitPattern })
        XCTAssertEqual(back.standardizer.std.map { $0.bitPattern }, h.standardizer.std.map { $0.bitPattern })
        XCTAssertEqual(back.shape, h.shape)
        XCTAssertEqual(back.weights, h.weights)
        XCTAssertEqual(back.kind, "flag")
        XCTAssertEqual(back.layer, 1)
        XCTAssertEqual(back.epochs, 17)
        XCTAssertEqual(back.validationAUROC, 0.8125)
        XCTAssertEqual(back.scores(data).map { $0.bitPattern }, h.scores(data).map { $0.bitPattern })
        XCTAssertEqual(back.routedGroups(data), h.routedGroups(data))
    }

    func testMLPHeadRoundTrips() throws {
        let (flag, data) = head()
        let H = 5
        let mlp = FLaGHeadFile(kind: "mlp", shape: nil, weights: nil, hidden: H, standardizer: flag.standardizer,
                               parameters: FLaGMLPProbe.initialParameters(inputDim: data.dim, hidden: H, seed: 4),
                               validationAUROC: nil, epochs: 3)
        let path = headPath("mlp")
        try mlp.write(path: path)
        let back = try FLaGHeadFile.read(path: path)
        XCTAssertEqual(back.hidden, H)
        XCTAssertNil(back.validationAUROC)
        XCTAssertEqual(back.scores(data).map { $0.bitPattern }, mlp.scores(data).map { $0.bitPattern })
    }

    /// A single-byte change anywhere is either refused (header, table or tensor CRC, zstd
    /// frame check) or provably harmless: a few zstd frame bits do not change what the
    /// frame decodes to, and the decoded bytes are CRC-checked, so such a file loads
    /// bit-identical values. Truncated and empty files are refused; every message says
    /// what was expected and to retrain.
    func testCorruptedOrTruncatedFileIsDetected() throws {
        let (h, _) = head()
        let path = headPath("corrupt")
        try h.write(path: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let damaged = headPath("corrupt-copy")
        var caught = 0, harmless = 0
        for offset in stride(from: 0, to: good.count, by: max(1, good.count / 97)) {
            var bad = good
            bad[offset] ^= 0x10
            try bad.write(to: URL(fileURLWithPath: damaged))
            do {
                let back = try FLaGHeadFile.read(path: damaged)
                harmless += 1
                XCTAssertEqual(back.parameters.map { $0.bitPattern }, h.parameters.map { $0.bitPattern }, "byte \(offset) flipped")
                XCTAssertEqual(back.standardizer, h.standardizer, "byte \(offset) flipped")
                XCTAssertEqual(back.shape, h.shape, "byte \(offset) flipped")
            } catch let e as CheckpointError {
                caught += 1
                XCTAssertTrue(e.description.contains("expected"), e.description)
                XCTAssertTrue(e.description.contains("detect train"), e.description)
            }
        }
        print("[roles] FLaG head file: \(caught) single-byte flips refused, \(harmless) decoded to identical values")
        XCTAssertGreaterThan(caught, 90)
        try good.prefix(good.count - 5).write(to: URL(fileURLWithPath: damaged))
        XCTAssertThrowsError(try FLaGHeadFile.read(path: damaged)) { e in
            XCTAssertEqual((e as? CheckpointError)?.kind, .truncated, "\(e)")
        }
        try Data().write(to: URL(fileURLWithPath: damaged))
        XCTAssertThrowsError(try FLaGHeadFile.read(path: damaged)) { e in
            XCTAssertTrue("\(e)".contains("empty file") && "\(e)".contains("detect train"), "\(e)")
        }
    }

    func liveConfig(head: String, layer: Int = -1) -> FLaGConfig {
        var c = FLaGConfig()
        c.enable = true; c.head = head; c.layer = layer
        return c
    }

    func model(dim: Int) -> Transformer.ModelConfig {
        Transformer.ModelConfig(vocabSize: 23, dim: dim, layers: 2, heads: 2, kvHeads: 1, ffnDim: 24, maxSeqLen: 32)
    }

    func testLivePathLoadsTheCheckpointAndRefusesAWrongWidthHead() throws {
        let (h, _) = head()
        let path = headPath("live")
        try h.write(path: path)
        let live = try FLaGLive(config: liveConfig(head: path), model: model(dim: Self.modelDim))
        XCTAssertEqual(live?.head.parameters, h.parameters)
        XCTAssertThrowsError(try FLaGLive(config: liveConfig(head: path), model: model(dim: 2 * Self.modelDim))) { e in
            XCTAssertTrue("\(e)".contains("expected a head on \(3 * 2 * Self.modelDim + 7) features"), "\(e)")
        }
    }

    func testLivePathRefusesAHeadTrainedAtAnotherLayer() throws {
        let (h, _) = head(layer: 1)
        let path = headPath("layer")
        try h.write(path: path)
        XCTAssertNotNil(try FLaGLive(config: liveConfig(head: path, layer: 1), model: model(dim: Self.modelDim)))
        XCTAssertThrowsError(try FLaGLive(config: liveConfig(head: path), model: model(dim: Self.modelDim))) { e in
            XCTAssertTrue("\(e)".contains("flag.layer=1"), "\(e)")
        }
    }

    /// A head whose parameter count does not fit its recorded shape is refused on read.
    func testInconsistentHeadIsRefused() throws {
        var (h, _) = head()
        h.parameters.removeLast()
        let path = headPath("inconsistent")
        try h.write(path: path)
        XCTAssertThrowsError(try FLaGHeadFile.read(path: path)) { e in
            XCTAssertEqual((e as? CheckpointError)?.kind, .malformed, "\(e)")
        }
    }

    func testLegacyJSONHeadStillLoadsAndGarbageSaysRetrain() throws {
        let (h, data) = head()
        let path = headPath("legacy")
        try JSONEncoder().encode(h).write(to: URL(fileURLWithPath: path))
        let back = try FLaGHeadFile.read(path: path)
        XCTAssertEqual(back.scores(data), h.scores(data))
        try Data("{\"format_version\": 1, \"kind\": \"flag\"}".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try FLaGHeadFile.read(path: path)) { e in
            XCTAssertTrue("\(e)".contains("Retrain the head with `ispo-cluster detect train`"), "\(e)")
        }
        try Data("not a head".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try FLaGHeadFile.read(path: path)) { e in
            XCTAssertEqual((e as? CheckpointError)?.kind, .wrongFormat, "\(e)")
        }
    }
}
