import Foundation
import Tensors

/// Floating-point storage types this package reads and writes in safetensors files.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    /// IEEE fp32.
    case f32 = "F32"
    /// IEEE binary16.
    case f16 = "F16"
    /// bfloat16.
    case bf16 = "BF16"

    /// Bytes per element.
    public var byteSize: Int { self == .f32 ? 4 : 2 }
    /// The PyTorch name used for `torch_dtype` in config.json.
    public var torchName: String {
        switch self {
        case .f32: return "float32"
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        }
    }
}

/// One tensor's entry in a safetensors header.
public struct SafetensorsEntry: Equatable, Sendable {
    /// Tensor name.
    public let name: String
    /// Storage dtype as written in the header (e.g. `BF16`, `I64`).
    public let dtype: String
    /// Row-major shape.
    public let shape: [Int]
    /// Byte range within the data section (after the header).
    public let byteRange: Range<Int>
}

/// A parsed, memory-mapped safetensors file.
///
/// The header (u64 little-endian length + JSON) is validated up front: the
/// length is capped at 100 MB, and every tensor's byte range must be in range,
/// match its shape and dtype, and not overlap another.
public struct SafetensorsFile: Sendable {
    /// Largest header accepted.
    public static let maxHeaderBytes = 100_000_000

    /// Path the file was read from (or the name given for in-memory data).
    public let path: String
    /// The `__metadata__` string map (empty if absent).
    public let metadata: [String: String]
    /// Tensor entries, sorted by name.
    public let entries: [SafetensorsEntry]

    private let data: Data
    private let dataStart: Int
    private let index: [String: Int]

    /// Memory-maps and validates the safetensors file at `path`.
    public init(path: String) throws {
        try self.init(data: mapFile(path, kind: "safetensors"), path: path)
    }

