import Foundation
import Tensors

/// A parsed GGUF (v2/v3, little-endian) model file: metadata, tensor directory
/// and the memory-mapped data section.
///
/// Parsing reads only the header; `tensor(named:)` decodes one tensor to fp32
/// on demand. Every count, length and offset is checked against the file size
/// before anything is allocated, so a corrupt file throws a `ModelIOError`.
public struct GGUFFile: Sendable {
    /// Path the file was read from (or the name given for in-memory data).
    public let path: String
    /// GGUF format version (2 or 3).
    public let version: UInt32
    /// All metadata key/value pairs.
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensor directory, in file order.
    public let tensors: [GGUFTensorInfo]
    /// Data-section alignment (`general.alignment`, default 32).
    public let alignment: Int
    /// Byte offset of the data section from the start of the file.
    public let dataOffset: Int
    /// Total size of the file in bytes.
    public var fileSize: Int { data.count }

    private let data: Data
    private let tensorIndex: [String: Int]

    /// Memory-maps and parses the GGUF file at `path`.
    public init(path: String) throws {
        try self.init(data: mapFile(path, kind: "GGUF"), path: path)
    }

    /// Parses GGUF bytes already in memory; `path` is used in error messages.
    public init(data: Data, path: String) throws {
        let header = try data.withUnsafeBytes { try GGUFHeaderParser.parse($0, file: path) }
        self.path = path
        self.data = data
        self.version = header.version
        self.metadata = header.metadata
        self.metadataKeys = header.keys
        self.tensors = header.tensors
        self.alignment = header.alignment
        self.dataOffset = header.dataOffset
        var index: [String: Int] = [:]
        for (i, t) in header.tensors.enumerated() { index[t.name] = i }
        self.tensorIndex = index
    }

