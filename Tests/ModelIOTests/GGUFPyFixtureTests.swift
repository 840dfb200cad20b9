import Foundation
import ModelIO
import Tensors
import XCTest

/// A GGUF written by llama.cpp's gguf-py (`GGUFWriter`, `gguf.quants.quantize`), so the
/// reader is checked against the reference writer, not only against the test writer.
/// Each quantised tensor `X` comes with `X.expected`: gguf-py's own dequantisation as F32.
final class GGUFPyFixtureTests: XCTestCase {
    static let base64 = [
        "R0dVRgMAAAAKAAAAAAAAAA8AAAAAAAAAFAAAAAAAAABnZW5lcmFsLmFyY2hpdGVjdHVyZQgAAAAFAAAAAAAAAGxsYW1hBAAAAAAAAAB0",
        "LnU4AAAAAAcEAAAAAAAAAHQuaTgBAAAA+QUAAAAAAAAAdC51MTYCAAAA//8FAAAAAAAAAHQuaTE2AwAAANT+BQAAAAAAAAB0LnUzMgQA",
        "AABA4gEABQAAAAAAAAB0LmkzMgUAAADAHf7/BQAAAAAAAAB0LmYzMgYAAAAAAAA+BQAAAAAAAAB0LnU2NAoAAAAAAAAAAAEAAAUAAAAA",
        "AAAAdC5pNjQLAAAAAAAAAAD///8FAAAAAAAAAHQuZjY0DAAAAAAAAAAAAARABgAAAAAAAAB0LmJvb2wHAAAAAQUAAAAAAAAAdC5zdHII",
        "AAAABgAAAAAAAABow6lsbG8FAAAAAAAAAHQuYXJyCQAAAAgAAAACAAAAAAAAAAEAAAAAAAAAYQIAAAAAAAAAYmMGAAAAAAAAAHQuaW50",
        "cwkAAAAFAAAAAwAAAAAAAAABAAAAAgAAAAMAAAADAAAAAAAAAGYxNgIAAAAgAAAAAAAAAAIAAAAAAAAAAQAAAAAAAAAAAAAADAAAAAAA",
        "AABmMTYuZXhwZWN0ZWQCAAAAIAAAAAAAAAACAAAAAAAAAAAAAACAAAAAAAAAAAQAAAAAAAAAYmYxNgIAAAAgAAAAAAAAAAIAAAAAAAAA",
        "HgAAAIABAAAAAAAADQAAAAAAAABiZjE2LmV4cGVjdGVkAgAAACAAAAAAAAAAAgAAAAAAAAAAAAAAAAIAAAAAAAAEAAAAAAAAAHE4XzAC",
        "AAAAIAAAAAAAAAACAAAAAAAAAAgAAAAAAwAAAAAAAA0AAAAAAAAAcThfMC5leHBlY3RlZAIAAAAgAAAAAAAAAAIAAAAAAAAAAAAAAGAD",
        "AAAAAAAABAAAAAAAAABxNF8wAgAAACAAAAAAAAAAAgAAAAAAAAACAAAAYAQAAAAAAAANAAAAAAAAAHE0XzAuZXhwZWN0ZWQCAAAAIAAA",
        "AAAAAAACAAAAAAAAAAAAAACgBAAAAAAAAAQAAAAAAAAAcTRfMQIAAAAgAAAAAAAAAAIAAAAAAAAAAwAAAKAFAAAAAAAADQAAAAAAAABx",
        "NF8xLmV4cGVjdGVkAgAAACAAAAAAAAAAAgAAAAAAAAAAAAAA4AUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAGq2TLnzr7oy",
        "izgFK2y0R7b9NYo6XTDvuKu3Zjp+Lu66W6mnuAm1z7O1tW00Cqi3tI4ypDaSuhyw2beKrSi5TCHZpN+wMbhXsl64bLkxL3C4rji8Nf67",
        "WzBouDskliX0u3ivGLCyN7q46DVluE2xubbMOYw03TwjNcM2ujbatHuoAEDNvgCAKb8AYP69AEBXPgBgET8AoGA9AICNvgDgyL4AoL8+",
        "AEBRPwCgCz4A4B2/AGD1vgDATD8AwM89AMBdvwBgK70A4BS/ACChvgDgeb4AoLa+AKCNPgBAAb0A4Ja+AMBRPgCA1D4AQFK/AIADvgAg",
        "+74AQLG9AAAlvwCAKTwAIJu8AOAbvgAgBr8A4Eq+AMALvwCALb8AIOY9AAAOvwDAFT8AgLc+AMB/vwBgCz4AAA2/AGCHPADAsjwAgH6/",
        "AADvvQAAA74AQPY+AEAXvwAAvT4AoAy/AKApvgAg174AgDk/AICRPgCgmz8AYKQ+AGDYPgBA1z4AQJu+AGAPvS0/S77BPS68nD47vpy9",
        "+D1TPd2+5T4mvxq/JL/4Pjm++b4Rv1g+B78jv50+Gb8lvl67ZL7evCs/hL4hv2u/0r00vgg+br51vrm+hb6kPUO+Tj1zP3U+Sr9ePzI+",
        "8b7oPhE8nb6ivv6+xTwJPya+Vz5wPxu/BD4dvgi/A7/6u14+AAAtPwAAS74AAME9AAAuvAAAnD4AADu+AACcvQAA+D0AAFM9AADdvgAA",
        "5T4AACa/AAAavwAAJL8AAPg+AAA5vgAA+b4AABG/AABYPgAAB78AACO/AACdPgAAGb8AACW+AABeuwAAZL4AAN68AAArPwAAhL4AACG/",
        "AABrvwAA0r0AADS+AAAIPgAAbr4AAHW+AAC5vgAAhb4AAKQ9AABDvgAATj0AAHM/AAB1PgAASr8AAF4/AAAyPgAA8b4AAOg+AAARPAAA",
        "nb4AAKK+AAD+vgAAxTwAAAk/AAAmvgAAVz4AAHA/AAAbvwAABD4AAB2+AAAIvwAAA78AAPq7AABePtof3QQvEzkeIHcpCC7E6jQpZQGh",
        "f0e7WgKK5d9ozO/u58RtIQozHdTKBt/isVwr0is/j+buH/r1/Vdm59R/0uUCFzESAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABn",
        "ib4AQPs8AIO4PgAuFT4Axd8+AIxrPgBAez6AlWk/APWgPgBAez0AlrQ+AIzrvgC8LL4AJMw+APWgPoBARj8AQPs7gHk6v4BJeT+AXQs/",
        "gHAHvwCpMD8AQHs8AJ9nvwD+U74AjYG+ACRMPwAkzL4AegW+AFQNvgBKRL4AjOu+AAjZPYBbCj8AWZ0+ALzuvgB/Er8AOII9AA2zvgDG",
        "or6AUVa/AJZ5PwBP6T4Alvm+AE/pPoDpKj9AR5m/ABKNvgBUQ74AM6g+ADiCvQC87r0AOAK9gAVsP4Bbij8ApYe+ALzuvsBErD8Alvm+",
        "AH+SvgCgrTwAlnk+gO4EPwBUQz6MsauXNzNofFuEiq6KiAWbRkbMMIfMkah7QGSsh1Q3hnp6d5YAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAACAFvwCAMT4AgDE+AOBdPwAAAIAAgDG/ACAFvwCAMT8AgLG+ACCFvwCAsb4AAACAACAFPwAgBb8AgLE+AICxPgCAsb4AgDG+",
        "AOBdPwDgXT8AgLE+AIAxPgAgBT8AAACAAAAAgACAsb4AAACAAAAAgACAsT8AgDG+AIAxPwCAMT8AgBm+AIAZPwBQhr8AAAAAAEDmPgCA",
        "mb8AgBm/AIAZPwCAGb4AgBm/AIAZvgCAmb4AgJk+AICZPgCAGb4AgJm+AAAAAACAGT8AgBk+AICZPgCAGb4AgBm/AICZvgCAmT4AAAAA",
        "AEDmvgDgP78AAAAAAIAZvgCAGb4AgBm+AIAZPl0wt7xK/LyOfJeIiljbnZaSDbl7AzE5vWeptYu29YZZW0ZkbEWsCEYAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAQD0+AEDqPgBA6j4A8Do/AEDqPgCgZb4AALS9AEA9PgAAtL0AcKQ+AAgYPwCguL4A8Ge/AAgYPwCARj0AcKQ+",
        "ACAivwDYXT8AcKQ+AAC0vQCgZb4AgEY9AAC0vQAAtL0AcP6+AAgYPwCARj0AgEY9AIBGPQDglr8AcKQ+AKBlvgBgVr4AwNQ9AMgFvwCQ",
        "1T4AYLu+AMgFvwBgu74AwNQ9AJDVPgBgu74A4C2/AOASPwDIBb8A4BI/AABYvQBgu74AYLu+AGCFPgCQ1T4AAFi9AJDVPgCUhT8AAFi9",
        "AMgFvwDIBb8A4C2/AGC7vgBgu74A4C2/AGCFPgAgp78A4C2/",
    ].joined()

