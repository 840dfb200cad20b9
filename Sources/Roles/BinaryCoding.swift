import Foundation

/// Little-endian binary writer for messages between ranks: fixed-width
/// scalars and length-prefixed arrays, no reflection, no JSON.
public struct BinaryWriter {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty writer.
    public init() {}

    /// Appends a 64-bit integer.
    public mutating func write(_ v: Int) { withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 } }
    /// Appends a 64-bit unsigned integer.
    public mutating func write(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    /// Appends a Double.
    public mutating func write(_ v: Double) { write(v.bitPattern) }
    /// Appends a length-prefixed UTF-8 string.
    public mutating func write(_ s: String) { let u = Array(s.utf8); write(u.count); bytes += u }
    /// Appends a length-prefixed array of Int32.
    public mutating func write(_ a: [Int32]) {
        write(a.count)
        a.withUnsafeBytes { bytes += $0 }
    }
    /// Appends a length-prefixed array of Float.
    public mutating func write(_ a: [Float]) {
        write(a.count)
        a.withUnsafeBytes { bytes += $0 }
    }
    /// Appends a length-prefixed array of Double.
    public mutating func write(_ a: [Double]) {
        write(a.count)
        a.withUnsafeBytes { bytes += $0 }
    }
    /// Appends a length-prefixed array of Int.
    public mutating func write(_ a: [Int]) { write(a.map { Int32(truncatingIfNeeded: $0) }) }
    /// Appends a length-prefixed array of strings.
    public mutating func write(_ a: [String]) { write(a.count); for s in a { write(s) } }
}

/// Reads what `BinaryWriter` wrote; every read is bounds-checked and throws.
public struct BinaryReader {
    let bytes: [UInt8]
    var offset = 0
    let what: String

    /// Reads `bytes`; `what` names the message in errors.
    public init(_ bytes: [UInt8], what: String) { self.bytes = bytes; self.what = what }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, offset + n <= bytes.count else {
            throw MessageError("\(what): truncated message (needed \(n) bytes at offset \(offset), have \(bytes.count - offset))")
        }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    /// Reads a 64-bit integer.
    public mutating func int() throws -> Int {
        let s = try take(8)
        return Int(Int64(littleEndian: s.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }))
    }
    /// Reads a 64-bit unsigned integer.
    public mutating func uint64() throws -> UInt64 {
        let s = try take(8)
        return UInt64(littleEndian: s.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    }
    /// Reads a Double.
    public mutating func double() throws -> Double { Double(bitPattern: try uint64()) }
    /// Reads a string.
    public mutating func string() throws -> String {
        let n = try count(elementSize: 1)
        return String(decoding: try take(n), as: UTF8.self)
    }
    mutating func count(elementSize: Int) throws -> Int {
        let n = try int()
        guard n >= 0, n <= (bytes.count - offset) / max(elementSize, 1) else {
            throw MessageError("\(what): array length \(n) at offset \(offset - 8) exceeds the message size")
        }
        return n
    }
    /// Reads an Int32 array.
    public mutating func int32s() throws -> [Int32] {
        let n = try count(elementSize: 4)
        let s = try take(n * 4)
        return s.withUnsafeBytes { raw in (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self) } }
    }
    /// Reads a Float array.
    public mutating func floats() throws -> [Float] {
        let n = try count(elementSize: 4)
        let s = try take(n * 4)
        return s.withUnsafeBytes { raw in (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    }
    /// Reads a Double array.
    public mutating func doubles() throws -> [Double] {
        let n = try count(elementSize: 8)
        let s = try take(n * 8)
        return s.withUnsafeBytes { raw in (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) } }
    }
    /// Reads an Int array.
    public mutating func ints() throws -> [Int] { try int32s().map(Int.init) }
    /// Reads a string array.
    public mutating func strings() throws -> [String] {
        let n = try count(elementSize: 8)
        return try (0..<n).map { _ in try string() }
    }
}

/// A message that cannot be decoded.
public struct MessageError: Error, CustomStringConvertible {
    /// What is wrong.
    public let description: String
    init(_ s: String) { description = s }
}