    /// The directory entry of a tensor, or nil if the file has none by that name.
    public func tensorInfo(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// Decodes a tensor to fp32 with its row-major shape (`ne` reversed).
    ///
    /// Throws if the tensor is absent or stored in a type other than
    /// F32, F16, BF16, Q8_0, Q4_0 or Q4_1.
    public func tensor(named name: String) throws -> Tensor {
        guard let info = tensorInfo(named: name) else {
            let sample = tensors.prefix(5).map(\.name).joined(separator: ", ")
            throw ModelIOError(.missing, file: path, expected: "a tensor named '\(name)'",
                               found: "no such tensor among its \(tensors.count) (first: \(sample))",
                               remedy: "Check the tensor name, or that this GGUF holds the model you expect.")
        }
        guard info.type.isSupported, let bytes = info.byteCount else {
            throw ModelIOError(.unsupportedType, file: path,
                               expected: "tensor '\(name)' stored as F32, F16, BF16, Q8_0, Q4_0 or Q4_1",
                               found: "ggml type \(info.type.name)", remedy: Remedy.quantization)
        }
        let start = dataOffset + info.offset  // Range checked at parse time.
        let values = try data.withUnsafeBytes { buffer in
            try info.type.dequantize(raw: UnsafeRawBufferPointer(rebasing: buffer[start ..< start + bytes]),
                                     count: info.elementCount, tensor: name, file: path)
        }
        return Tensor(shape: info.shape, data: values)
    }

    /// A metadata value, or nil.
    public subscript(key: String) -> GGUFValue? { metadata[key] }
}

/// The parsed header, before the data section.
struct GGUFHeader {
    var version: UInt32 = 0
    var metadata: [String: GGUFValue] = [:]
    var keys: [String] = []
    var tensors: [GGUFTensorInfo] = []
    var alignment = 32
    var dataOffset = 0
}

enum GGUFHeaderParser {
    static let magic: UInt32 = 0x4655_4747  // "GGUF" read little-endian.
    static let maxDims = 4
    static let maxArrayDepth = 4

    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> GGUFHeader {
        var c = ByteCursor(bytes, file: file)
        var h = GGUFHeader()
        guard bytes.count >= 4 else {
            throw ModelIOError(.truncated, file: file, expected: "the 4-byte GGUF magic 'GGUF'",
                               found: "a file of \(bytes.count) bytes", remedy: Remedy.redownload)
        }
        let m = try c.u32("magic")
        guard m == magic else {
            let hex = (0 ..< 4).map { String(format: "%02x", bytes[$0]) }.joined(separator: " ")
            throw ModelIOError(.wrongFormat, file: file, expected: "GGUF magic bytes 47 47 55 46 ('GGUF')",
                               found: "\(hex)",
                               remedy: "This is not a GGUF file; pass a .gguf model file"
                                   + " (Hugging Face .safetensors files are read by readSafetensors).")
        }
        h.version = try c.u32("format version")
        guard h.version == 2 || h.version == 3 else {
            let bigEndian = h.version & 0xffff == 0 && h.version != 0
            throw ModelIOError(.unsupportedVersion, file: file,
                               expected: "GGUF version 2 or 3 (little-endian)",
                               found: bigEndian ? "a big-endian GGUF (version bytes \(h.version.byteSwapped))"
                                   : "version \(h.version)",
                               remedy: "Re-convert the model with a current llama.cpp (convert_hf_to_gguf.py).")
        }
        // Minimum encoded sizes bound the counts: a tensor info needs ≥ 24 bytes, a KV pair ≥ 13.
        let tensorCount = try c.count("tensor count", minBytesEach: 24)
        let kvCount = try c.count("metadata key/value count", minBytesEach: 13)

        h.keys.reserveCapacity(kvCount)
        for i in 0 ..< kvCount {
            let keyOffset = c.offset
            let key = try c.ggufString("key of metadata entry \(i)")
            let type = try c.u32("value type of metadata '\(key)'")
            let value = try readValue(&c, type: type, key: key, depth: 0)
            guard h.metadata.updateValue(value, forKey: key) == nil else {
                throw ModelIOError(.malformed, file: file, expected: "each metadata key once",
                                   found: "a second '\(key)' at offset \(keyOffset)", remedy: Remedy.redownload)
            }
            h.keys.append(key)
        }

        if let a = h.metadata["general.alignment"] {
            guard let v = a.intValue, v > 0, v <= 1 << 30, v & (v - 1) == 0 else {
                throw ModelIOError(.malformed, file: file,
                                   expected: "general.alignment to be a power of two up to 2^30",
                                   found: "\(a)", remedy: Remedy.redownload)
            }
            h.alignment = v
        }

        var names = Set<String>()
        h.tensors.reserveCapacity(tensorCount)
        for i in 0 ..< tensorCount {
            let info = try readTensorInfo(&c, index: i)
            guard names.insert(info.name).inserted else {
                throw ModelIOError(.malformed, file: file, expected: "each tensor name once",
                                   found: "a second tensor '\(info.name)'", remedy: Remedy.redownload)
            }
            h.tensors.append(info)
        }

        let (padded, overflow) = c.offset.addingReportingOverflow(h.alignment - 1)
        h.dataOffset = overflow ? Int.max : padded / h.alignment * h.alignment
        for t in h.tensors {
            try checkPlacement(t, header: h, fileSize: bytes.count, file: file)
        }
        return h
    }

    private static func checkPlacement(_ t: GGUFTensorInfo, header h: GGUFHeader, fileSize: Int,
                                       file: String) throws {
        guard t.offset % h.alignment == 0 else {
            throw ModelIOError(.malformed, file: file,
                               expected: "tensor '\(t.name)' offset to be a multiple of the alignment \(h.alignment)",
                               found: "offset \(t.offset)", remedy: Remedy.redownload)
        }
        guard let size = t.byteCount else { return }  // Unknown type: checked when (if) decoded.
        let (start, o1) = h.dataOffset.addingReportingOverflow(t.offset)
        let (end, o2) = start.addingReportingOverflow(size)
        guard !o1, !o2, end <= fileSize else {
            throw ModelIOError(.truncated, file: file,
                               expected: "tensor '\(t.name)' (\(size) bytes at data offset \(t.offset))"
                                   + " to lie within the file",
                               found: "a file of \(fileSize) bytes whose data section starts at \(h.dataOffset)",
                               remedy: Remedy.redownload)
        }
    }

