import Foundation
import ModelIO
import Tensors
import TestSupport
import Transformer
import XCTest

/// Random tensors for the readers' tests (the generator is TestSupport's).
extension SplitMix64 {
    /// A tensor of uniform values.
    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        Tensor(shape: shape, data: (0 ..< shape.reduce(1, *)).map { _ in float(scale) })
    }
}

/// Asserts that `body` throws a `ModelIOError` (of `kind`, when given) whose description contains every fragment.
func assertModelIOError<T>(_ body: @autoclosure () throws -> T, kind: ModelIOError.Kind? = nil,
                           mentions fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
    assertThrows(try body(), ModelIOError.self, mentions: fragments, file: file, line: line) { error in
        if let kind { XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line) }
    }
}

/// Little-endian byte encoders.
extension Array where Element == UInt8 {
    mutating func u16(_ v: UInt16) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
}

/// Block encoders for hand-built quantised data.
enum Blocks {
    static func f32(_ values: [Float]) -> [UInt8] {
        var b: [UInt8] = []
        for v in values { b.f32(v) }
        return b
    }

    /// Q8_0 block: f16 d + 32 int8.
    static func q8_0(d: UInt16, _ q: [Int8]) -> [UInt8] {
        precondition(q.count == 32)
        var b: [UInt8] = []
        b.u16(d)
        b += q.map { UInt8(bitPattern: $0) }
        return b
    }

    /// Q4_0 block: f16 d + 16 bytes (element j low nibble of byte j, j+16 high nibble).
    static func q4_0(d: UInt16, _ q: [UInt8]) -> [UInt8] {
        precondition(q.count == 32)
        var b: [UInt8] = []
        b.u16(d)
        for j in 0 ..< 16 { b.append(q[j] & 0xf | (q[j + 16] & 0xf) << 4) }
        return b
    }

    /// Q4_1 block: f16 d, f16 m + 16 bytes of nibbles.
    static func q4_1(d: UInt16, m: UInt16, _ q: [UInt8]) -> [UInt8] {
        precondition(q.count == 32)
        var b: [UInt8] = []
        b.u16(d)
        b.u16(m)
        for j in 0 ..< 16 { b.append(q[j] & 0xf | (q[j + 16] & 0xf) << 4) }
        return b
    }

    /// `count` random blocks of `type` (valid f16 scales, random payload).
    static func random(_ type: GGMLType, elements: Int, rng: inout SplitMix64) -> [UInt8] {
        switch type {
        case .f32: return f32((0 ..< elements).map { _ in rng.float() })
        case .f16, .bf16:
            var b: [UInt8] = []
            for _ in 0 ..< elements {
                let v = rng.float()
                b.u16(type == .f16 ? FloatBits.floatToHalf(v) : FloatBits.floatToBFloat16(v))
            }
            return b
        default:
            var b: [UInt8] = []
            for _ in 0 ..< elements / 32 {
                let q = (0 ..< 32).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                let d = FloatBits.floatToHalf(abs(rng.float(0.05)) + 0.001)
                switch type {
                case .q8_0: b += q8_0(d: d, q.map { Int8(bitPattern: $0) })
                case .q4_0: b += q4_0(d: d, q)
                default: b += q4_1(d: d, m: FloatBits.floatToHalf(rng.float(0.1)), q)
                }
            }
            return b
        }
    }
}
