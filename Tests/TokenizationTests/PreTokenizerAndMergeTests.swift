import Foundation
import XCTest
import Tokenization

/// Word splitting (expected values checked against Python's `regex` module
/// running the GPT-2 pattern) and the BPE merge order, on tiny vocabularies.
final class PreTokenizerAndMergeTests: XCTestCase {
    func testGPT2Split() {
        let cases: [(String, [String])] = [
            ("a   b", ["a", "  ", " b"]),
            ("a \n b", ["a", " \n", " b"]),
            ("x\t\ny", ["x", "\t", "\n", "y"]),
            ("hello   \n  world  ", ["hello", "   \n ", " world", "  "]),
            ("don't", ["don", "'t"]),
            ("they're", ["they", "'re"]),
            ("''s", ["''", "s"]),
            ("I'LL", ["I", "'", "LL"]),
            (" 'll", [" '", "ll"]),
            ("x 2 y", ["x", " 2", " y"]),
            ("12345 apples", ["12345", " apples"]),
            ("a  1", ["a", " ", " 1"]),
            ("e\u{301}", ["e", "\u{301}"]),
            ("Ⅻ²", ["Ⅻ²"]),
            ("  ", ["  "]),
            ("", []),
            ("?!  ...", ["?!", " ", " ..."]),
            ("日本語のテキスト", ["日本語のテキスト"]),
            ("\u{A0}a", ["\u{A0}", "a"]),
            ("x\u{3000}\u{3000}y", ["x", "\u{3000}", "\u{3000}", "y"]),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(PreTokenizerKind.gpt2.split(text), expected, "splitting \(text.debugDescription)")
        }
    }

    func testSmolLMSplitIsolatesEveryDigit() {
        let cases: [(String, [String])] = [
            ("x 2 y", ["x", " ", "2", " y"]),
            ("12345 apples", ["1", "2", "3", "4", "5", " apples"]),
            ("a  1", ["a", "  ", "1"]),
            ("Ⅻ²", ["Ⅻ", "²"]),
            ("v1.25x", ["v", "1", ".", "2", "5", "x"]),
            ("hello   \n  world  ", ["hello", "   \n ", " world", "  "]),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(PreTokenizerKind.smollm.split(text), expected, "splitting \(text.debugDescription)")
        }
    }

    /// A vocabulary of the 256 byte tokens plus `extra` tokens.
    private func tinyVocabulary(_ extra: [String]) -> [String] { Fixtures.byteStrings + extra }

    func testMergeRankAndLeftmostOrder() throws {
        // Lower rank wins: "b c" (rank 0) before "a b".
        let bcFirst = try ByteLevelBPE(tokens: tinyVocabulary(["bc", "ab"]), merges: ["b c", "a b"],
                                       preTokenizer: .gpt2)
        XCTAssertEqual(bcFirst.encode("abc").map { bcFirst.tokenString($0) }, ["a", "bc"])
        let abFirst = try ByteLevelBPE(tokens: tinyVocabulary(["bc", "ab"]), merges: ["a b", "b c"],
                                       preTokenizer: .gpt2)
        XCTAssertEqual(abFirst.encode("abc").map { abFirst.tokenString($0) }, ["ab", "c"])
        // Equal rank: leftmost first.
        let pairs = try ByteLevelBPE(tokens: tinyVocabulary(["aa"]), merges: ["a a"], preTokenizer: .gpt2)
        XCTAssertEqual(pairs.encode("aaa").map { pairs.tokenString($0) }, ["aa", "a"])
        // Merges apply within words only, and Ġ stands for the space.
        let spaced = try ByteLevelBPE(tokens: tinyVocabulary(["Ġa", "aa"]), merges: ["Ġ a", "a a"],
                                      preTokenizer: .gpt2)
        XCTAssertEqual(spaced.encode("a a").map { spaced.tokenString($0) }, ["a", "Ġa"])
    }

    func testLongWordsUseTheMergeQueue() throws {
        let tokenizer = try ByteLevelBPE(tokens: tinyVocabulary(["aa", "aaaa"]), merges: ["a a", "aa aa"],
                                         preTokenizer: .gpt2)
        let ids = tokenizer.encode(String(repeating: "a", count: 5001))
        XCTAssertEqual(ids.count, 1251)
        XCTAssertEqual(ids.dropLast().allSatisfy { tokenizer.tokenString($0) == "aaaa" }, true)
        XCTAssertEqual(ids.last.flatMap { tokenizer.tokenString($0) }, "a")
        // Encoding again hits the word cache and gives the same answer.
        XCTAssertEqual(tokenizer.encode(String(repeating: "a", count: 5001)), ids)
    }

    func testInitRejectsInconsistentInput() {
        let vocabulary = tinyVocabulary(["ab"])
        assertThrowsTokenizationError(
            try ByteLevelBPE(tokens: vocabulary, merges: ["a  b"], preTokenizer: .gpt2),
            containing: ["merge #0", "single space"])
        assertThrowsTokenizationError(
            try ByteLevelBPE(tokens: vocabulary, merges: ["a zz"], preTokenizer: .gpt2),
            containing: ["merge #0", "\"zz\"", "not in the vocabulary"])
        assertThrowsTokenizationError(
            try ByteLevelBPE(tokens: vocabulary, merges: ["b c"], preTokenizer: .gpt2),
            containing: ["merged token \"bc\""])
        assertThrowsTokenizationError(
            try ByteLevelBPE(tokens: vocabulary, merges: [], tokenTypes: [1, 1], preTokenizer: .gpt2),
            containing: ["one type per token (257)", "found 2"])
        assertThrowsTokenizationError(
            try ByteLevelBPE(tokens: ["a", "b"], merges: [], preTokenizer: .gpt2),
            containing: ["not a byte-level vocabulary"])
    }

    func testUserDefinedTokenTypesAreSpecial() throws {
        var types = [Int32](repeating: 1, count: 258)
        types[256] = 4
        let tokenizer = try ByteLevelBPE(tokens: tinyVocabulary(["<tool>", "<other>"]), merges: [],
                                         tokenTypes: types, preTokenizer: .gpt2)
        XCTAssertEqual(tokenizer.encode("x<tool>y"), [tokenizer.id(of: "x")!, 256, tokenizer.id(of: "y")!])
        XCTAssertEqual(tokenizer.encode("<other>").count, 7)
        XCTAssertEqual(tokenizer.encode("<tool>", allowSpecial: false).count, 6)
    }
}
