import Foundation
import ModelIO
import TestSupport
import Transformer

/// Builds small GGUF files for the tests (the package itself only reads GGUF).
struct GGUFBuilder {
    struct TensorSpec {
        var name: String
        /// ggml `ne`, innermost first.
        var dims: [Int]
        var type: GGMLType
        var bytes: [UInt8]
    }

    var version: UInt32 = 3
    var metadata: [(String, GGUFValue)] = []
    var tensors: [TensorSpec] = []
    /// Alignment used for the data section; written as `general.alignment` when not 32.
    var alignment = 32
    /// Element type for empty arrays (ignored for non-empty ones).
    var emptyArrayType: UInt32 = 4

    mutating func set(_ key: String, _ value: GGUFValue) { metadata.append((key, value)) }

    mutating func add(_ name: String, dims: [Int], type: GGMLType, bytes: [UInt8]) {
        tensors.append(TensorSpec(name: name, dims: dims, type: type, bytes: bytes))
    }

    func build() -> Data {
        var b: [UInt8] = []
        b += Array("GGUF".utf8)
        b.u32(version)
        b.u64(UInt64(tensors.count))
        var kv = metadata
        if alignment != 32 { kv.append(("general.alignment", .uint32(UInt32(alignment)))) }
        b.u64(UInt64(kv.count))
        for (key, value) in kv {
            Self.string(key, into: &b)
            b.u32(value.typeTag)
            value.encode(into: &b, emptyArrayType: emptyArrayType)
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset = (offset + t.bytes.count + alignment - 1) / alignment * alignment
        }
        for (t, off) in zip(tensors, offsets) {
            Self.string(t.name, into: &b)
            b.u32(UInt32(t.dims.count))
            for d in t.dims { b.u64(UInt64(d)) }
            b.u32(t.type.rawValue)
            b.u64(UInt64(off))
        }
        while b.count % alignment != 0 { b.append(0) }
        let dataStart = b.count
        for (t, off) in zip(tensors, offsets) {
            while b.count < dataStart + off { b.append(0) }
            b += t.bytes
        }
        return Data(b)
    }

    static func string(_ s: String, into b: inout [UInt8]) {
        let utf8 = Array(s.utf8)
        b.u64(UInt64(utf8.count))
        b += utf8
    }
}

extension GGUFValue {
    func encode(into b: inout [UInt8], emptyArrayType: UInt32 = 4) {
        switch self {
        case .uint8(let v): b.append(v)
        case .int8(let v): b.append(UInt8(bitPattern: v))
        case .uint16(let v): b.u16(v)
        case .int16(let v): b.u16(UInt16(bitPattern: v))
        case .uint32(let v): b.u32(v)
        case .int32(let v): b.u32(UInt32(bitPattern: v))
        case .float32(let v): b.u32(v.bitPattern)
        case .bool(let v): b.append(v ? 1 : 0)
        case .string(let s): GGUFBuilder.string(s, into: &b)
        case .array(let items):
            b.u32(items.first?.typeTag ?? emptyArrayType)
            b.u64(UInt64(items.count))
            for item in items { item.encode(into: &b, emptyArrayType: emptyArrayType) }
        case .uint64(let v): b.u64(v)
        case .int64(let v): b.u64(UInt64(bitPattern: v))
        case .float64(let v): b.u64(v.bitPattern)
        }
    }
}

/// A tiny but complete Llama GGUF: 1 layer, d 32, 2 heads, 1 KV head, ffn 64,
/// vocab 8, with quantised matrices, F32 norms and a byte-level BPE tokenizer.
/// Returns the bytes and the raw per-tensor payloads for cross-checking.
func tinyLlamaGGUF(seed: UInt64 = 1, arch: String = "llama", tied: Bool = false,
                   bias: Bool = false) -> (data: Data, config: ModelConfig) {
    var rng = SplitMix64(seed: seed)
    let config = ModelConfig(vocabSize: 8, dim: 32, layers: 1, heads: 2, kvHeads: 1, ffnDim: 64, maxSeqLen: 64,
                             ropeTheta: 50000, ropeStyle: arch == "llama" ? .interleaved : .rotateHalf,
                             normEps: 1e-6, tiedEmbeddings: tied, qkvBias: bias)
    var g = GGUFBuilder()
    g.set("general.architecture", .string(arch))
    g.set("general.name", .string("tiny"))
    g.set("\(arch).block_count", .uint32(1))
    g.set("\(arch).context_length", .uint32(64))
    g.set("\(arch).embedding_length", .uint32(32))
    g.set("\(arch).feed_forward_length", .uint32(64))
    g.set("\(arch).attention.head_count", .uint32(2))
    g.set("\(arch).attention.head_count_kv", .uint32(1))
    g.set("\(arch).rope.freq_base", .float32(50000))
    g.set("\(arch).attention.layer_norm_rms_epsilon", .float32(1e-6))
    g.set("tokenizer.ggml.model", .string("gpt2"))
    g.set("tokenizer.ggml.pre", .string("smollm"))
    g.set("tokenizer.ggml.tokens", .array(["<s>", "</s>", "a", "b", "ab", "Ġ", "Ġa", "c"].map { .string($0) }))
    g.set("tokenizer.ggml.token_type", .array([3, 3, 1, 1, 1, 1, 1, 1].map { .int32($0) }))
    g.set("tokenizer.ggml.merges", .array(["a b", "Ġ a"].map { .string($0) }))
    g.set("tokenizer.ggml.bos_token_id", .uint32(0))
    g.set("tokenizer.ggml.eos_token_id", .uint32(1))
    func add(_ name: String, _ dims: [Int], _ type: GGMLType) {
        g.add(name, dims: dims, type: type, bytes: Blocks.random(type, elements: dims.reduce(1, *), rng: &rng))
    }
    add("token_embd.weight", [32, 8], .q8_0)
    add("blk.0.attn_norm.weight", [32], .f32)
    add("blk.0.attn_q.weight", [32, 32], .q4_1)
    add("blk.0.attn_k.weight", [32, 16], .q4_0)
    add("blk.0.attn_v.weight", [32, 16], .f16)
    if bias {
        add("blk.0.attn_q.bias", [32], .f32)
        add("blk.0.attn_k.bias", [16], .f32)
        add("blk.0.attn_v.bias", [16], .f32)
    }
    add("blk.0.attn_output.weight", [32, 32], .bf16)
    add("blk.0.ffn_norm.weight", [32], .f32)
    add("blk.0.ffn_gate.weight", [32, 64], .q4_1)
    add("blk.0.ffn_up.weight", [32, 64], .q8_0)
    add("blk.0.ffn_down.weight", [64, 32], .q4_0)
    add("output_norm.weight", [32], .f32)
    if !tied { add("output.weight", [32, 8], .q8_0) }
    return (g.build(), config)
}