    /// Validates safetensors bytes already in memory; `path` is used in error messages.
    public init(data: Data, path: String) throws {
        let (header, start) = try Self.readHeader(data, path: path)
        let dataSize = data.count - start
        var entries: [SafetensorsEntry] = []
        entries.reserveCapacity(header.entries.count)
        for (name, raw) in header.entries {
            entries.append(try Self.validate(name: name, raw: raw, dataSize: dataSize, path: path))
        }
        let byStart = entries.sorted { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        for (a, b) in zip(byStart, byStart.dropFirst()) where a.byteRange.upperBound > b.byteRange.lowerBound {
            throw ModelIOError(.malformed, file: path, expected: "non-overlapping tensor data ranges",
                               found: "'\(a.name)' \(a.byteRange) overlaps '\(b.name)' \(b.byteRange)",
                               remedy: Remedy.redownload)
        }
        entries.sort { $0.name < $1.name }
        self.path = path
        self.metadata = header.metadata
        self.entries = entries
        self.data = data
        self.dataStart = start
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.name] = i }
        self.index = index
    }

    /// The entry named `name`, or nil.
    public func entry(named name: String) -> SafetensorsEntry? { index[name].map { entries[$0] } }

    /// Decodes one F32, F16 or BF16 tensor to fp32.
    public func tensor(named name: String) throws -> Tensor {
        guard let e = entry(named: name) else {
            throw ModelIOError(.missing, file: path, expected: "a tensor named '\(name)'",
                               found: "no such tensor among its \(entries.count)",
                               remedy: "Check the tensor name, or that this file holds the model you expect.")
        }
        guard let dtype = SafetensorsDType(rawValue: e.dtype) else {
            throw ModelIOError(.unsupportedType, file: path, expected: "tensor '\(name)' stored as F32, F16 or BF16",
                               found: "dtype \(e.dtype)", remedy: "Save the model in float32, float16 or bfloat16.")
        }
        let type: GGMLType = dtype == .f32 ? .f32 : dtype == .f16 ? .f16 : .bf16
        let count = e.shape.reduce(1, *)  // Checked against the byte range at parse time.
        let lo = dataStart + e.byteRange.lowerBound, hi = dataStart + e.byteRange.upperBound
        let values = try data.withUnsafeBytes { buffer in
            try type.dequantize(raw: UnsafeRawBufferPointer(rebasing: buffer[lo ..< hi]), count: count,
                                tensor: name, file: path)
        }
        return Tensor(shape: e.shape, data: values)
    }

    /// Decodes every tensor to fp32.
    public func allTensors() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for e in entries { out[e.name] = try tensor(named: e.name) }
        return out
    }

    private static let elementSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
    ]

    private static func readHeader(_ data: Data, path: String) throws -> (RawHeader, Int) {
        guard data.count >= 8 else {
            throw ModelIOError(.truncated, file: path, expected: "an 8-byte header length",
                               found: "a file of \(data.count) bytes", remedy: Remedy.redownload)
        }
        let length = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard length <= UInt64(maxHeaderBytes), Int(length) <= data.count - 8 else {
            let isLarge = length > UInt64(maxHeaderBytes)
            throw ModelIOError(isLarge ? .malformed : .truncated, file: path,
                               expected: "a JSON header of at most \(isLarge ? maxHeaderBytes : data.count - 8) bytes",
                               found: "a declared header length of \(length)",
                               remedy: "This is not a valid safetensors file (or it is truncated); "
                                   + "re-save it with the safetensors library.")
        }
        let json = data.subdata(in: data.startIndex + 8 ..< data.startIndex + 8 + Int(length))
        guard json.first == UInt8(ascii: "{") else {
            throw ModelIOError(.wrongFormat, file: path, expected: "a JSON object header starting with '{'",
                               found: json.isEmpty ? "an empty header" : "first header byte \(json[json.startIndex])",
                               remedy: "This is not a safetensors file; pass a .safetensors file.")
        }
        do {
            return (try JSONDecoder().decode(RawHeader.self, from: json), 8 + Int(length))
        } catch {
            throw ModelIOError(.malformed, file: path,
                               expected: "a JSON header mapping names to {dtype, shape, data_offsets}",
                               found: "invalid JSON (\(error))", remedy: Remedy.redownload)
        }
    }

    private static func validate(name: String, raw: RawEntry, dataSize: Int, path: String) throws -> SafetensorsEntry {
        func bad(_ expected: String, _ found: String) -> ModelIOError {
            ModelIOError(.malformed, file: path, expected: expected, found: found, remedy: Remedy.redownload)
        }
        guard let size = elementSizes[raw.dtype] else {
            throw ModelIOError(.unsupportedType, file: path, expected: "a safetensors dtype for tensor '\(name)'",
                               found: "'\(raw.dtype)'", remedy: "Save the model in float32, float16 or bfloat16.")
        }
        var bytes = size
        for d in raw.shape {
            let (p, overflow) = bytes.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow else { throw bad("non-negative extents for tensor '\(name)'", "shape \(raw.shape)") }
            bytes = p
        }
        guard raw.data_offsets.count == 2 else {
            throw bad("data_offsets [begin, end] for tensor '\(name)'", "\(raw.data_offsets)")
        }
        let begin = raw.data_offsets[0], end = raw.data_offsets[1]
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw bad("data_offsets of tensor '\(name)' within the \(dataSize)-byte data section",
                      "[\(begin), \(end)]")
        }
        guard end - begin == bytes else {
            throw bad("\(bytes) bytes for \(raw.dtype) tensor '\(name)' of shape \(raw.shape)",
                      "data_offsets [\(begin), \(end)] (\(end - begin) bytes)")
        }
        return SafetensorsEntry(name: name, dtype: raw.dtype, shape: raw.shape, byteRange: begin ..< end)
    }
}

/// One header entry as written in the JSON.
struct RawEntry: Decodable {
    let dtype: String
    let shape: [Int]
    let data_offsets: [Int]
}

/// The header JSON: `__metadata__` plus name → entry.
struct RawHeader: Decodable {
    var metadata: [String: String] = [:]
    var entries: [(String, RawEntry)] = []

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        for key in c.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try c.decode([String: String].self, forKey: key)
            } else {
                entries.append((key.stringValue, try c.decode(RawEntry.self, forKey: key)))
            }
        }
    }
}

/// Reads every tensor of a safetensors file as fp32, with its `__metadata__`.
public func readSafetensors(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
    let file = try SafetensorsFile(path: path)
    return (try file.allTensors(), file.metadata)
}
