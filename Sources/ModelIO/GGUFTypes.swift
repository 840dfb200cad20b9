/// One metadata value of a GGUF file.
public enum GGUFValue: Equatable, Sendable {
    /// GGUF type 0.
    case uint8(UInt8)
    /// GGUF type 1.
    case int8(Int8)
    /// GGUF type 2.
    case uint16(UInt16)
    /// GGUF type 3.
    case int16(Int16)
    /// GGUF type 4.
    case uint32(UInt32)
    /// GGUF type 5.
    case int32(Int32)
    /// GGUF type 6.
    case float32(Float)
    /// GGUF type 7 (one byte, 0 or 1).
    case bool(Bool)
    /// GGUF type 8 (u64 length + UTF-8 bytes).
    case string(String)
    /// GGUF type 9: element type, u64 count, elements (all of one type).
    case array([GGUFValue])
    /// GGUF type 10.
    case uint64(UInt64)
    /// GGUF type 11.
    case int64(Int64)
    /// GGUF type 12.
    case float64(Double)

    /// The value as an `Int` when it is an integer that fits (or a bool), else nil.
    public var intValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        case .bool(let v): return v ? 1 : 0
        default: return nil
        }
    }

    /// The value as a `Double` when it is any number, else nil.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return intValue.map(Double.init)
        }
    }

    /// The string, when this is a string value.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The bool, when this is a bool value.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements, when this is an array value.
    public var arrayValue: [GGUFValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The elements as strings, when this is an array of strings.
    public var stringArray: [String]? {
        guard let a = arrayValue else { return nil }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for v in a {
            guard case .string(let s) = v else { return nil }
            out.append(s)
        }
        return out
    }

    /// The GGUF type tag of this value (0...12).
    public var typeTag: UInt32 {
        switch self {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }
}

/// A ggml tensor data type, as stored in GGUF tensor infos.
///
/// A struct rather than an enum so that files with type ids this reader does
/// not know still parse; asking for such a tensor's values throws.
public struct GGMLType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The ggml type id.
    public let rawValue: UInt32
    /// Wraps a ggml type id.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// 32-bit float.
    public static let f32 = GGMLType(rawValue: 0)
    /// IEEE half precision.
    public static let f16 = GGMLType(rawValue: 1)
    /// Blocks of 32: f16 scale + 16 bytes of 4-bit values, x = d*(q-8).
    public static let q4_0 = GGMLType(rawValue: 2)
    /// Blocks of 32: f16 scale, f16 min + 16 bytes of 4-bit values, x = d*q + m.
    public static let q4_1 = GGMLType(rawValue: 3)
    /// Blocks of 32: f16 scale + 32 int8 values, x = d*q.
    public static let q8_0 = GGMLType(rawValue: 8)
    /// 6-bit k-quant (not decoded by this reader).
    public static let q6_K = GGMLType(rawValue: 14)
    /// bfloat16 (top half of an fp32).
    public static let bf16 = GGMLType(rawValue: 30)

    /// (name, elements per block, bytes per block) for every type ggml has defined.
    private static let table: [UInt32: (String, Int, Int)] = [
        0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
        6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
        10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
        13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
        16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98),
        19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
        22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
        26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56),
        30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17),
    ]

    /// ggml's name for the type (e.g. `Q6_K`), or `type#N` for an unknown id.
    public var name: String { Self.table[rawValue]?.0 ?? "type#\(rawValue)" }
    /// Elements per quantisation block (1 for plain types); nil for unknown ids.
    public var blockSize: Int? { Self.table[rawValue]?.1 }
    /// Bytes per block; nil for unknown ids.
    public var bytesPerBlock: Int? { Self.table[rawValue]?.2 }
    /// Whether `GGUFFile.tensor(named:)` can decode this type.
    public var isSupported: Bool { [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1].contains(self) }
    /// The ggml name.
    public var description: String { name }
}

/// Where one tensor lives in a GGUF file and how it is stored.
public struct GGUFTensorInfo: Equatable, Sendable {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    public let name: String
    /// ggml extents `ne`, innermost (fastest-varying) first.
    public let dimensions: [Int]
    /// Storage type.
    public let type: GGMLType
    /// Byte offset from the start of the data section.
    public let offset: Int
    /// Number of elements.
    public let elementCount: Int
    /// Bytes occupied in the data section; nil when the type is unknown.
    public let byteCount: Int?

    /// Row-major shape, outermost first (`ne` reversed): `ne = [in, out]` gives `[out, in]`.
    public var shape: [Int] { dimensions.reversed() }
}
