import Foundation
import XCTest
import Tokenization

/// Every case of Tests/Fixtures/chat_template_cases.json (made by
/// make_chat_template_fixtures.py with transformers' own renderer) rendered by
/// the Swift interpreter must give exactly transformers' string, or the same
/// `raise_exception` message.
final class ChatTemplateFixtureTests: XCTestCase {
    /// The time make_chat_template_fixtures.py pins `strftime_now` to (FIXED_NOW).
    static let fixtureNow = JinjaDateTime(year: 2026, month: 2, day: 3, hour: 14, minute: 5, second: 9)

    /// The templates the fixtures must cover (issue #14).
    static let requiredTemplates: Set<String> = ["smollm2", "qwen2.5", "llama-3.1", "llama-3.2", "mistral-v0.3",
                                                 "mistral-nemo", "qwen3", "qwen3.5", "deepseek-r1-distill-qwen",
                                                 "feature-probe"]

    private struct Fixture: Decodable {
        struct Template: Decodable {
            var name: String
            var bos_token: String?
            var eos_token: String?
            var template: String
        }
        struct Case: Decodable {
            var template: String
            var conversation: String
            var messages: [ChatMessage]
            var add_generation_prompt: Bool
            /// Extra template variables (booleans such as `enable_thinking`).
            var extra_variables: [String: Bool]
            var expected: String?
            var expected_error: String?
        }
        var strftime_now: String
        var templates: [Template]
        var cases: [Case]
    }

    private func loadFixture() throws -> Fixture {
        let path = Fixtures.packageRoot.appendingPathComponent("Tests/Fixtures/chat_template_cases.json").path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizationError("expected the committed fixture \(path), found nothing; regenerate it with "
                + "Tests/Fixtures/make_chat_template_fixtures.py")
        }
        return try JSONDecoder().decode(Fixture.self, from: data)
    }

    func testEveryFixtureCaseRendersExactlyAsTransformers() throws {
        let fixture = try loadFixture()
        XCTAssertEqual(fixture.strftime_now, "2026-02-03T14:05:09", "the fixture's pinned clock changed")
        XCTAssertEqual(Set(fixture.templates.map(\.name)), Self.requiredTemplates)
        var templates: [String: ModelChatTemplate] = [:]
        for t in fixture.templates {
            templates[t.name] = try ModelChatTemplate(source: t.template, bosToken: t.bos_token,
                                                      eosToken: t.eos_token, now: { Self.fixtureNow })
        }
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 180)
        var checked = 0
        for c in fixture.cases {
            let label = "\(c.template) / \(c.conversation) / add_generation_prompt=\(c.add_generation_prompt)"
                + (c.extra_variables.isEmpty ? "" : " / \(c.extra_variables)")
            guard let template = templates[c.template] else {
                XCTFail("\(label): the case names a template the fixture does not hold")
                continue
            }
            do {
                let rendered = try template.render(c.messages, addGenerationPrompt: c.add_generation_prompt,
                                                   extraVariables: c.extra_variables.mapValues { .bool($0) })
                if let expected = c.expected {
                    XCTAssertEqual(rendered, expected, label)
                } else {
                    XCTFail("\(label): expected the error \(c.expected_error ?? "?"), rendered \(rendered.debugDescription)")
                }
            } catch let error as JinjaError {
                if let message = c.expected_error {
                    XCTAssertEqual(error.kind, .raised, label)
                    XCTAssertEqual(error.message, message, label)
                } else {
                    XCTFail("\(label): \(error)")
                }
            }
            checked += 1
        }
        XCTAssertEqual(checked, fixture.cases.count)
    }

    /// The safety bounds leave room for real use: every fixture template
    /// renders a 500-message conversation with long contents.
    func testLongConversationsStayWithinTheLimits() throws {
        let fixture = try loadFixture()
        var messages = [ChatMessage(role: "system", content: "Be brief.")]
        for i in 0..<250 {
            messages.append(ChatMessage(role: "user", content: "Question \(i): " + String(repeating: "word ", count: 400)))
            messages.append(ChatMessage(role: "assistant", content: "<think>\nhmm\n</think>\n\nAnswer \(i)."))
        }
        messages.append(ChatMessage(role: "user", content: "Last question?"))
        for t in fixture.templates {
            let template = try ModelChatTemplate(source: t.template, bosToken: t.bos_token, eosToken: t.eos_token,
                                                 now: { Self.fixtureNow })
            let text = try template.render(messages, addGenerationPrompt: true)
            XCTAssertTrue(text.contains("Question 249: word"), t.name)
            XCTAssertTrue(text.contains("Last question?"), t.name)
        }
    }

    /// SmolLM2's own template (read from the GGUF's metadata by the fixture
    /// script) adds its default system message when none is given; the fixed
    /// ChatML routine dropped it.
    func testSmolLM2FixtureTemplateAddsItsDefaultSystemMessage() throws {
        let fixture = try loadFixture()
        let smol = try XCTUnwrap(fixture.templates.first { $0.name == "smollm2" })
        let template = try ModelChatTemplate(source: smol.template, bosToken: smol.bos_token, eosToken: smol.eos_token)
        let text = try template.render([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
        XCTAssertEqual(text, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
            + "<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }
}
