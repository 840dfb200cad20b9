import Foundation
import ModelIO
import Tensors
import TestSupport
import Transformer
import XCTest

final class SafetensorsTests: XCTestCase {
    func testF32RoundTripIsBitExact() throws {
        let dir = try temporaryDirectory(self)
        var rng = SplitMix64(seed: 21)
        var special = rng.tensor([3, 4])
        special.data[0] = .nan
        special.data[1] = -0.0
        special.data[2] = .leastNonzeroMagnitude
        special.data[3] = .infinity
        let tensors = ["b.weight": rng.tensor([5, 7]), "a": special, "z.scalar": Tensor(shape: [1], data: [42])]
        let path = dir + "/m.safetensors"
        try writeSafetensors(tensors, to: path, metadata: ["format": "pt", "note": "q\"uote\n"])
        let (back, metadata) = try readSafetensors(path)
        XCTAssertEqual(metadata, ["format": "pt", "note": "q\"uote\n"])
        XCTAssertEqual(Set(back.keys), Set(tensors.keys))
        for (name, t) in tensors {
            XCTAssertEqual(back[name]?.shape, t.shape)
            XCTAssertEqual(back[name]?.data.map(\.bitPattern), t.data.map(\.bitPattern), name)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["m.safetensors"])  // No temp left.
    }

