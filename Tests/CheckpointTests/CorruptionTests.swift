@testable import Checkpoint
import Foundation
import TestSupport
import XCTest

/// Damaged shard files must throw a `CheckpointError` naming the file — never
/// crash, hang, or allocate what a corrupt length field claims.
final class CorruptionTests: XCTestCase {
    /// Rewrites the table CRC and then the header CRC so a mutation of the
    /// header or table reaches the structural checks behind them.
    static func fixChecksums(_ b: inout [UInt8]) {
        guard b.count >= ShardFormat.headerSize else { return }
        let offset = b.loadLE(UInt64.self, at: 16), length = b.loadLE(UInt64.self, at: 24)
        if offset <= UInt64(b.count), length <= UInt64(b.count) - offset {
            let crc = CRC32C.checksum(b[Int(offset) ..< Int(offset + length)])
            withUnsafeBytes(of: crc.littleEndian) { b.replaceSubrange(36 ..< 40, with: $0) }
        }
        let h = CRC32C.checksum(b[0 ..< 44])
        withUnsafeBytes(of: h.littleEndian) { b.replaceSubrange(44 ..< 48, with: $0) }
    }

    func write(_ b: [UInt8], _ path: String) throws { try Data(b).write(to: URL(fileURLWithPath: path)) }

