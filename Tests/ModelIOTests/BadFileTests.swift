import Foundation
import ModelIO
import Tensors
import TestSupport
import XCTest

/// Corrupt, truncated and hostile files must throw a `ModelIOError`, never crash,
/// hang or allocate what a length field claims.
final class BadFileTests: XCTestCase {
    /// Header bytes of a GGUF with the given counts, then `rest`.
    func ggufHeader(version: UInt32 = 3, tensors: UInt64, kvs: UInt64, _ rest: [UInt8] = []) -> Data {
        var b = Array("GGUF".utf8)
        b.u32(version)
        b.u64(tensors)
        b.u64(kvs)
        return Data(b + rest)
    }

    func testWrongMagicAndVersion() {
        assertModelIOError(try GGUFFile(data: Data("PK\u{3}\u{4}hello world, not gguf".utf8), path: "zip.gguf"),
                           kind: .wrongFormat, mentions: ["zip.gguf", "GGUF magic", "50 4b 03 04"])
        assertModelIOError(try GGUFFile(data: Data(), path: "empty.gguf"), kind: .truncated,
                           mentions: ["empty.gguf", "0 bytes"])
        assertModelIOError(try GGUFFile(data: ggufHeader(version: 1, tensors: 0, kvs: 0), path: "v1.gguf"),
                           kind: .unsupportedVersion, mentions: ["v1.gguf", "version 1"])
        assertModelIOError(try GGUFFile(data: ggufHeader(version: 0x0300_0000, tensors: 0, kvs: 0), path: "be.gguf"),
                           kind: .unsupportedVersion, mentions: ["big-endian"])
        assertModelIOError(try SafetensorsFile(data: Data([1, 0, 0, 0, 0, 0, 0, 0, 0x5b]), path: "a.safetensors"),
                           kind: .wrongFormat, mentions: ["a.safetensors", "'{'"])
    }

    func testOversizedCountsAndLengthsThrowWithoutAllocating() {
        assertModelIOError(try GGUFFile(data: ggufHeader(tensors: 1 << 62, kvs: 0), path: "t.gguf"),
                           kind: .malformed, mentions: ["t.gguf", "tensor count", "4611686018427387904"])
        assertModelIOError(try GGUFFile(data: ggufHeader(tensors: .max, kvs: 0), path: "t.gguf"),
                           kind: .malformed, mentions: ["tensor count"])
        assertModelIOError(try GGUFFile(data: ggufHeader(tensors: 0, kvs: 1 << 40), path: "kv.gguf"),
                           kind: .malformed, mentions: ["metadata key/value count"])
        var longKey: [UInt8] = []
        longKey.u64(1 << 50)
        longKey += Array(repeating: UInt8(ascii: "a"), count: 40)
        assertModelIOError(try GGUFFile(data: ggufHeader(tensors: 0, kvs: 1, longKey), path: "s.gguf"),
                           kind: .malformed, mentions: ["s.gguf", "byte length of key of metadata entry 0"])
        var array: [UInt8] = []
        array.u64(1)
        array += Array("k".utf8)
        array.u32(9)  // array
        array.u32(8)  // of strings
        array.u64(1 << 60)
        assertModelIOError(try GGUFFile(data: ggufHeader(tensors: 0, kvs: 1, array), path: "a.gguf"),
                           kind: .malformed, mentions: ["a.gguf", "element count of array 'k'", "1152921504606846976"])
        var nested: [UInt8] = []
        nested.u64(1)
        nested += Array("n".utf8)
        nested.u32(9)  // An array of arrays of arrays ...
        for _ in 0 ..< 10 {
            nested.u32(9)
            nested.u64(1)
        }
        nested += [UInt8](repeating: 0, count: 200)
        assertModelIOError(try GGUFFile(data: ggufHeader(tensors: 0, kvs: 1, nested), path: "n.gguf"),
                           kind: .malformed, mentions: ["nested"])

        var st: [UInt8] = []
        st.u64(1 << 60)
        st += Array("{}".utf8)
        assertModelIOError(try SafetensorsFile(data: Data(st), path: "big.safetensors"), kind: .malformed,
                           mentions: ["big.safetensors", "1152921504606846976"])
        var st2: [UInt8] = []
        st2.u64(200_000_000)
        st2 += Array("{}      ".utf8)
        assertModelIOError(try SafetensorsFile(data: Data(st2), path: "big2.safetensors"), kind: .malformed,
                           mentions: ["200000000"])
        var st3: [UInt8] = []
        st3.u64(1000)
        st3 += Array("{}      ".utf8)
        assertModelIOError(try SafetensorsFile(data: Data(st3), path: "short.safetensors"), kind: .truncated,
                           mentions: ["short.safetensors", "1000"])
    }