    func testHeaderLayoutFollowsHuggingFace() throws {
        let dir = try temporaryDirectory(self)
        let path = dir + "/h.safetensors"
        try writeSafetensors(["y": Tensor(shape: [2], data: [1, 2]), "x": Tensor(shape: [1, 3], data: [3, 4, 5])],
                             to: path, dtype: .bf16, metadata: ["format": "pt"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(n % 8, 0)
        let header = try XCTUnwrap(String(data: bytes[8 ..< 8 + n], encoding: .utf8))
        XCTAssertEqual(header.trimmingCharacters(in: .whitespaces),
                       #"{"__metadata__":{"format":"pt"},"x":{"dtype":"BF16","shape":[1,3],"data_offsets":[0,6]},"#
                           + #""y":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]}}"#)
        XCTAssertEqual(bytes.count, 8 + n + 10)
        // Overwriting an existing file works (rename over it).
        try writeSafetensors(["x": Tensor(shape: [1], data: [7])], to: path)
        XCTAssertEqual(try readSafetensors(path).tensors["x"]?.data, [7])
    }

    func testHalfPrecisionRoundTripsEqualRoundedValues() throws {
        let dir = try temporaryDirectory(self)
        var rng = SplitMix64(seed: 22)
        let t = rng.tensor([16, 9], scale: 300)
        for dtype in [SafetensorsDType.bf16, .f16] {
            let path = dir + "/\(dtype.rawValue).safetensors"
            try writeSafetensors(["t": t], to: path, dtype: dtype)
            let file = try SafetensorsFile(path: path)
            XCTAssertEqual(file.entries.first?.dtype, dtype.rawValue)
            let back = try file.tensor(named: "t")
            let rounded = t.data.map {
                dtype == .bf16 ? FloatBits.bfloat16ToFloat(FloatBits.floatToBFloat16($0))
                    : FloatBits.halfToFloat(FloatBits.floatToHalf($0))
            }
            XCTAssertEqual(back.data, rounded)
            XCTAssertNotEqual(back.data, t.data)
        }
    }

    func testReadsForeignLayoutAndRejectsNonFloatDtypes() throws {
        // Data stored in reverse name order, with an I64 tensor and metadata, as torch may write it.
        var header = #"{"w":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"#
            + #""ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}}"#
        while (header.utf8.count + 8) % 8 != 0 { header += " " }
        var bytes: [UInt8] = []
        bytes.u64(UInt64(header.utf8.count))
        bytes += Array(header.utf8)
        bytes.u64(7)
        bytes += [0x00, 0x3C, 0x00, 0xC0]
        let file = try SafetensorsFile(data: Data(bytes), path: "foreign.safetensors")
        XCTAssertEqual(file.entries.map(\.name), ["ids", "w"])
        XCTAssertEqual(try file.tensor(named: "w"), Tensor(shape: [2], data: [1, -2]))
        assertModelIOError(try file.tensor(named: "ids"), kind: .unsupportedType,
                           mentions: ["foreign.safetensors", "I64", "'ids'"])
    }

    /// Written by `safetensors.torch.save_file` (BF16, F16 and F32 tensors, `format: pt`).
    func testReadsFileWrittenByTheSafetensorsLibrary() throws {
        let base64 = "yAAAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXQiOiJwdCJ9LCJ4Ijp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsxXSwiZGF0YV9v"
            + "ZmZzZXRzIjpbMCw0XX0sInciOnsiZHR5cGUiOiJCRjE2Iiwic2hhcGUiOlsyLDNdLCJkYXRhX29mZnNldHMiOls0LDE2XX0sImIiOnsiZHR5"
            + "cGUiOiJGMTYiLCJzaGFwZSI6WzNdLCJkYXRhX29mZnNldHMiOlsxNiwyMl19fSAgIL03BjSAPyDASUAAAIM6gMcAOFW1/3s="
        let file = try SafetensorsFile(data: XCTUnwrap(Data(base64Encoded: base64)), path: "torch.safetensors")
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(try file.tensor(named: "w"),
                       Tensor(shape: [2, 3], data: [1, -2.5, 3.140625, 0, 0.00099945068359375, -65536]))
        XCTAssertEqual(try file.tensor(named: "b"), Tensor(shape: [3], data: [0.5, -0.333251953125, 65504]))
        XCTAssertEqual(try file.tensor(named: "x"), Tensor(shape: [1], data: [1.25e-7]))
    }

    func tinyModel(_ config: ModelConfig, seed: UInt64) -> [String: Tensor] {
        var rng = SplitMix64(seed: seed)
        var out: [String: Tensor] = [:]
        for e in ParameterLayout(config: config).entries { out[e.name] = rng.tensor(e.shape) }
        return out
    }

    func testExportImportRoundTripUnpermutesInterleavedQK() throws {
        let dir = try temporaryDirectory(self) + "/hf"
        let config = ModelConfig(vocabSize: 11, dim: 24, layers: 2, heads: 3, kvHeads: 1, ffnDim: 40,
                                 maxSeqLen: 128, ropeTheta: 100_000, ropeStyle: .interleaved, normEps: 1e-5,
                                 tiedEmbeddings: true, qkvBias: false)
        var tensors = tinyModel(config, seed: 31)
        tensors["lm_head.weight"] = tensors["model.embed_tokens.weight"]  // Dropped: tied.
        try exportHuggingFace(config: config, tensors: tensors, to: dir)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)),
                       ["config.json", "model.safetensors"])

        let (imported, weights) = try importHuggingFace(directory: dir)
        var expectedConfig = config
        expectedConfig.ropeStyle = .rotateHalf
        XCTAssertEqual(imported, expectedConfig)
        XCTAssertNil(weights["lm_head.weight"])
        XCTAssertEqual(weights.count, ParameterLayout(config: config).entries.count)
        for (name, t) in tensors where name != "lm_head.weight" {
            let heads = name.contains("q_proj") ? config.heads : config.kvHeads
            let expected = name.contains("q_proj") || name.contains("k_proj")
                ? try RopeRows.toRotateHalf(t, heads: heads) : t
            XCTAssertEqual(weights[name]?.data.map(\.bitPattern), expected.data.map(\.bitPattern), name)
            if name.contains("q_proj") || name.contains("k_proj") {
                XCTAssertEqual(try RopeRows.toInterleaved(XCTUnwrap(weights[name]), heads: heads), t)
            }
        }

        let json = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as? [String: Any]
        let j = try XCTUnwrap(json)
        XCTAssertEqual(j["architectures"] as? [String], ["LlamaForCausalLM"])
        XCTAssertEqual(j["model_type"] as? String, "llama")
        XCTAssertEqual(j["hidden_size"] as? Int, 24)
        XCTAssertEqual(j["intermediate_size"] as? Int, 40)
        XCTAssertEqual(j["num_attention_heads"] as? Int, 3)
        XCTAssertEqual(j["num_key_value_heads"] as? Int, 1)
        XCTAssertEqual(j["num_hidden_layers"] as? Int, 2)
        XCTAssertEqual(j["vocab_size"] as? Int, 11)
        XCTAssertEqual(j["max_position_embeddings"] as? Int, 128)
        XCTAssertEqual(j["rms_norm_eps"] as? Double, 1e-5)
        XCTAssertEqual(j["rope_theta"] as? Double, 100_000)
        XCTAssertEqual(j["tie_word_embeddings"] as? Bool, true)
        XCTAssertEqual(j["torch_dtype"] as? String, "float32")
        XCTAssertEqual(j["hidden_act"] as? String, "silu")
        XCTAssertEqual(try SafetensorsFile(path: dir + "/model.safetensors").metadata["format"], "pt")
    }

