import Foundation
import TestSupport
import XCTest
import Tokenization

/// Tests against the real SmolLM vocabulary (fetched by Launch/fetch-data.sh).
final class SmolLMTokenizerTests: XCTestCase {
    func testReferenceIDs() throws {
        let tokenizer = try Fixtures.smolLM()
        XCTAssertEqual(tokenizer.vocabSize, 49152)
        XCTAssertEqual(tokenizer.preTokenizer, .smollm)
        XCTAssertEqual(tokenizer.encode("The capital of France is"), [504, 3575, 282, 4649, 314])
        XCTAssertEqual(tokenizer.encode("12345 apples"), [33, 34, 35, 36, 37, 13855])
        XCTAssertEqual(tokenizer.encode("Question: What is 2 + 3?\nAnswer:"),
                       [17872, 42, 1812, 314, 216, 34, 1232, 216, 35, 47, 198, 21350, 42])
        XCTAssertEqual(tokenizer.decode([504, 3575, 282, 4649, 314]), "The capital of France is")
    }

    func testSpecialTokens() throws {
        let tokenizer = try Fixtures.smolLM()
        XCTAssertEqual(tokenizer.id(of: "<|endoftext|>"), 0)
        XCTAssertEqual(tokenizer.id(of: "<|im_start|>"), 1)
        XCTAssertEqual(tokenizer.id(of: "<|im_end|>"), 2)
        XCTAssertEqual(tokenizer.tokenString(1), "<|im_start|>")
        XCTAssertNil(tokenizer.tokenString(-1))
        XCTAssertNil(tokenizer.tokenString(49152))
        XCTAssertTrue(tokenizer.isSpecial(2))
        XCTAssertFalse(tokenizer.isSpecial(504))
        XCTAssertEqual(tokenizer.specialTokenIDs["<|im_end|>"], 2)

        let chat = ChatTemplate.chatML.render([ChatMessage(role: "user", content: "Hi there")],
                                              addGenerationPrompt: true)
        let ids = tokenizer.encode(chat)
        XCTAssertEqual(ids.first, 1)
        XCTAssertEqual(ids.filter { $0 == 1 }.count, 2)
        XCTAssertEqual(ids.filter { $0 == 2 }.count, 1)
        XCTAssertEqual(tokenizer.decode(ids), chat)
        // Between the specials, text is encoded as usual.
        XCTAssertEqual(Array(ids[1...]).prefix { $0 != 2 }, tokenizer.encode("user\nHi there")[...])

        let plain = tokenizer.encode(chat, allowSpecial: false)
        XCTAssertFalse(plain.contains(1) || plain.contains(2))
        XCTAssertEqual(tokenizer.decode(plain), chat)
        // Adjacent specials and specials at both ends.
        XCTAssertEqual(tokenizer.encode("<|im_end|><|im_start|>"), [2, 1])
        XCTAssertEqual(tokenizer.encode("<|endoftext|>"), [0])
    }

    func testDecodeReplacesInvalidUTF8AndStreamsBytes() throws {
        let tokenizer = try Fixtures.smolLM()
        let ids = tokenizer.encode("é😀")
        let bytes = tokenizer.decodeBytes(ids)
        XCTAssertEqual(bytes, Array("é😀".utf8))
        // A lone lead byte (the first byte of 😀) decodes with U+FFFD.
        guard let lead = tokenizer.id(of: Fixtures.byteStrings[0xF0]) else {
            return XCTFail("SmolLM should have a token for byte 0xF0")
        }
        XCTAssertEqual(tokenizer.decode([lead]), "\u{FFFD}")
        XCTAssertEqual(tokenizer.decode([504, -7, 999_999]), "The\u{FFFD}\u{FFFD}")
        XCTAssertEqual(tokenizer.decode([]), "")
        XCTAssertEqual(tokenizer.encode(""), [])
    }