    func testTensorExtentsAndPlacementAreChecked() {
        var g = GGUFBuilder()
        g.add("w", dims: [1 << 30, 1 << 30], type: .f32, bytes: [0, 0, 0, 0])
        assertModelIOError(try GGUFFile(data: g.build(), path: "huge.gguf"), kind: .malformed,
                           mentions: ["huge.gguf", "'w'"])
        var g2 = GGUFBuilder()
        g2.add("w", dims: [64, 64], type: .f32, bytes: [UInt8](repeating: 0, count: 64))
        assertModelIOError(try GGUFFile(data: g2.build(), path: "short.gguf"), kind: .truncated,
                           mentions: ["short.gguf", "'w'", "16384 bytes"])
        var g3 = GGUFBuilder()
        g3.add("q", dims: [31, 1], type: .q8_0, bytes: [UInt8](repeating: 0, count: 34))
        assertModelIOError(try GGUFFile(data: g3.build(), path: "blk.gguf"), kind: .malformed,
                           mentions: ["multiple of 32", "'q'"])
        var g4 = GGUFBuilder()
        g4.add("a", dims: [1], type: .f32, bytes: [0, 0, 0, 0])
        g4.add("a", dims: [1], type: .f32, bytes: [0, 0, 0, 0])
        assertModelIOError(try GGUFFile(data: g4.build(), path: "dup.gguf"), mentions: ["second tensor 'a'"])
        var g5 = GGUFBuilder()
        g5.set("general.alignment", .uint32(3))
        assertModelIOError(try GGUFFile(data: g5.build(), path: "al.gguf"), mentions: ["general.alignment"])
        var g6 = GGUFBuilder()
        g6.add("x", dims: [1, 1, 1, 1, 1], type: .f32, bytes: [0, 0, 0, 0])
        assertModelIOError(try GGUFFile(data: g6.build(), path: "dims.gguf"), mentions: ["1 to 4 dimensions"])
    }

    func safetensors(_ header: String, data: [UInt8]) -> Data {
        var b: [UInt8] = []
        b.u64(UInt64(header.utf8.count))
        return Data(b + Array(header.utf8) + data)
    }

