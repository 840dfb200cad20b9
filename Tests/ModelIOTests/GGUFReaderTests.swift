import Foundation
import ModelIO
import Tensors
import TestSupport
import Tokenization
import Transformer
import XCTest

final class GGUFReaderTests: XCTestCase {
    func testMetadataOfEveryTypeRoundTrips() throws {
        var g = GGUFBuilder()
        let values: [(String, GGUFValue)] = [
            ("u8", .uint8(200)), ("i8", .int8(-100)), ("u16", .uint16(60000)), ("i16", .int16(-30000)),
            ("u32", .uint32(4_000_000_000)), ("i32", .int32(-2_000_000_000)), ("f32", .float32(3.25)),
            ("bool.t", .bool(true)), ("bool.f", .bool(false)), ("str", .string("héllo ✓")), ("empty", .string("")),
            ("u64", .uint64(.max)), ("i64", .int64(.min)), ("f64", .float64(-1e300)),
            ("arr.i32", .array([.int32(1), .int32(-2), .int32(3)])),
            ("arr.str", .array([.string("a"), .string(""), .string("Ġthe")])),
            ("arr.f32", .array([.float32(0.5), .float32(-0.25)])),
            ("arr.nested", .array([.array([.uint8(1), .uint8(2)]), .array([.uint8(3)])])),
            ("arr.empty", .array([])),
        ]
        for (k, v) in values { g.set(k, v) }
        let file = try GGUFFile(data: g.build(), path: "meta.gguf")
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.metadataKeys, values.map(\.0))
        for (k, v) in values { XCTAssertEqual(file[k], v, k) }
        XCTAssertEqual(file["u64"]?.intValue, nil)  // Does not fit in Int.
        XCTAssertEqual(file["u32"]?.intValue, 4_000_000_000)
        XCTAssertEqual(file["f32"]?.doubleValue, 3.25)
        XCTAssertEqual(file["arr.str"]?.stringArray, ["a", "", "Ġthe"])
        XCTAssertNil(file["arr.i32"]?.stringArray)
        XCTAssertTrue(file.tensors.isEmpty)
        XCTAssertEqual(file.alignment, 32)
    }

    func testTensorsRoundTripWithShapesReversed() throws {
        var g = GGUFBuilder()
        g.version = 2
        g.alignment = 64
        let f32: [Float] = [1, 2, 3, 4, 5, 6]
        g.add("plain", dims: [3, 2], type: .f32, bytes: Blocks.f32(f32))
        let q: [Int8] = (0 ..< 32).map { Int8($0 - 16) }
        g.add("q8", dims: [32, 2], type: .q8_0, bytes: Blocks.q8_0(d: 0x3C00, q) + Blocks.q8_0(d: 0x4000, q))
        g.add("vec", dims: [2], type: .f16, bytes: [0x00, 0x3C, 0x00, 0xC0])
        let file = try GGUFFile(data: g.build(), path: "t.gguf")
        XCTAssertEqual(file.version, 2)
        XCTAssertEqual(file.alignment, 64)
        XCTAssertEqual(file.dataOffset % 64, 0)
        XCTAssertEqual(file.tensors.map(\.name), ["plain", "q8", "vec"])

        let plain = try file.tensor(named: "plain")
        XCTAssertEqual(plain.shape, [2, 3])  // ne = [3, 2]: 2 rows of 3.
        XCTAssertEqual(plain.data, f32)
        let info = try XCTUnwrap(file.tensorInfo(named: "q8"))
        XCTAssertEqual(info.dimensions, [32, 2])
        XCTAssertEqual(info.shape, [2, 32])
        XCTAssertEqual(info.type, .q8_0)
        XCTAssertEqual(info.type.name, "Q8_0")
        XCTAssertEqual(info.byteCount, 68)
        let q8 = try file.tensor(named: "q8")
        XCTAssertEqual(q8.shape, [2, 32])
        XCTAssertEqual(Array(q8.data[0 ..< 32]), q.map { Float($0) })
        XCTAssertEqual(Array(q8.data[32...]), q.map { 2 * Float($0) })
        XCTAssertEqual(try file.tensor(named: "vec"), Tensor(shape: [2], data: [1, -2]))
    }

    func testReadsFromDiskAndNamesFileInErrors() throws {
        let dir = try temporaryDirectory(self)
        let path = dir + "/tiny.gguf"
        try tinyLlamaGGUF().data.write(to: URL(fileURLWithPath: path))
        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.path, path)
        assertModelIOError(try file.tensor(named: "nope"), kind: .missing, mentions: [path, "'nope'"])
        assertModelIOError(try GGUFFile(path: dir + "/absent.gguf"), kind: .unreadable,
                           mentions: ["absent.gguf", "fetch-data.sh"])
        assertModelIOError(try GGUFFile(path: dir), kind: .unreadable, mentions: [dir, "directory"])
    }

    func testLlamaModelFromTinyGGUF() throws {
        let (data, expected) = tinyLlamaGGUF()
        let file = try GGUFFile(data: data, path: "tiny.gguf")
        let (config, tensors) = try llamaModel(from: file)
        XCTAssertEqual(config, expected)
        XCTAssertEqual(config.ropeStyle, .interleaved)
        let layout = ParameterLayout(config: config)
        XCTAssertEqual(Set(tensors.keys), Set(layout.entries.map(\.name)))
        for e in layout.entries { XCTAssertEqual(tensors[e.name]?.shape, e.shape, e.name) }
        XCTAssertEqual(tensors["model.layers.0.self_attn.q_proj.weight"],
                       try file.tensor(named: "blk.0.attn_q.weight"))
        XCTAssertEqual(tensors["lm_head.weight"], try file.tensor(named: "output.weight"))

        let spec = try tokenizerSpec(from: file)
        XCTAssertEqual(spec.model, "gpt2")
        XCTAssertEqual(spec.preTokenizer, "smollm")
        XCTAssertEqual(spec.tokens.count, 8)
        XCTAssertEqual(spec.merges, ["a b", "Ġ a"])
        XCTAssertEqual(spec.tokenTypes, [3, 3, 1, 1, 1, 1, 1, 1])
        XCTAssertEqual(spec.bosTokenID, 0)
        XCTAssertEqual(spec.eosTokenID, 1)
        XCTAssertNil(spec.chatTemplate)
    }

    /// GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards.
    func byteLevelAlphabet() -> [String] {
        var next = 256
        return (0 ..< 256).map { b in
            if (33 ... 126).contains(b) || (161 ... 172).contains(b) || (174 ... 255).contains(b) {
                return String(UnicodeScalar(UInt8(b)))
            }
            defer { next += 1 }
            return String(Character(UnicodeScalar(next)!))
        }
    }

    func testTokenizerBridgeOnSmallVocabulary() throws {
        var g = GGUFBuilder()
        let tokens = ["<|endoftext|>"] + byteLevelAlphabet() + ["ab", "Ġa"]
        g.set("tokenizer.ggml.model", .string("gpt2"))
        g.set("tokenizer.ggml.pre", .string("smollm"))
        g.set("tokenizer.ggml.tokens", .array(tokens.map { .string($0) }))
        g.set("tokenizer.ggml.token_type", .array([.int32(3)] + Array(repeating: .int32(1), count: 258)))
        g.set("tokenizer.ggml.merges", .array([.string("a b"), .string("Ġ a")]))
        let tokenizer = try loadTokenizer(from: GGUFFile(data: g.build(), path: "bpe.gguf"))
        XCTAssertEqual(tokenizer.vocabSize, 259)
        XCTAssertEqual(tokenizer.preTokenizer, .smollm)
        XCTAssertEqual(tokenizer.encode("ab"), [257])
        XCTAssertEqual(tokenizer.encode(" a"), [258])
        XCTAssertEqual(tokenizer.encode("<|endoftext|>c"), [0, 1 + Int32(UInt8(ascii: "c"))])
        g.metadata.removeAll { $0.0 == "tokenizer.ggml.pre" }
        XCTAssertEqual(try loadTokenizer(from: GGUFFile(data: g.build(), path: "bpe.gguf")).preTokenizer, .gpt2)
    }

    func testTokenizerBridgeRejectsBadVocabularies() throws {
        var g = GGUFBuilder()
        g.set("tokenizer.ggml.model", .string("llama"))
        g.set("tokenizer.ggml.tokens", .array([.string("<unk>")]))
        assertModelIOError(try loadTokenizer(from: GGUFFile(data: g.build(), path: "spm.gguf")),
                           kind: .unsupportedType, mentions: ["spm.gguf", "'llama'"])
        var h = GGUFBuilder()
        h.set("tokenizer.ggml.tokens", .array([.string("a"), .string("b")]))
        h.set("tokenizer.ggml.merges", .array([.string("a  b")]))
        assertModelIOError(try loadTokenizer(from: GGUFFile(data: h.build(), path: "merge.gguf")),
                           kind: .malformed, mentions: ["merge.gguf", "a  b"])
        var i = GGUFBuilder()
        i.set("tokenizer.ggml.tokens", .array([.string("a")]))
        i.set("tokenizer.ggml.eos_token_id", .uint32(5))
        assertModelIOError(try tokenizerSpec(from: GGUFFile(data: i.build(), path: "eos.gguf")),
                           kind: .malformed, mentions: ["eos.gguf", "eos_token_id"])
    }

    func testQwen2TiedWithBiases() throws {
        let (data, expected) = tinyLlamaGGUF(arch: "qwen2", tied: true, bias: true)
        let (config, tensors) = try llamaModel(from: GGUFFile(data: data, path: "qwen.gguf"))
        XCTAssertEqual(config, expected)
        XCTAssertTrue(config.qkvBias)
        XCTAssertTrue(config.tiedEmbeddings)
        XCTAssertEqual(config.ropeStyle, .rotateHalf)  // llama.cpp does not permute Qwen2's Q/K.
        XCTAssertNil(tensors["lm_head.weight"])
        XCTAssertEqual(tensors["model.layers.0.self_attn.k_proj.bias"]?.shape, [16])
    }

    func testMissingTensorAndBadMetadataThrow() throws {
        var g = GGUFBuilder()
        g.set("general.architecture", .string("llama"))
        for (k, v) in [("block_count", 1), ("context_length", 16), ("embedding_length", 32),
                       ("feed_forward_length", 32), ("attention.head_count", 2)] {
            g.set("llama.\(k)", .uint32(UInt32(v)))
        }
        g.add("token_embd.weight", dims: [32, 4], type: .f32, bytes: Blocks.f32(Array(repeating: 0, count: 128)))
        let file = try GGUFFile(data: g.build(), path: "partial.gguf")
        XCTAssertEqual(try modelConfig(from: file).vocabSize, 4)
        assertModelIOError(try llamaModel(from: file), kind: .missing, mentions: ["partial.gguf", "block_count"])
        let withoutUp = try GGUFFile(data: copyOfTinyGGUF(dropping: "blk.0.ffn_up.weight"), path: "noup.gguf")
        assertModelIOError(try llamaModel(from: withoutUp), kind: .missing,
                           mentions: ["noup.gguf", "'blk.0.ffn_up.weight'", "model.layers.0.mlp.up_proj.weight"])
        assertModelIOError(try tokenizerSpec(from: file), kind: .missing, mentions: ["tokenizer.ggml.tokens"])

        var other = GGUFBuilder()
        other.set("general.architecture", .string("gpt2"))
        assertModelIOError(try modelConfig(from: GGUFFile(data: other.build(), path: "g.gguf")),
                           kind: .unsupportedType, mentions: ["g.gguf", "'gpt2'"])
        var noHeads = GGUFBuilder()
        noHeads.set("general.architecture", .string("llama"))
        noHeads.set("llama.embedding_length", .uint32(32))
        assertModelIOError(try modelConfig(from: GGUFFile(data: noHeads.build(), path: "h.gguf")),
                           kind: .missing, mentions: ["llama.attention.head_count"])
    }

    /// The tiny GGUF rebuilt with fresh random weights, one tensor dropped or re-shaped.
    func copyOfTinyGGUF(dropping drop: String = "", reshaping: String = "", to newDims: [Int] = []) throws -> Data {
        var g = GGUFBuilder()
        let base = try GGUFFile(data: tinyLlamaGGUF().data, path: "x")
        for key in base.metadataKeys { g.set(key, try XCTUnwrap(base[key])) }
        var rng = SplitMix64(seed: 9)
        for t in base.tensors where t.name != drop {
            let dims = t.name == reshaping ? newDims : t.dimensions
            g.add(t.name, dims: dims, type: t.type,
                  bytes: Blocks.random(t.type, elements: dims.reduce(1, *), rng: &rng))
        }
        return g.build()
    }

    func testWrongShapeThrows() throws {
        let data = try copyOfTinyGGUF(reshaping: "blk.0.attn_k.weight", to: [32, 32])
        let file = try GGUFFile(data: data, path: "shape.gguf")
        assertModelIOError(try llamaModel(from: file), kind: .shapeMismatch,
                           mentions: ["shape.gguf", "blk.0.attn_k.weight", "[16, 32]", "[32, 32]"])
    }

    func testUnsupportedTensorTypeNamesTypeAndTensor() throws {
        var g = GGUFBuilder()
        g.add("blk.3.ffn_down.weight", dims: [256, 1], type: .q6_K, bytes: [UInt8](repeating: 0, count: 210))
        g.add("odd", dims: [4], type: GGMLType(rawValue: 99), bytes: [1, 2, 3, 4])
        let file = try GGUFFile(data: g.build(), path: "k.gguf")
        assertModelIOError(try file.tensor(named: "blk.3.ffn_down.weight"), kind: .unsupportedType,
                           mentions: ["k.gguf", "Q6_K", "blk.3.ffn_down.weight"])
        assertModelIOError(try file.tensor(named: "odd"), kind: .unsupportedType, mentions: ["type#99", "'odd'"])
    }
}
