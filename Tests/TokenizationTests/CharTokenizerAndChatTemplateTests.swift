import XCTest
import Tokenization

final class CharTokenizerTests: XCTestCase {
    private func makeTokenizer() throws -> CharTokenizer {
        try CharTokenizer(alphabet: Array("0123456789+="), specials: ["<pad>", "<bos>", "<eos>"])
    }

    func testEncodeDecode() throws {
        let tokenizer = try makeTokenizer()
        XCTAssertEqual(tokenizer.vocabSize, 15)
        XCTAssertEqual(try tokenizer.encode("12+3="), [4, 5, 13, 6, 14])
        XCTAssertEqual(try tokenizer.encode(""), [])
        XCTAssertEqual(tokenizer.decode([1, 4, 5, 2, 0]), "<bos>12<eos><pad>")
        XCTAssertEqual(tokenizer.decode([1, 4, 5, 2, 0], skipSpecials: true), "12")
        XCTAssertEqual(tokenizer.decode([99, -1]), "\u{FFFD}\u{FFFD}")
        XCTAssertEqual(tokenizer.specialID("<eos>"), 2)
        XCTAssertNil(tokenizer.specialID("<unk>"))
        XCTAssertEqual(tokenizer.decode(try tokenizer.encode("9=9")), "9=9")
    }

    func testUnknownCharacterIsNamed() throws {
        let tokenizer = try makeTokenizer()
        assertThrowsTokenizationError(try tokenizer.encode("12*3"),
                                      containing: ["\"*\"", "U+2A", "character 2", "\"0123456789+=\""])
    }

    func testDuplicatesAreRejected() {
        assertThrowsTokenizationError(try CharTokenizer(alphabet: Array("abca"), specials: []),
                                      containing: ["\"a\" twice"])
        assertThrowsTokenizationError(try CharTokenizer(alphabet: Array("ab"), specials: ["<pad>", "<pad>"]),
                                      containing: ["\"<pad>\" twice"])
    }
}

final class ChatTemplateTests: XCTestCase {
    func testChatML() {
        let messages = [ChatMessage(role: "system", content: "Be brief."),
                        ChatMessage(role: "user", content: "2+2?")]
        XCTAssertEqual(ChatTemplate.chatML.render(messages, addGenerationPrompt: false),
                       "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n")
        XCTAssertEqual(ChatTemplate.chatML.render(messages, addGenerationPrompt: true),
                       "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
                           + "<|im_start|>assistant\n")
        XCTAssertEqual(ChatTemplate.chatML.render([], addGenerationPrompt: true), "<|im_start|>assistant\n")
    }
}
