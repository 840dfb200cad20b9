import Foundation
import Tasks
import XCTest

/// One case of Tests/Fixtures/verifier_cases.json (made by make_verifier_cases.py).
private struct VerifierCase: Decodable {
    let source: String
    let response: String
    let ground_truth: String
    let oracle: Bool?
    let expected: Bool
    let override: String?
}

private struct VerifierCaseFile: Decodable {
    let format: String
    let cases: [VerifierCase]
}

final class VerifierTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/verifier_cases.json")

    func testOracleCasesFromMathVerify() throws {
        let data = try Data(contentsOf: Self.fixture)
        let file = try JSONDecoder().decode(VerifierCaseFile.self, from: data)
        XCTAssertEqual(file.format, "ispo-cluster verifier cases v1")
        XCTAssertGreaterThan(file.cases.count, 60)
        let verifier = AnswerVerifier(timeout: 2)
        for c in file.cases {
            let r = verifier.verify(response: c.response, groundTruth: c.ground_truth, source: c.source)
            XCTAssertFalse(r.timedOut, "\(c.source) \(c.response.debugDescription)")
            XCTAssertEqual(r.correct, c.expected,
                           "\(c.source): response \(c.response.debugDescription) vs \(c.ground_truth.debugDescription) "
                           + "(extracted \(r.extracted ?? "nil"), oracle \(c.oracle.map(String.init) ?? "none")"
                           + (c.override.map { ", override: \($0)" } ?? "") + ")")
            if c.oracle != nil && c.oracle != c.expected { XCTAssertNotNil(c.override, "a disagreement needs a reason") }
        }
        XCTAssertEqual(verifier.counts.checks, file.cases.count)
        XCTAssertEqual(verifier.counts.timeouts, 0)
    }

    func testExtraction() {
        XCTAssertEqual(AnswerExtraction.lastBoxed(in: "a \\boxed{1} b \\boxed{\\frac{1}{\\sqrt{2}}} c"), "\\frac{1}{\\sqrt{2}}")
        XCTAssertEqual(AnswerExtraction.lastBoxed(in: "\\boxed{{a}{b{c}}}"), "{a}{b{c}}")
        XCTAssertEqual(AnswerExtraction.lastBoxed(in: "so $\\boxed 5$."), "5")
        XCTAssertEqual(AnswerExtraction.lastBoxed(in: "\\fbox{7}"), "7")
        XCTAssertNil(AnswerExtraction.lastBoxed(in: "\\boxed{\\frac{1}{2}"))
        XCTAssertNil(AnswerExtraction.lastBoxed(in: "no box"))
        XCTAssertEqual(AnswerExtraction.afterHashes(in: "x 3\n#### 1,234 apples"), "1,234")
        XCTAssertEqual(AnswerExtraction.afterHashes(in: "#### 1\n#### -7.5"), "-7.5")
        XCTAssertNil(AnswerExtraction.afterHashes(in: "#### none"))
        XCTAssertEqual(AnswerExtraction.lastNumber(in: "from 10 - 4 = 6."), "6")
        XCTAssertEqual(AnswerExtraction.lastNumber(in: "pay $1,234,567.89 now"), "1,234,567.89")
        XCTAssertEqual(AnswerExtraction.lastNumber(in: "it is -3 or .5"), ".5")
        XCTAssertEqual(AnswerExtraction.lastNumber(in: "the list 3, 5, 7"), "7")
        XCTAssertEqual(AnswerExtraction.lastNumber(in: "about 3/4 of it"), "3/4")
        XCTAssertEqual(AnswerExtraction.lastNumber(in: "x-4"), "4")
        XCTAssertNil(AnswerExtraction.lastNumber(in: "none at all"))
    }

    func testNormalisation() {
        XCTAssertEqual(MathNormalization.normalize("\\dfrac12"), "\\frac{1}{2}")
        XCTAssertEqual(MathNormalization.normalize("\\left( 3, \\pi \\right)"), "(3,\\pi)")
        XCTAssertEqual(MathNormalization.normalize("\\sqrt2"), "\\sqrt{2}")
        XCTAssertEqual(MathNormalization.normalize("\\sqrt 2"), "\\sqrt{2}")
        XCTAssertEqual(MathNormalization.normalize("0.5"), "\\frac{1}{2}")
        XCTAssertEqual(MathNormalization.normalize("3/4"), "\\frac{3}{4}")
        XCTAssertEqual(MathNormalization.normalize("k = 7"), "7")
        XCTAssertEqual(MathNormalization.normalize("10\\%"), "10")
        XCTAssertEqual(MathNormalization.normalize("4\\!\\cdot 2"), "4\\cdot2")
        XCTAssertEqual(MathNormalization.normalize("\\text{(C)}"), "(C)")
        XCTAssertEqual(MathNormalization.normalize("5\\text{ cm}^2"), "5")
        XCTAssertEqual(MathNormalization.normalize("1,234,567"), "1234567")
        XCTAssertEqual(MathNormalization.normalize("1,-2"), "1,-2")
        XCTAssertTrue(MathNormalization.isEquivalent("\\frac{6}{4}", "1.5"))
        XCTAssertTrue(MathNormalization.isEquivalent("-\\frac{1}{2}", "-0.5"))
        XCTAssertTrue(MathNormalization.isEquivalent("\\frac{-1}{2}", "-\\frac12"))
        XCTAssertTrue(MathNormalization.isEquivalent("(1, 0.5)", "(1,\\frac{1}{2})"))
        XCTAssertFalse(MathNormalization.isEquivalent("(0.5, 1)", "(1,\\frac{1}{2})"))
        XCTAssertFalse(MathNormalization.isEquivalent("2", ""))
    }

    func testFormatsBySource() {
        XCTAssertEqual(AnswerFormat.known(source: "openai/gsm8k"), .numeric)
        XCTAssertEqual(AnswerFormat.known(source: "MATH500"), .boxed)
        XCTAssertEqual(AnswerFormat.known(source: "chain:8"), .synthetic)
        XCTAssertNil(AnswerFormat.known(source: "aime"))
        let v = AnswerVerifier()
        XCTAssertTrue(v.verify(response: "\\boxed{7}", groundTruth: "7", source: "aime").correct, "unknown sources use .auto")
        XCTAssertTrue(v.verify(response: "A:68\n", groundTruth: "68", source: "chain:3").correct)
    }

    func testNonNumericGroundTruths() {
        let v = AnswerVerifier()
        XCTAssertTrue(v.verify(response: "Compare them.\n#### Yes", groundTruth: "Yes", source: "asdiv").correct)
        XCTAssertTrue(v.verify(response: "It ends at 3:30 p.m.", groundTruth: "3:30 p.m.", source: "asdiv").correct)
        XCTAssertFalse(v.verify(response: "#### No", groundTruth: "Yes", source: "asdiv").correct)
    }

    func testLargeNumbersCompareExactly() {
        let big = String(repeating: "9", count: 300)
        let v = AnswerVerifier()
        XCTAssertTrue(v.verify(response: "#### " + big, groundTruth: big, source: "gsm8k").correct)
        XCTAssertFalse(v.verify(response: "#### " + big + "8", groundTruth: big + "9", source: "gsm8k").correct)
        XCTAssertTrue(v.verify(response: "\\boxed{\(big)}", groundTruth: big, source: "math500").correct)
    }

    func testZeroBudgetTimesOutAndIsCounted() {
        let v = AnswerVerifier()
        let r = v.verify(response: "#### 5", groundTruth: "5", source: "gsm8k", timeout: 0)
        XCTAssertEqual(r, VerifierResult(correct: false, extracted: nil, timedOut: true))
        XCTAssertEqual(v.counts.timeouts, 1)
        XCTAssertEqual(v.counts.checks, 1)
    }

    /// Deeply nested braces, a huge boxed number and an oversized response:
    /// each comes back fast, incorrect, through the timeout or the rejection path.
    func testPathologicalInputsAreBounded() {
        let v = AnswerVerifier(timeout: 0.05)
        let depth = 100_000
        let nested = "\\boxed{" + String(repeating: "\\frac{", count: depth) + "1" + String(repeating: "}", count: depth) + "}"
        let huge = "\\boxed{" + String(repeating: "7", count: 500_000) + "}"
        for (name, response) in [("nested", nested), ("huge", huge), ("oversized", String(repeating: "1 ", count: 600_000))] {
            let start = Date()
            let r = v.verify(response: response, groundTruth: "1", source: "math500")
            XCTAssertFalse(r.correct, name)
            XCTAssertLessThan(Date().timeIntervalSince(start), 1.0, "\(name) took too long")
        }
        XCTAssertEqual(v.counts.rejected, 1)
        // The braces come after the marker, so the brace matcher must walk all 2 MB
        // (about 2 ms); with them before it the scan stopped after a few bytes and the
        // check only timed out when 1 µs had already passed before its first clock read.
        let spent = AnswerVerifier.check(response: "\\boxed{" + String(repeating: "{", count: 2_000_000),
                                         groundTruth: "1", format: .boxed, timeout: 0.000_001)
        XCTAssertTrue(spent.timedOut, "a 2 MB scan outlasts a 1 µs budget and is interrupted midway")
        XCTAssertFalse(spent.correct)
    }

    func testAnswerKeysGroupEquivalentAnswers() {
        XCTAssertEqual(AnswerVerifier.answerKey("0.5", format: .boxed), AnswerVerifier.answerKey("\\frac{1}{2}", format: .boxed))
        XCTAssertEqual(AnswerVerifier.answerKey("1,234", format: .numeric), AnswerVerifier.answerKey("1234.0", format: .numeric))
        XCTAssertNotEqual(AnswerVerifier.answerKey("3", format: .numeric), AnswerVerifier.answerKey("4", format: .numeric))
        XCTAssertEqual(AnswerVerifier.answerKey(" 7,9 ", format: .synthetic), "7,9")
    }

    func testConcurrentCountsAddUp() {
        let v = AnswerVerifier()
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            _ = v.verify(response: "#### \(i)", groundTruth: "\(i % 2 == 0 ? i : -1)", source: "gsm8k")
        }
        XCTAssertEqual(v.counts.checks, 200)
        XCTAssertEqual(v.counts.correct, 100)
    }
}