    func testSafetensorsOffsetsAreValidated() {
        let cases: [(String, [UInt8], [String])] = [
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, [0, 0, 0, 0], ["'a'", "[0, 8]"]),
            (#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, Array(repeating: 0, count: 8),
             ["12 bytes", "'a'"]),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#,
             Array(repeating: 0, count: 8), ["overlaps"]),
            (#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#, [], ["non-negative"]),
            (#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#, [], ["shape"]),
            (#"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, [0], ["'Q4'"]),
            (#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], ["invalid JSON"]),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, [0, 0, 0, 0], ["[4, 0]"]),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, [0, 0, 0, 0], ["data_offsets"]),
            (#"{"a":"#, [], ["invalid JSON"]),
            ("{" + String(repeating: "[", count: 100_000), [], ["invalid JSON"]),
        ]
        for (header, data, fragments) in cases {
            assertModelIOError(try SafetensorsFile(data: safetensors(header, data: data), path: "bad.safetensors"),
                               mentions: ["bad.safetensors"] + fragments)
        }
        assertModelIOError(try SafetensorsFile(data: Data([1, 2, 3]), path: "tiny.safetensors"), kind: .truncated,
                           mentions: ["tiny.safetensors", "3 bytes"])
    }

    func testEveryTruncationOfValidFilesThrows() throws {
        let gguf = tinyLlamaGGUF().data
        let fullGGUF = try GGUFFile(data: gguf, path: "full.gguf")
        let lastTensorEnd = fullGGUF.tensors.map { fullGGUF.dataOffset + $0.offset + ($0.byteCount ?? 0) }.max() ?? 0
        XCTAssertEqual(lastTensorEnd, gguf.count)
        for n in 0 ..< gguf.count {
            XCTAssertThrowsError(try GGUFFile(data: gguf.prefix(n), path: "cut.gguf"), "prefix \(n)") { error in
                XCTAssertTrue("\(error)".hasPrefix("cut.gguf: expected"), "\(error)")
            }
        }
        let st = try safetensorsSample()
        for n in 0 ..< st.count {
            XCTAssertThrowsError(try SafetensorsFile(data: st.prefix(n), path: "cut.st"), "prefix \(n)") { error in
                XCTAssertTrue(error is ModelIOError && "\(error)".hasPrefix("cut.st: expected"), "\(error)")
            }
        }
    }

    func safetensorsSample() throws -> Data {
        let dir = try temporaryDirectory(self)
        let path = dir + "/s.safetensors"
        var rng = SplitMix64(seed: 41)
        try writeSafetensors(["a.weight": rng.tensor([3, 5]), "b": rng.tensor([4])], to: path, dtype: .bf16,
                             metadata: ["format": "pt"])
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// Byte flips, overwrites with extreme values, truncations and insertions of
    /// valid files: each mutant must load or throw a ModelIOError.
    func testFuzzedFilesThrowOrLoad() throws {
        let gguf = [UInt8](tinyLlamaGGUF(seed: 2).data)
        let st = [UInt8](try safetensorsSample())
        var rng = SplitMix64(seed: 0xF00D)
        var outcomes = [0, 0]
        for round in 0 ..< 3000 {
            let isGGUF = round % 3 != 2
            let mutant = mutate(isGGUF ? gguf : st, rng: &rng)
            do {
                if isGGUF {
                    let file = try GGUFFile(data: Data(mutant), path: "fuzz.gguf")
                    for t in file.tensors { _ = try? file.tensor(named: t.name) }
                    _ = try? tokenizerSpec(from: file)
                    _ = try llamaModel(from: file)
                } else {
                    _ = try SafetensorsFile(data: Data(mutant), path: "fuzz.safetensors").allTensors()
                }
                outcomes[0] += 1
            } catch let error as ModelIOError {
                XCTAssertTrue(error.file.hasPrefix("fuzz."), "\(error)")
                outcomes[1] += 1
            }
        }
        // Both outcomes occur, so the mutations are neither all fatal nor all harmless.
        XCTAssertGreaterThan(outcomes[0], 100)
        XCTAssertGreaterThan(outcomes[1], 100)
    }

    func mutate(_ original: [UInt8], rng: inout SplitMix64) -> [UInt8] {
        var b = original
        let edits = 1 + Int(rng.next() % 3)
        for _ in 0 ..< edits where !b.isEmpty {
            let at = Int(rng.next() % UInt64(b.count))
            switch rng.next() % 6 {
            case 0: b[at] ^= UInt8(1 << (rng.next() % 8))
            case 1: b[at] = UInt8(truncatingIfNeeded: rng.next())
            case 2:  // Extreme little-endian value over a length/count-sized field.
                let value: UInt64 = [.max, 1 << 63, 1 << 32, 0x7fff_ffff, 0][Int(rng.next() % 5)]
                for k in 0 ..< min(8, b.count - at) { b[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
            case 3: b.removeSubrange(at...)
            case 4: b.insert(contentsOf: (0 ..< 1 + rng.next() % 8).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            default: b.remove(at: at)
            }
        }
        return b
    }
}