    func testTruncatedFilesThrowNamingTheFile() throws {
        let dir = try temporaryDirectory(self)
        let shard = try writeSmallShard(in: dir)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: shard.path)))
        let cut = dir + "/cut.shard"
        for n in [0, 5, 8, 47, 48, 100, bytes.count / 2, bytes.count - 1] {
            try write(Array(bytes.prefix(n)), cut)
            assertCheckpointError(try ShardReader(path: cut), mentions: [cut])
        }
        try write(Array(bytes.prefix(bytes.count - 1)), cut)
        assertCheckpointError(try ShardReader(path: cut), kind: .truncated, mentions: [cut, "\(bytes.count - 1) bytes"])
        assertCheckpointError(try ShardReader(path: dir + "/nonexistent.shard"), kind: .unreadable,
                              mentions: ["nonexistent.shard", "No such file"])
    }

    func testBitFlipsAreCaughtByChecksums() throws {
        let dir = try temporaryDirectory(self)
        let shard = try writeSmallShard(in: dir)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: shard.path)))
        let reader = try ShardReader(path: shard.path)
        let flipped = dir + "/flipped.shard"
        // A flip in every tensor's data, in the header and in the table.
        for r in reader.records {
            var b = bytes
            b[r.dataOffset + r.compressedLength / 2] ^= 0x10
            try write(b, flipped)
            let opened = try ShardReader(path: flipped)  // header and table are intact
            assertCheckpointError(try opened.verify(), kind: .checksumMismatch, mentions: [flipped, "'\(r.name)'"])
        }
        var b = bytes
        b[20] ^= 1
        try write(b, flipped)
        assertCheckpointError(try ShardReader(path: flipped), kind: .checksumMismatch, mentions: [flipped, "header CRC-32C"])
        b = bytes
        b[bytes.count - 10] ^= 0x80
        try write(b, flipped)
        assertCheckpointError(try ShardReader(path: flipped), kind: .checksumMismatch, mentions: [flipped, "record table"])
        // An uncompressed, unshuffled fp32 value: only the tensor CRC can notice.
        let plain = try writeSmallShard(in: dir, name: "plain.shard", options: ShardWriteOptions(codec: .none, shuffle: false))
        b = try Array(Data(contentsOf: URL(fileURLWithPath: plain.path)))
        b[ShardFormat.headerSize + 3] ^= 0x01
        try write(b, flipped)
        assertCheckpointError(try ShardReader(path: flipped).floats("model.params"), kind: .checksumMismatch,
                              mentions: [flipped, "'model.params'", "CRC-32C"])
    }

    func testWrongMagicAndVersion() throws {
        let dir = try temporaryDirectory(self)
        let shard = try writeSmallShard(in: dir)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: shard.path)))
        let bad = dir + "/bad.shard"
        try write(Array("PK\u{3}\u{4}not a shard at all".utf8), bad)
        assertCheckpointError(try ShardReader(path: bad), kind: .wrongFormat, mentions: [bad, "ISPOCKPT", "50 4b 03 04"])
        var b = bytes
        b[8] = 2
        Self.fixChecksums(&b)
        try write(b, bad)
        assertCheckpointError(try ShardReader(path: bad), kind: .unsupportedVersion, mentions: [bad, "version 2", "newer"])
        try write(Array(repeating: 0, count: 64), bad)  // what a crash leaves before the header is written
        assertCheckpointError(try ShardReader(path: bad), kind: .wrongFormat, mentions: [bad])
    }

    func testOversizedLengthsThrowBeforeAllocating() throws {
        let dir = try temporaryDirectory(self)
        let shard = try writeSmallShard(in: dir)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: shard.path)))
        let tableOffset = Int(bytes.loadLE(UInt64.self, at: 16))
        let bad = dir + "/huge.shard"
        func put(_ v: UInt64, at i: Int, _ b: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { b.replaceSubrange(i ..< i + 8, with: $0) } }

        var b = bytes
        put(1 << 60, at: 24, &b)  // table length
        Self.fixChecksums(&b)
        try write(b, bad)
        assertCheckpointError(try ShardReader(path: bad), kind: .malformed, mentions: [bad, "1152921504606846976"])

        // Record 0 ("model.params", 12-byte name, no shape): count at +2+12+4.
        let countAt = tableOffset + 2 + 12 + 4
        for (field, value) in [(countAt, UInt64(1) << 40), (countAt, UInt64.max), (countAt + 16, UInt64(1) << 62)] {
            b = bytes
            put(value, at: field, &b)
            try write(b, bad)
            assertCheckpointError(try ShardReader(path: bad), kind: .checksumMismatch, mentions: [bad, "record table"])
            Self.fixChecksums(&b)
            try write(b, bad)
            assertCheckpointError(try ShardReader(path: bad), kind: .malformed, mentions: [bad, "'model.params'"])
        }
        // Count and stored length both claiming 1 TB, consistently: zstd cannot expand that far.
        b = bytes
        put(1 << 38, at: countAt, &b)
        put(1 << 40, at: countAt + 16, &b)
        Self.fixChecksums(&b)
        try write(b, bad)
        assertCheckpointError(try ShardReader(path: bad), kind: .malformed, mentions: [bad, "zstd bytes"])
    }

    /// Thousands of random mutations of a small shard: each either throws a
    /// `CheckpointError` naming the file or reads back the original values.
    func testFuzzedShardsNeverCrash() throws {
        let dir = try temporaryDirectory(self)
        let shard = try writeSmallShard(in: dir)
        let original = try Array(Data(contentsOf: URL(fileURLWithPath: shard.path)))
        let good = try ShardReader(path: shard.path)
        let expected = try good.records.map { try good.storedBytes($0) }
        let path = dir + "/fuzz.shard"
        var g = SplitMix64(seed: 2024)
        var outcomes: [String: Int] = [:]
        for i in 0 ..< 3000 {
            var b = original
            for _ in 0 ..< 1 + Int(g.next() % 3) {
                switch g.next() % 6 {
                case 0: b[Int(g.next() % UInt64(b.count))] ^= UInt8(1 << (g.next() % 8))
                case 1: b[Int(g.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: g.next())
                case 2: b = Array(b.prefix(Int(g.next() % UInt64(b.count + 1))))
                case 3: b += (0 ..< Int(g.next() % 16)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
                case 4:
                    if b.count >= 8 {
                        let at = Int(g.next() % UInt64(b.count - 7))
                        let v: UInt64 = g.next() % 2 == 0 ? g.next() : g.next() % 4096
                        withUnsafeBytes(of: v.littleEndian) { b.replaceSubrange(at ..< at + 8, with: $0) }
                    }
                default:
                    if !b.isEmpty { b[Int(g.next() % UInt64(b.count))] = 0 }
                }
                if b.isEmpty { break }
            }
            if i % 2 == 0 { Self.fixChecksums(&b) }  // get past the CRCs into the parser
            try write(b, path)
            do {
                let r = try ShardReader(path: path)
                let got = try r.records.map { try r.storedBytes($0) }
                XCTAssertEqual(got, expected, "case \(i)")
                outcomes["read back intact", default: 0] += 1
            } catch let e as CheckpointError {
                XCTAssertTrue(e.description.contains(path), "case \(i): \(e)")
                outcomes[e.kind.rawValue, default: 0] += 1
            } catch {
                XCTFail("case \(i): not a CheckpointError: \(error)")
            }
        }
        print("fuzz outcomes: \(outcomes.sorted { $0.key < $1.key })")
        XCTAssertGreaterThan(outcomes["malformed", default: 0], 100, "the fixed-up cases should reach the table parser")
    }
}