    private static func readTensorInfo(_ c: inout ByteCursor, index: Int) throws -> GGUFTensorInfo {
        let file = c.file
        let name = try c.ggufString("name of tensor \(index)")
        let nDims = try c.u32("dimension count of tensor '\(name)'")
        guard nDims >= 1, nDims <= maxDims else {
            throw ModelIOError(.malformed, file: file, expected: "1 to \(maxDims) dimensions for tensor '\(name)'",
                               found: "\(nDims)", remedy: Remedy.redownload)
        }
        var dims: [Int] = []
        var elements = 1
        for d in 0 ..< Int(nDims) {
            let raw = try c.u64("extent ne[\(d)] of tensor '\(name)'")
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(clamping: raw))
            guard raw <= UInt64(Int32.max), !overflow, product <= Int(Int32.max) * 16 else {
                throw ModelIOError(.malformed, file: file,
                                   expected: "extents of tensor '\(name)' whose product fits in memory",
                                   found: "ne[\(d)] = \(raw) (dims so far \(dims))", remedy: Remedy.redownload)
            }
            dims.append(Int(raw))
            elements = product
        }
        let type = GGMLType(rawValue: try c.u32("type of tensor '\(name)'"))
        let offset = try c.u64("data offset of tensor '\(name)'")
        guard offset <= UInt64(Int.max / 2) else {
            throw ModelIOError(.malformed, file: file, expected: "a data offset within the file for tensor '\(name)'",
                               found: "\(offset)", remedy: Remedy.redownload)
        }
        var bytes: Int? = nil
        if let block = type.blockSize {
            guard dims[0] % block == 0, let b = type.byteCount(elements: elements) else {
                throw ModelIOError(.malformed, file: file,
                                   expected: "ne[0] of \(type.name) tensor '\(name)' to be a multiple of \(block)",
                                   found: "ne = \(dims)", remedy: Remedy.reconvert)
            }
            bytes = b
        }
        return GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: Int(offset),
                              elementCount: elements, byteCount: bytes)
    }

    /// Smallest encoded size of one value of a GGUF type, or nil if the type is unknown.
    private static func minSize(of type: UInt32) -> Int? {
        switch type {
        case 0, 1, 7: return 1
        case 2, 3: return 2
        case 4, 5, 6: return 4
        case 8, 10, 11, 12: return 8
        case 9: return 12
        default: return nil
        }
    }

    private static func readValue(_ c: inout ByteCursor, type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        let what = "value of metadata '\(key)'"
        switch type {
        case 0: return .uint8(try c.u8(what))
        case 1: return .int8(Int8(bitPattern: try c.u8(what)))
        case 2: return .uint16(try c.u16(what))
        case 3: return .int16(Int16(bitPattern: try c.u16(what)))
        case 4: return .uint32(try c.u32(what))
        case 5: return .int32(Int32(bitPattern: try c.u32(what)))
        case 6: return .float32(Float(bitPattern: try c.u32(what)))
        case 7:
            let at = c.offset
            let b = try c.u8(what)
            guard b <= 1 else {
                throw ModelIOError(.malformed, file: c.file, expected: "bool 0 or 1 for metadata '\(key)' at offset \(at)",
                                   found: "\(b)", remedy: Remedy.redownload)
            }
            return .bool(b == 1)
        case 8: return .string(try c.ggufString(what))
        case 9:
            guard depth < maxArrayDepth else {
                throw ModelIOError(.malformed, file: c.file,
                                   expected: "arrays nested at most \(maxArrayDepth) deep in metadata '\(key)'",
                                   found: "deeper nesting at offset \(c.offset)", remedy: Remedy.redownload)
            }
            let elementType = try c.u32("element type of array '\(key)'")
            guard let minBytes = minSize(of: elementType) else {
                throw unknownType(elementType, key: key, at: c.offset - 4, file: c.file)
            }
            let n = try c.count("element count of array '\(key)'", minBytesEach: minBytes)
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            for _ in 0 ..< n {
                items.append(try readValue(&c, type: elementType, key: key, depth: depth + 1))
            }
            return .array(items)
        case 10: return .uint64(try c.u64(what))
        case 11: return .int64(Int64(bitPattern: try c.u64(what)))
        case 12: return .float64(Double(bitPattern: try c.u64(what)))
        default: throw unknownType(type, key: key, at: c.offset - 4, file: c.file)
        }
    }

    private static func unknownType(_ type: UInt32, key: String, at offset: Int, file: String) -> ModelIOError {
        ModelIOError(.malformed, file: file,
                     expected: "a GGUF value type 0...12 for metadata '\(key)' at offset \(offset)",
                     found: "type \(type)", remedy: Remedy.redownload)
    }
}
