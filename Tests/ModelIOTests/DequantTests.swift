import Foundation
import ModelIO
import TestSupport
import XCTest

final class DequantTests: XCTestCase {
    func testQ8_0() throws {
        // d = 0.5 (f16 0x3800); q = -128, -127, ..., repeated so both signs and extremes appear.
        let q: [Int8] = (0 ..< 32).map { Int8(truncatingIfNeeded: $0 * 8 - 128) }
        let values = try GGMLType.q8_0.dequantize(Blocks.q8_0(d: 0x3800, q), count: 32)
        XCTAssertEqual(values, q.map { 0.5 * Float($0) })
        XCTAssertEqual(values[0], -64)
        XCTAssertEqual(values[31], 0.5 * 120)
        // Second block with a negative scale d = -2 (0xC000).
        let two = Blocks.q8_0(d: 0x3800, q) + Blocks.q8_0(d: 0xC000, q)
        let both = try GGMLType.q8_0.dequantize(two, count: 64)
        XCTAssertEqual(Array(both[32...]), q.map { -2 * Float($0) })
    }

    func testQ4_0() throws {
        // d = 2 (0x4000); element j has nibble j & 15, element j+16 has 15 - j.
        let nibbles: [UInt8] = (0 ..< 16).map { UInt8($0) } + (0 ..< 16).map { UInt8(15 - $0) }
        let block = Blocks.q4_0(d: 0x4000, nibbles)
        XCTAssertEqual(block.count, 18)
        XCTAssertEqual(block[2], 0xF0)  // byte 0: low nibble 0 (element 0), high nibble 15 (element 16).
        let values = try GGMLType.q4_0.dequantize(block, count: 32)
        let expected: [Float] = [-16, -14, -12, -10, -8, -6, -4, -2, 0, 2, 4, 6, 8, 10, 12, 14,
                                 14, 12, 10, 8, 6, 4, 2, 0, -2, -4, -6, -8, -10, -12, -14, -16]
        XCTAssertEqual(values, expected)
    }

    func testQ4_1() throws {
        // d = 0.25 (0x3400), m = -1 (0xBC00): x = 0.25 q - 1.
        let nibbles: [UInt8] = (0 ..< 32).map { UInt8(($0 * 7) % 16) }
        let block = Blocks.q4_1(d: 0x3400, m: 0xBC00, nibbles)
        XCTAssertEqual(block.count, 20)
        let values = try GGMLType.q4_1.dequantize(block, count: 32)
        XCTAssertEqual(values, nibbles.map { 0.25 * Float($0) - 1 })
        XCTAssertEqual(values[0], -1)
        XCTAssertEqual(values[1], 0.75)  // q = 7
        XCTAssertEqual(values[2], 2.5)  // q = 14
        XCTAssertEqual(values[16], -1)  // q = 112 % 16 = 0
    }

