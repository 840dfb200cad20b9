@testable import Checkpoint
import Foundation
import TestSupport
import XCTest

/// Token ledgers: an exact round trip and every kind of damage detected.
final class TokenLedgerTests: XCTestCase {
    func sampleLedger() -> TokenLedger {
        var g = SplitMix64(seed: 5)
        var ledger = TokenLedger()
        for step in ["global_step_0", "global_step_40", "θ_b"] {
            for id in [7, -3, 1 << 40, 0] {
                ledger.record(checkpoint: step, sampleID: id, logProbs: (0 ..< (id == 0 ? 0 : 50)).map { _ in -abs(g.normal(3)) })
            }
        }
        // Values whose bits matter: −0, a subnormal, −∞, a NaN with a payload, the extremes.
        ledger.record(checkpoint: "edge", sampleID: 1,
                      logProbs: [-0.0, 0, -Float.leastNonzeroMagnitude, -.infinity, Float(bitPattern: 0x7FC0_1234),
                                 -.greatestFiniteMagnitude, -1e-30])
        return ledger
    }

    func testRoundTripIsBitExact() throws {
        let dir = try temporaryDirectory(self)
        let path = dir + "/tokens.ledger"
        let ledger = sampleLedger()
        try ledger.write(to: path)
        let back = try TokenLedger.read(from: path)
        XCTAssertEqual(back, ledger)
        XCTAssertEqual(back.checkpoints, ["edge", "global_step_0", "global_step_40", "θ_b"])
        XCTAssertEqual(back.sampleIDs(checkpoint: "θ_b"), [-3, 0, 7, 1 << 40])
        XCTAssertEqual(back.logProbs(checkpoint: "θ_b", sampleID: 0), [])
        XCTAssertNil(back.logProbs(checkpoint: "θ_b", sampleID: 8))
        XCTAssertEqual(back.logProbs(checkpoint: "edge", sampleID: 1)!.map(\.bitPattern),
                       ledger.logProbs(checkpoint: "edge", sampleID: 1)!.map(\.bitPattern))
        // Only the ledger is left in the directory (the temporary file was renamed).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["tokens.ledger"])
        // Same content, same bytes: the order on disk does not depend on insertion order.
        var reordered = TokenLedger()
        for c in ledger.checkpoints.reversed() {
            for s in ledger.sampleIDs(checkpoint: c).reversed() {
                reordered.record(checkpoint: c, sampleID: s, logProbs: ledger.logProbs(checkpoint: c, sampleID: s)!)
            }
        }
        try reordered.write(to: dir + "/again.ledger")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), try Data(contentsOf: URL(fileURLWithPath: dir + "/again.ledger")))
        // An empty ledger round-trips too.
        try TokenLedger().write(to: dir + "/empty.ledger")
        XCTAssertEqual(try TokenLedger.read(from: dir + "/empty.ledger"), TokenLedger())
    }

    func testDamageIsDetected() throws {
        let dir = try temporaryDirectory(self)
        let path = dir + "/tokens.ledger", bad = dir + "/bad.ledger"
        try sampleLedger().write(to: path)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        func write(_ b: [UInt8]) throws { try Data(b).write(to: URL(fileURLWithPath: bad)) }
        func fixHeaderCRC(_ b: inout [UInt8]) {
            let crc = CRC32C.checksum(b[0 ..< 36])
            withUnsafeBytes(of: crc.littleEndian) { b.replaceSubrange(36 ..< 40, with: $0) }
        }

        var b = bytes
        b[0] = UInt8(ascii: "X")
        try write(b)
        assertCheckpointError(try TokenLedger.read(from: bad), kind: .wrongFormat, mentions: [bad, "ISPOTLDG"])

        b = bytes
        b[20] ^= 1
        try write(b)
        assertCheckpointError(try TokenLedger.read(from: bad), kind: .checksumMismatch, mentions: [bad, "header CRC-32C"])

        b = bytes
        b[8] = 2
        fixHeaderCRC(&b)
        try write(b)
        assertCheckpointError(try TokenLedger.read(from: bad), kind: .unsupportedVersion, mentions: [bad, "version 2"])

        b = bytes
        b[12] = 1
        fixHeaderCRC(&b)
        try write(b)
        assertCheckpointError(try TokenLedger.read(from: bad), kind: .malformed, mentions: [bad, "reserved"])

        for n in [0, 7, 39, 40, 41, bytes.count / 2, bytes.count - 1] {
            try write(Array(bytes.prefix(n)))
            assertCheckpointError(try TokenLedger.read(from: bad), kind: .truncated, mentions: [bad])
        }
        try write(bytes + [0])
        assertCheckpointError(try TokenLedger.read(from: bad), kind: .malformed, mentions: [bad, "\(bytes.count + 1) bytes"])

        // A flip anywhere in the frame: zstd or the payload CRC must notice.
        for i in stride(from: TokenLedgerFormat.headerSize, to: bytes.count, by: max(1, bytes.count / 40)) {
            b = bytes
            b[i] ^= 0x04
            try write(b)
            assertCheckpointError(try TokenLedger.read(from: bad), kind: .checksumMismatch, mentions: [bad])
        }

        // A payload whose CRC matches but whose counts do not add up is malformed, not a crash.
        var payload: [UInt8] = []
        payload.appendLE(UInt32(1)); payload.appendLE(UInt16(1)); payload += [UInt8(ascii: "a")]
        payload.appendLE(UInt32(1)); payload.appendLE(Int64(3)); payload.appendLE(UInt32(1000))
        let frame = try payload.withUnsafeBytes { try Zstd.compress($0, level: 3, file: bad) }
        b = TokenLedgerFormat.magic
        b.appendLE(UInt32(1)); b.appendLE(UInt32(0)); b.appendLE(UInt64(payload.count)); b.appendLE(UInt64(frame.count))
        b.appendLE(CRC32C.checksum(payload)); b.appendLE(CRC32C.checksum(b))
        try write(b + frame)
        assertCheckpointError(try TokenLedger.read(from: bad), kind: .malformed, mentions: [bad])

        assertCheckpointError(try TokenLedger.read(from: dir + "/missing.ledger"), kind: .unreadable,
                              mentions: ["missing.ledger", "No such file"])
    }
}