    func testQwen2ExportInBF16() throws {
        let dir = try temporaryDirectory(self) + "/qwen"
        let config = ModelConfig(vocabSize: 9, dim: 16, layers: 1, heads: 2, kvHeads: 2, ffnDim: 24,
                                 maxSeqLen: 32, ropeTheta: 1_000_000, ropeStyle: .rotateHalf, normEps: 1e-6,
                                 tiedEmbeddings: false, qkvBias: true)
        let tensors = tinyModel(config, seed: 32)
        try exportHuggingFace(config: config, tensors: tensors, to: dir, dtype: .bf16)
        let (imported, weights) = try importHuggingFace(directory: dir)
        XCTAssertEqual(imported, config)
        for (name, t) in tensors {  // rotate-half config: no row reordering, only rounding.
            XCTAssertEqual(weights[name]?.data, t.data.map { FloatBits.bfloat16ToFloat(FloatBits.floatToBFloat16($0)) })
        }
        let text = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
        XCTAssertTrue(text.contains("\"Qwen2ForCausalLM\""))
        XCTAssertTrue(text.contains("\"model_type\" : \"qwen2\""))
        XCTAssertTrue(text.contains("\"torch_dtype\" : \"bfloat16\""))
    }

    func testExportRejectsIncompleteOrWrongTensors() throws {
        let dir = try temporaryDirectory(self)
        let config = ModelConfig(vocabSize: 5, dim: 8, layers: 1, heads: 2, kvHeads: 2, ffnDim: 8, maxSeqLen: 8)
        var tensors = tinyModel(config, seed: 33)
        tensors["model.norm.weight"] = nil
        assertModelIOError(try exportHuggingFace(config: config, tensors: tensors, to: dir + "/a"),
                           kind: .missing, mentions: ["model.norm.weight"])
        tensors["model.norm.weight"] = Tensor(zeros: [9])
        assertModelIOError(try exportHuggingFace(config: config, tensors: tensors, to: dir + "/b"),
                           kind: .shapeMismatch, mentions: ["model.norm.weight", "[8]", "[9]"])
        tensors["model.norm.weight"] = Tensor(zeros: [8])
        tensors["rotary.inv_freq"] = Tensor(zeros: [2])
        assertModelIOError(try exportHuggingFace(config: config, tensors: tensors, to: dir + "/c"),
                           mentions: ["rotary.inv_freq"])
        assertModelIOError(try importHuggingFace(directory: dir + "/none"), kind: .unreadable,
                           mentions: ["config.json"])
    }

    func testImportChecksConfigAgainstWeights() throws {
        let dir = try temporaryDirectory(self)
        let config = ModelConfig(vocabSize: 5, dim: 8, layers: 1, heads: 2, kvHeads: 2, ffnDim: 8, maxSeqLen: 8)
        try exportHuggingFace(config: config, tensors: tinyModel(config, seed: 34), to: dir)
        let configPath = dir + "/config.json"
        var json = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: configPath))) as? [String: Any])
        json["intermediate_size"] = 16
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: configPath))
        assertModelIOError(try importHuggingFace(directory: dir), kind: .shapeMismatch,
                           mentions: ["model.safetensors", "gate_proj", "[16, 8]", "[8, 8]"])
        json["model_type"] = "gpt2"
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: configPath))
        assertModelIOError(try importHuggingFace(directory: dir), mentions: ["config.json", "model_type"])
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: configPath))
        assertModelIOError(try importHuggingFace(directory: dir), kind: .wrongFormat, mentions: ["config.json"])
    }
}