    func testF16() throws {
        let bits: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7C00, 0x3555, 0x03FF]
        var raw: [UInt8] = []
        for b in bits { raw.u16(b) }
        let values = try GGMLType.f16.dequantize(raw, count: bits.count)
        XCTAssertEqual(values[0], 1)
        XCTAssertEqual(values[1], -2)
        XCTAssertEqual(values[2], 65504)
        XCTAssertEqual(values[3], 1.0 / 16_777_216)  // Smallest subnormal, 2^-24.
        XCTAssertEqual(values[4], 0)
        XCTAssertEqual(values[4].sign, .minus)
        XCTAssertEqual(values[5], .infinity)
        XCTAssertEqual(values[6], 0.333251953125)
        XCTAssertEqual(values[7], 1023.0 / 16_777_216)  // Largest subnormal.
    }

    func testBF16() throws {
        let bits: [UInt16] = [0x3F80, 0xC040, 0x4049, 0x0001, 0xFF80]
        var raw: [UInt8] = []
        for b in bits { raw.u16(b) }
        let values = try GGMLType.bf16.dequantize(raw, count: bits.count)
        XCTAssertEqual(values[0], 1)
        XCTAssertEqual(values[1], -3)
        XCTAssertEqual(values[2], 3.140625)
        XCTAssertEqual(values[3], Float(bitPattern: 0x0001_0000))
        XCTAssertEqual(values[4], -.infinity)
    }

    func testF32() throws {
        let values: [Float] = [1.5, -0.0, .greatestFiniteMagnitude, .leastNonzeroMagnitude]
        XCTAssertEqual(try GGMLType.f32.dequantize(Blocks.f32(values), count: 4), values)
    }

    func testWrongByteCountAndUnsupportedTypeThrow() {
        assertModelIOError(try GGMLType.q8_0.dequantize([UInt8](repeating: 0, count: 33), count: 32),
                           kind: .malformed, mentions: ["34", "33 bytes"])
        assertModelIOError(try GGMLType.q8_0.dequantize([UInt8](repeating: 0, count: 34), count: 31),
                           mentions: ["Q8_0"])
        assertModelIOError(try GGMLType.q6_K.dequantize([UInt8](repeating: 0, count: 210), count: 256),
                           kind: .unsupportedType, mentions: ["Q6_K"])
    }

    func testLargeTensorsUseParallelPathConsistently() throws {
        // 2^16 blocks triggers the chunked path; compare against block-by-block decoding.
        var rng = SplitMix64(seed: 7)
        let blocks = 1 << 16
        let raw = Blocks.random(.q4_1, elements: blocks * 32, rng: &rng)
        let all = try GGMLType.q4_1.dequantize(raw, count: blocks * 32)
        for b in [0, 1, 12345, blocks / 2, blocks - 1] {
            let one = try GGMLType.q4_1.dequantize(Array(raw[(b * 20) ..< (b * 20 + 20)]), count: 32)
            XCTAssertEqual(Array(all[(b * 32) ..< (b * 32 + 32)]), one)
        }
    }

    func testHalfConversionMatchesFloat16() {
        #if !(os(macOS) && arch(x86_64))
        for bits in 0 ... UInt16.max {
            let mine = FloatBits.halfToFloat(bits)
            let reference = Float(Float16(bitPattern: bits))
            XCTAssertTrue(mine.bitPattern == reference.bitPattern || (mine.isNaN && reference.isNaN),
                          "half \(String(bits, radix: 16))")
            if !mine.isNaN {
                XCTAssertEqual(FloatBits.floatToHalf(mine), bits, "round trip of \(String(bits, radix: 16))")
            }
        }
        var rng = SplitMix64(seed: 3)
        for _ in 0 ..< 200_000 {
            // Random bit patterns across the whole fp32 range, plus halfway cases.
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            let tie = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0xFFFF_E000 | 0x1000)
            for v in [x, tie] where !v.isNaN {
                XCTAssertEqual(FloatBits.floatToHalf(v), Float16(v).bitPattern, "\(v)")
            }
        }
        #endif
        XCTAssertTrue(FloatBits.halfToFloat(FloatBits.floatToHalf(.nan)).isNaN)
    }

    func testBFloat16Rounding() {
        XCTAssertEqual(FloatBits.floatToBFloat16(1), 0x3F80)
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1).
        XCTAssertEqual(FloatBits.floatToBFloat16(1 + 1.0 / 256), 0x3F80)
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: ties to even (up).
        XCTAssertEqual(FloatBits.floatToBFloat16(1 + 3.0 / 256), 0x3F82)
        XCTAssertEqual(FloatBits.floatToBFloat16(1 + 1.0 / 256 + 1.0 / 65536), 0x3F81)
        XCTAssertEqual(FloatBits.floatToBFloat16(.greatestFiniteMagnitude), 0x7F80)  // Rounds to +inf.
        XCTAssertTrue(FloatBits.bfloat16ToFloat(FloatBits.floatToBFloat16(.nan)).isNaN)
        var rng = SplitMix64(seed: 4)
        for _ in 0 ..< 10000 {
            let x = rng.float(100)
            let r = FloatBits.bfloat16ToFloat(FloatBits.floatToBFloat16(x))
            XCTAssertLessThanOrEqual(abs(r - x), abs(x) * (1.0 / 256))
        }
    }
}
