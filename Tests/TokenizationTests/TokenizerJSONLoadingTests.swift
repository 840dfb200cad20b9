import Foundation
import TestSupport
import XCTest
import Tokenization

/// Loading tokenizer.json files: formats, pre-tokenizer detection, bad files and fuzzing.
final class TokenizerJSONLoadingTests: XCTestCase {
    func testSmallTokenizerLoadsBothMergeFormats() throws {
        for asPairs in [false, true] {
            let path = try Fixtures.writeTemporary(Fixtures.smallTokenizerJSON(mergesAsPairs: asPairs),
                                                   name: "small-\(asPairs)")
            let tokenizer = try ByteLevelBPE.load(tokenizerJSON: path)
            XCTAssertEqual(tokenizer.vocabSize, 263)
            XCTAssertEqual(tokenizer.preTokenizer, .smollm)
            XCTAssertEqual(tokenizer.encode(" the").map { tokenizer.tokenString($0) }, ["Ġthe"])
            XCTAssertEqual(tokenizer.encode(" then thin").map { tokenizer.tokenString($0) },
                           ["Ġthe", "n", "Ġt", "h", "in"])
            XCTAssertEqual(tokenizer.encode("<|im_start|> a<|endoftext|>"), [262, 260, 261])
            XCTAssertEqual(tokenizer.decode(tokenizer.encode("Grüße 42 🤖")), "Grüße 42 🤖")
        }
    }

    func testPreTokenizerDetection() throws {
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true]
        let gpt2 = try ByteLevelBPE.load(tokenizerJSONData: Fixtures.smallTokenizerJSON(preTokenizer: byteLevel))
        XCTAssertEqual(gpt2.preTokenizer, .gpt2)

        let prefixed: [String: Any] = ["type": "ByteLevel", "add_prefix_space": true]
        assertThrowsTokenizationError(
            try ByteLevelBPE.load(tokenizerJSONData: Fixtures.smallTokenizerJSON(preTokenizer: prefixed),
                                  source: "prefixed.json"),
            containing: ["prefixed.json", "add_prefix_space"])
        let metaspace: [String: Any] = ["type": "Metaspace"]
        assertThrowsTokenizationError(
            try ByteLevelBPE.load(tokenizerJSONData: Fixtures.smallTokenizerJSON(preTokenizer: metaspace),
                                  source: "metaspace.json"),
            containing: ["metaspace.json", "found Metaspace"])
    }

    func testMissingFileNamesPathAndFetchScript() {
        let path = "/tmp/tokenization-tests-\(getpid())-does-not-exist.json"
        assertThrowsTokenizationError(try ByteLevelBPE.load(tokenizerJSON: path),
                                      containing: [path, "could not read", "Launch/fetch-data.sh"])
    }

    func testTruncatedFile() throws {
        let data = Fixtures.smallTokenizerJSON()
        let path = try Fixtures.writeTemporary(data.prefix(data.count / 2), name: "truncated")
        assertThrowsTokenizationError(try ByteLevelBPE.load(tokenizerJSON: path),
                                      containing: [path, "expected valid JSON", "truncated"])
    }

    func testTruncatedRealFile() throws {
        _ = try Fixtures.smolLM()  // fails with the fetch hint when the data is missing
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.smolLMTokenizerPath))
        let path = try Fixtures.writeTemporary(data.prefix(1_000_000), name: "truncated-real")
        assertThrowsTokenizationError(try ByteLevelBPE.load(tokenizerJSON: path),
                                      containing: [path, "expected valid JSON"])
    }

    func testInvalidJSON() throws {
        let path = try Fixtures.writeTemporary(Data("{\"model\": [1, 2,, }".utf8), name: "invalid")
        assertThrowsTokenizationError(try ByteLevelBPE.load(tokenizerJSON: path),
                                      containing: [path, "expected valid JSON"])
        let array = try Fixtures.writeTemporary(Data("[1, 2]".utf8), name: "array")
        assertThrowsTokenizationError(try ByteLevelBPE.load(tokenizerJSON: array),
                                      containing: [array, "JSON object at the top level"])
    }

    func testMissingVocabulary() throws {
        let data = Fixtures.smallTokenizerJSON { root in
            var model = root["model"] as? [String: Any] ?? [:]
            model["vocab"] = nil
            root["model"] = model
        }
        let path = try Fixtures.writeTemporary(data, name: "no-vocab")
        assertThrowsTokenizationError(try ByteLevelBPE.load(tokenizerJSON: path),
                                      containing: [path, "model.vocab"])
    }

    func testMergeNamingUnknownToken() throws {
        let data = Fixtures.smallTokenizerJSON { root in
            var model = root["model"] as? [String: Any] ?? [:]
            model["merges"] = ["Ġ t", "h zzz"]
            root["model"] = model
        }
        let path = try Fixtures.writeTemporary(data, name: "bad-merge")
        assertThrowsTokenizationError(try ByteLevelBPE.load(tokenizerJSON: path),
                                      containing: [path, "merge #1", "\"zzz\"", "not in the vocabulary"])
    }

    func testNonContiguousIDs() throws {
        let data = Fixtures.smallTokenizerJSON { root in
            var model = root["model"] as? [String: Any] ?? [:]
            var vocab = model["vocab"] as? [String: Int] ?? [:]
            vocab["in"] = 5000
            model["vocab"] = vocab
            root["model"] = model
        }
        let path = try Fixtures.writeTemporary(data, name: "gap")
        assertThrowsTokenizationError(try ByteLevelBPE.load(tokenizerJSON: path),
                                      containing: [path, "contiguous"])
    }

    /// Thousands of seeded byte mutations and truncations: each must load or
    /// throw a TokenizationError naming the file, never crash.
    func testFuzzedFilesThrowOrLoad() throws {
        let original = [UInt8](Fixtures.smallTokenizerJSON())
        let path = "/tmp/tokenization-tests-\(getpid())-fuzz.json"
        var rng = SplitMix64(seed: 0xF022)
        let interesting = Array("{}[]\",:0123456789-e. \\".utf8) + [0x00, 0xC3, 0xFF]
        var loaded = 0
        for iteration in 0..<3000 {
            var bytes = original
            for _ in 0...rng.below(3) {
                let position = rng.below(bytes.count)
                switch rng.below(5) {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes[position] = rng.pick(interesting)
                case 2: bytes.removeSubrange(position..<min(bytes.count, position + 1 + rng.below(16)))
                case 3: bytes.insert(rng.pick(interesting), at: position)
                default: bytes = Array(bytes.prefix(position))
                }
                if bytes.isEmpty { bytes = [0x7B] }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let tokenizer = try ByteLevelBPE.load(tokenizerJSON: path)
                loaded += 1
                _ = tokenizer.decode(tokenizer.encode("the 12 thin <|im_start|> é🤖"))
            } catch let error as TokenizationError {
                if !error.message.contains(path) {
                    XCTFail("mutation #\(iteration): message does not name the file: \(error.message)")
                }
            } catch {
                XCTFail("mutation #\(iteration): expected a TokenizationError, got \(error)")
            }
        }
        XCTAssertGreaterThan(loaded, 0, "some mutations (e.g. inside unused fields) should still load")
    }
}
