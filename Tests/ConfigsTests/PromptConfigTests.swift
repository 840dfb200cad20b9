import Configs
import XCTest

/// `data.prompt`: loading, per-benchmark templates and the checks of `validate()`.
final class PromptConfigTests: XCTestCase {
    func testDefaultsGiveTodaysWordingAndTheModelsTemplate() {
        let p = Config().data.prompt
        XCTAssertEqual(p.template, "{question}\n{instruction}")
        XCTAssertEqual(p.chatTemplateChoice, .model)
        XCTAssertNil(p.system)
        XCTAssertEqual(p.templateText(dataSource: "gsm8k", synthetic: false), "{question}\n{instruction}")
        XCTAssertNil(p.templateText(dataSource: "addition:3", synthetic: true), "synthetic questions are used as written")
    }

    func testPerBenchmarkTemplateReplacesTheGlobalOneForThatSourceOnly() throws {
        let yaml = """
        data:
          prompt:
            template: "Q: {question}\\n{instruction}"
            benchmarks:
              gsm8k: "Solve: {question}"
              gsm_hard: "Hard: {question}"
            chat_template: chatml
            system: You are a careful mathematician.
        """
        let c = try Config.load(yamlText: yaml, sourceName: "run.yaml")
        XCTAssertEqual(c.validationProblems().filter { $0.message.contains("data.prompt") }, [])
        let p = c.data.prompt
        XCTAssertEqual(p.templateText(dataSource: "gsm8k", synthetic: false), "Solve: {question}")
        XCTAssertEqual(p.templateText(dataSource: "gsm_hard", synthetic: false), "Hard: {question}")
        XCTAssertEqual(p.templateText(dataSource: "svamp", synthetic: false), "Q: {question}\n{instruction}")
        XCTAssertEqual(p.chatTemplateChoice, .chatML)
        XCTAssertEqual(p.system, "You are a careful mathematician.")
        // The resolved config reads back to the same prompts.
        XCTAssertEqual(try Config.load(yamlText: c.resolvedYAML(), sourceName: "resolved").data.prompt, p)
    }

    func testDottedOverridesSetTemplatesAndChatTemplateSpellings() throws {
        let c = try Config.load(yamlFile: nil, overrides: ["data.prompt.benchmarks.math500=\"Problem: {question}\"",
                                                            "data.prompt.chat_template=raw"])
        XCTAssertEqual(c.data.prompt.benchmarks.math500, "Problem: {question}")
        XCTAssertEqual(c.data.prompt.chatTemplateChoice, ChatTemplateChoice.none)
        XCTAssertEqual(ChatTemplateChoice(parsing: "templates/qwen.jinja"), .file("templates/qwen.jinja"))
        XCTAssertEqual(ChatTemplateChoice.nearestKeyword("chatlm"), "chatml")
    }

    func testUnknownBenchmarkKeyNamesTheNearestAndTheValidOnes() {
        let p = configError {
            try Config.load(yamlText: "data:\n  prompt:\n    benchmarks:\n      gsm8kk: \"{question}\"\n", sourceName: "run.yaml")
        }.problems
        XCTAssertEqual(p.count, 1, "\(p)")
        let m = p.first?.message ?? ""
        XCTAssertTrue(m.contains("unknown key `data.prompt.benchmarks.gsm8kk`"), m)
        XCTAssertTrue(m.contains("did you mean `data.prompt.benchmarks.gsm8k`?"), m)
        XCTAssertTrue(m.contains("gsm8k, gsm_hard, svamp, asdiv, mawps, math, math500, synthetic"), m)
    }

    func testValidateReportsBadTemplatesAndASystemMessageRawPromptsWouldDrop() throws {
        let c = try Config.load(yamlFile: nil, overrides: [
            "data.prompt.template=\"Answer: {answer}\"", "data.prompt.benchmarks.svamp=\"{instruction}\"",
            "data.prompt.chat_template=none", "data.prompt.system=\"Be brief.\"",
        ])
        let messages = c.validationProblems().map(\.message)
        XCTAssertTrue(messages.contains { $0.hasPrefix("data.prompt.template: unknown placeholder {answer}") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.hasPrefix("data.prompt.benchmarks.svamp: expected the placeholder {question}") },
                      "\(messages)")
        XCTAssertTrue(messages.contains { $0.hasPrefix("data.prompt.system (\"Be brief.\") is set but data.prompt.chat_template is none") },
                      "\(messages)")
        XCTAssertEqual(messages.filter { $0.hasPrefix("data.prompt") }.count, 3, "\(messages)")
    }

    func testEmptyChatTemplateIsRefused() throws {
        let c = try Config.load(yamlFile: nil, overrides: ["data.prompt.chat_template=\"\""])
        XCTAssertTrue(c.validationProblems().contains { $0.message.hasPrefix("data.prompt.chat_template is empty") })
    }
}
