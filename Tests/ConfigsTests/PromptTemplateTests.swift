import Configs
import XCTest

/// `PromptTemplate`: the `{question}` / `{instruction}` placeholders of `data.prompt.template`.
final class PromptTemplateTests: XCTestCase {
    func testDefaultTemplateIsQuestionNewlineInstruction() throws {
        let t = try PromptTemplate(parsing: PromptTemplate.defaultText, key: "k")
        XCTAssertEqual(t.render(question: "What is 2+3?", instruction: "Answer after ####."),
                       "What is 2+3?\nAnswer after ####.")
    }

    func testPlaceholdersMayRepeatAndSitAnywhere() throws {
        let t = try PromptTemplate(parsing: "{instruction}\n\nQuestion: {question}\nAgain: {question}", key: "k")
        XCTAssertEqual(t.render(question: "Q?", instruction: "I."), "I.\n\nQuestion: Q?\nAgain: Q?")
    }

    func testBracesThatAreNotAPlaceholderStayLiteral() throws {
        // LaTeX in an instruction must not be read as placeholders; doubled braces escape a bare word.
        let t = try PromptTemplate(parsing: "{question} Put it in \\boxed{}, or {{question}} {a b} {", key: "k")
        XCTAssertEqual(t.render(question: "Q", instruction: ""), "Q Put it in \\boxed{}, or {question} {a b} {")
    }

    func testUnknownPlaceholderNamesTheKeyTheValidOnesAndTheNearest() {
        XCTAssertThrowsError(try PromptTemplate(parsing: "{questoin}\n{instruction}", key: "data.prompt.benchmarks.gsm8k")) { e in
            let m = "\(e)"
            XCTAssertTrue(m.hasPrefix("data.prompt.benchmarks.gsm8k: unknown placeholder {questoin}"), m)
            XCTAssertTrue(m.contains("expected one of {question}, {instruction}"), m)
            XCTAssertTrue(m.contains("did you mean {question}?"), m)
            XCTAssertTrue(m.contains("{{questoin}}"), m)
        }
    }

    func testTemplateWithoutQuestionIsRefused() {
        XCTAssertThrowsError(try PromptTemplate(parsing: "Solve it.\n{instruction}", key: "data.prompt.template")) { e in
            let m = "\(e)"
            XCTAssertTrue(m.hasPrefix("data.prompt.template: expected the placeholder {question}"), m)
            XCTAssertTrue(m.contains("found \"Solve it.\\n{instruction}\" without it"), m)
        }
    }
}
