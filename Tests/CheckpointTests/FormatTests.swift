import Checkpoint
import Foundation
import TestSupport
import XCTest

/// The building blocks: checksum, shuffle, bf16, zstd, and whole shard files.
final class FormatTests: XCTestCase {
    /// Largest relative error of a bf16 round trip on normal(0, 0.02) weights:
    /// the bound is 2⁻⁸ = 3.91e-3 (half a unit in the 8th significant bit);
    /// measured 3.89e-3 over 20,000 values, so no margin is added.
    static let bf16RelativeTolerance = BFloat16.relativeErrorBound

    func testCRC32CKnownVectors() {
        // RFC 3720 §B.4 and the standard check value.
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0 ..< 32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0 ..< 32).reversed().map { UInt8($0) }), 0x113F_DB5C)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        XCTAssertEqual(CRC32C.hex(0xE306_9283), "0xe3069283")
    }

    func testCRC32CSliceBy8MatchesBitwiseAndContinues() {
        func bitwise(_ b: [UInt8]) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for x in b {
                c ^= UInt32(x)
                for _ in 0 ..< 8 { c = c & 1 == 1 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            }
            return ~c
        }
        var g = SplitMix64(seed: 1)
        for n in [1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000] {
            let b = (0 ..< n).map { _ in UInt8.random(in: 0 ... 255, using: &g) }
            XCTAssertEqual(CRC32C.checksum(b), bitwise(b), "n=\(n)")
            let cut = n / 3
            XCTAssertEqual(CRC32C.checksum(b[cut...], continuing: CRC32C.checksum(b[..<cut])), bitwise(b), "split n=\(n)")
        }
    }

    func testShuffleUnshuffleIdentityAndLayout() {
        XCTAssertEqual(ByteShuffle.shuffled([1, 2, 3, 4, 5, 6, 7, 8], elementSize: 4), [1, 5, 2, 6, 3, 7, 4, 8])
        XCTAssertEqual(ByteShuffle.shuffled([1, 2, 3, 4, 5], elementSize: 2), [1, 3, 2, 4, 5])  // tail byte kept
        var g = SplitMix64(seed: 2)
        for size in [1, 2, 3, 4, 8] {
            for n in [0, 1, 5, 64, 1001] {
                let b = (0 ..< n).map { _ in UInt8.random(in: 0 ... 255, using: &g) }
                let s = ByteShuffle.shuffled(b, elementSize: size)
                XCTAssertEqual(ByteShuffle.unshuffled(s, elementSize: size), b, "size \(size), n \(n)")
                if size > 1, n >= 2 * size, n % size == 0 { XCTAssertEqual(s[1], b[size]) }
            }
        }
    }

    func testBFloat16RoundsToNearestEven() {
        XCTAssertEqual(BFloat16.float(BFloat16.round(1 + 0x1p-8)), 1)  // tie → even (down)
        XCTAssertEqual(BFloat16.float(BFloat16.round(1 + 3 * 0x1p-8)), 1 + 0x1p-6)  // tie → even (up)
        XCTAssertEqual(BFloat16.float(BFloat16.round(1 + 0x1p-8 + 0x1p-20)), 1 + 0x1p-7)  // above the tie
        XCTAssertEqual(BFloat16.float(BFloat16.round(-2.5)), -2.5)
        XCTAssertEqual(BFloat16.float(BFloat16.round(.infinity)), .infinity)
        XCTAssertTrue(BFloat16.float(BFloat16.round(.nan)).isNaN)
        XCTAssertTrue(BFloat16.float(BFloat16.round(Float(bitPattern: 0x7F80_0001))).isNaN)  // signalling NaN stays NaN
        XCTAssertEqual(BFloat16.float(BFloat16.round(.greatestFiniteMagnitude)), .infinity)  // rounds past the largest bf16
    }

    func testZstdRoundTripAndExpansionBound() throws {
        var g = SplitMix64(seed: 3)
        let data = (0 ..< 100_000).map { i in i % 7 == 0 ? UInt8.random(in: 0 ... 255, using: &g) : UInt8(i % 13) }
        for level in [1, 3, 9] {
            let c = try data.withUnsafeBytes { try Zstd.compress($0, level: level, file: "mem") }
            XCTAssertLessThan(c.count, data.count / 2)
            XCTAssertEqual(c.withUnsafeBytes { Zstd.declaredContentSize($0) }, UInt64(data.count))
            var out = [UInt8](repeating: 0, count: data.count)
            try c.withUnsafeBytes { src in try out.withUnsafeMutableBytes { try Zstd.decompress(src, into: $0, file: "mem", what: "t") } }
            XCTAssertEqual(out, data)
            var short = [UInt8](repeating: 0, count: data.count - 1)
            assertCheckpointError(try c.withUnsafeBytes { src in
                try short.withUnsafeMutableBytes { try Zstd.decompress(src, into: $0, file: "mem", what: "t") } },
                kind: .checksumMismatch, mentions: ["mem", "99999"])
        }
        // The most compressible input (zeros) stays within the bound used to reject length fields.
        let zeros = [UInt8](repeating: 0, count: 4 << 20)
        let c = try zeros.withUnsafeBytes { try Zstd.compress($0, level: 19, file: "mem") }
        XCTAssertLessThanOrEqual(zeros.count, Zstd.maximumDecompressedSize(compressedSize: c.count))
        XCTAssertThrowsError(try ShardWriter(path: NSTemporaryDirectory() + "/x.shard", options: ShardWriteOptions(level: 99)))
    }

    func testShardRoundTripFP32ExactAndBF16WithinBound() throws {
        let dir = try temporaryDirectory(self)
        var g = SplitMix64(seed: 4)
        let weights = g.weights(20_000)
        for (shuffle, codec) in [(true, ShardCodec.zstd), (false, .zstd), (true, .none)] {
            let path = dir + "/rt-\(shuffle)-\(codec.name).shard"
            let w = try ShardWriter(path: path, options: ShardWriteOptions(codec: codec, shuffle: shuffle))
            try w.add("exact", floats: weights)
            try w.add("half", floats: weights, dtype: .bf16, shape: [100, 200])
            try w.add("empty", floats: [])
            try w.add("blob", bytes: Array("cursor=1234".utf8))
            let summary = try w.finish()
            XCTAssertEqual(summary.bytes, try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))

            let r = try ShardReader(path: path)
            XCTAssertEqual(r.records.map(\.name), ["exact", "half", "empty", "blob"])
            XCTAssertEqual(try r.floats("exact").map(\.bitPattern), weights.map(\.bitPattern))
            XCTAssertEqual(try r.floats("empty"), [])
            XCTAssertEqual(try r.bytes("blob"), Array("cursor=1234".utf8))
            XCTAssertEqual(r.record(named: "half")?.shape, [100, 200])
            XCTAssertEqual(r.record(named: "half")?.shuffled, shuffle)
            let half = try r.floats("half")
            var worst: Float = 0
            for (a, b) in zip(weights, half) { worst = max(worst, abs(a - b) / abs(a)) }
            XCTAssertLessThanOrEqual(worst, Self.bf16RelativeTolerance, "max relative bf16 error \(worst)")
            if shuffle && codec == .zstd { print("[reference] bf16 round trip of 20,000 normal(0, 0.02) weights: max relative error \(worst)") }
            XCTAssertGreaterThan(worst, Self.bf16RelativeTolerance / 2, "bf16 is lossy: the error should be near the bound")
            var buffer = [Float](repeating: 0, count: weights.count)
            try buffer.withUnsafeMutableBufferPointer { try r.read("exact", into: $0) }
            XCTAssertEqual(buffer, weights)
            assertCheckpointError(try r.floats("missing"), kind: .missing, mentions: [path, "'missing'", "'exact'"])
            assertCheckpointError(try r.floats("blob"), mentions: [path, "raw bytes"])
            try r.verify()
        }
    }

    func testShufflingHelpsZstdOnWeights() throws {
        // One zstd block (128 KiB) is Huffman-coded with one table, so byte order only
        // matters across blocks: shuffling makes whole blocks of exponent bytes.
        let dir = try temporaryDirectory(self)
        var g = SplitMix64(seed: 5)
        let weights = g.weights(100_000)
        var sizes: [Bool: Int] = [:]
        for shuffle in [true, false] {
            let w = try ShardWriter(path: dir + "/s\(shuffle).shard", options: ShardWriteOptions(shuffle: shuffle))
            try w.add("w", floats: weights)
            sizes[shuffle] = try w.finish().tensors[0].compressedBytes
        }
        XCTAssertLessThan(Double(sizes[true]!), 0.95 * Double(sizes[false]!), "\(sizes)")
    }

    func testWriterRejectsDuplicateNamesAndCleansUp() throws {
        let dir = try temporaryDirectory(self)
        let path = dir + "/dup.shard"
        let w = try ShardWriter(path: path)
        try w.add("a", floats: [1, 2])
        assertCheckpointError(try w.add("a", floats: [3]), kind: .invalidArgument, mentions: [path, "'a' again"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"), "a failed writer removes its temporary file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        assertCheckpointError(try w.finish(), kind: .invalidArgument, mentions: [path])
    }
}