    func testRandomStringsRoundTrip() throws {
        let tokenizer = try Fixtures.smolLM()
        var rng = SplitMix64(seed: 0x70C0_2024)
        let pools: [[String]] = [
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".map(String.init),
            "0123456789".map(String.init),
            [" ", "  ", "   ", "\n", "\n\n", "\t", "\r\n", " \n ", "\u{A0}", "\u{3000}", "\u{2028}"],
            ".,;:!?'\"()[]{}<>|-_+=*/\\@#$%^&~`".map(String.init),
            ["é", "è", "ñ", "ü", "Å", "ß", "ø", "ç", "Æ", "œ", "Ł", "ğ"],
            ["中", "文", "字", "日本語", "한국어", "ひらがな"],
            ["😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "🤖", "🧪"],
            ["\u{301}", "\u{308}", "\u{327}", "e\u{301}", "a\u{30A}"],
            ["٣", "²", "½", "Ⅻ", "①", "१२"],
            ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "''"],
            ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im", "|>"],
            ["the", " the", "tokenization", " Swift", "don't", "we'll", " 1984"],
        ]
        for index in 0..<1000 {
            var text = ""
            for _ in 0..<rng.below(48) { text += rng.pick(rng.pick(pools)) }
            let ids = tokenizer.encode(text)
            XCTAssertEqual(tokenizer.decode(ids), text, "string #\(index) \(text.debugDescription), ids \(ids)")
            XCTAssertEqual(tokenizer.decode(tokenizer.encode(text, allowSpecial: false)), text)
            XCTAssertTrue(ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabSize })
        }
    }

    func testUnencodableBytesAreReported() throws {
        let tokenizer = try Fixtures.smolLM()
        // SmolLM's vocabulary has no token for a few bytes; encode drops them as Hugging Face does.
        XCTAssertTrue(tokenizer.unencodableBytes.contains(0x04))
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("a\u{4}b")), "ab")
    }

    func testGGUFStyleInitMatchesTokenizerJSON() throws {
        let tokenizer = try Fixtures.smolLM()
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.smolLMTokenizerPath))
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let model = root?["model"] as? [String: Any]
        let merges = try XCTUnwrap(model?["merges"] as? [String])
        let tokens = (0..<Int32(tokenizer.vocabSize)).map { tokenizer.tokenString($0) ?? "" }
        let types = tokens.indices.map { Int32($0 < 17 ? 3 : 1) }
        let fromTypes = try ByteLevelBPE(tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: .smollm)
        let fromHeuristic = try ByteLevelBPE(tokens: tokens, merges: merges, preTokenizer: .smollm)
        let text = "<|im_start|>system\nYou add 12 + 30 = 42.<|im_end|>\n<filename>x.swift don't  stop\t"
        XCTAssertEqual(fromTypes.encode(text), tokenizer.encode(text))
        XCTAssertEqual(fromTypes.vocabSize, tokenizer.vocabSize)
        // Without types only <|…|> tokens are special.
        XCTAssertEqual(fromHeuristic.encode("<|im_start|>"), [1])
        XCTAssertNotEqual(fromHeuristic.encode("<filename>"), [6])
        XCTAssertEqual(fromTypes.encode("<filename>"), [6])
    }

    func testConcurrentEncodingSharesTheCacheSafely() throws {
        let tokenizer = try Fixtures.smolLM()
        let texts = (0..<64).map { "Sample \($0): the answer is \($0 * 37) apples, isn't it?" }
        let expected = texts.map { tokenizer.encode($0) }
        let fresh = try ByteLevelBPE.load(tokenizerJSON: Fixtures.smolLMTokenizerPath)
        let results = ResultBox(count: texts.count)
        DispatchQueue.concurrentPerform(iterations: texts.count * 4) { index in
            results.set(index % texts.count, fresh.encode(texts[index % texts.count]))
        }
        XCTAssertEqual(results.values, expected)
    }

    func testEncodingSpeed() throws {
        let tokenizer = try Fixtures.smolLM()
        let words = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "reading",
                     "tokenizers", "in", "2024", ",", ".", "\n", "don't", "Swift's", "performance", "matters"]
        var rng = SplitMix64(seed: 42)
        var text = ""
        while text.utf8.count < 100_000 { text += rng.pick(words) + " " }
        let start = Date()
        let ids = tokenizer.encode(text)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(tokenizer.decode(ids), text)
        // Release builds take a few milliseconds; this bound only catches pathologies in debug.
        XCTAssertLessThan(seconds, 5, "encoding 100 KB took \(seconds) s")
    }
}

/// Thread-safe slots for results computed concurrently.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [[Int32]]

    init(count: Int) { storage = Array(repeating: [], count: count) }

    func set(_ index: Int, _ value: [Int32]) {
        lock.lock()
        storage[index] = value
        lock.unlock()
    }

    var values: [[Int32]] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}