    func testReadsGGUFPyFileAndMatchesItsDequantisation() throws {
        let file = try GGUFFile(data: XCTUnwrap(Data(base64Encoded: Self.base64)), path: "gguf-py.gguf")
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file["general.architecture"], .string("llama"))
        XCTAssertEqual(file["t.u8"], .uint8(7))
        XCTAssertEqual(file["t.i8"], .int8(-7))
        XCTAssertEqual(file["t.u16"], .uint16(65535))
        XCTAssertEqual(file["t.i16"], .int16(-300))
        XCTAssertEqual(file["t.u32"], .uint32(123_456))
        XCTAssertEqual(file["t.i32"], .int32(-123_456))
        XCTAssertEqual(file["t.f32"], .float32(0.125))
        XCTAssertEqual(file["t.u64"], .uint64(1 << 40))
        XCTAssertEqual(file["t.i64"], .int64(-(1 << 40)))
        XCTAssertEqual(file["t.f64"], .float64(2.5))
        XCTAssertEqual(file["t.bool"], .bool(true))
        XCTAssertEqual(file["t.str"], .string("héllo"))
        XCTAssertEqual(file["t.arr"]?.stringArray, ["a", "bc"])
        XCTAssertEqual(file["t.ints"]?.arrayValue?.compactMap(\.intValue), [1, 2, 3])
        let types: [String: GGMLType] = ["f16": .f16, "bf16": .bf16, "q8_0": .q8_0, "q4_0": .q4_0, "q4_1": .q4_1]
        for (name, type) in types {
            XCTAssertEqual(file.tensorInfo(named: name)?.type, type)
            let decoded = try file.tensor(named: name)
            XCTAssertEqual(decoded.shape, [2, 32])
            XCTAssertEqual(decoded, try file.tensor(named: name + ".expected"), name)
        }
    }
}
