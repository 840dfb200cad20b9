import Foundation
@testable import Roles
import Tasks
import XCTest

/// verl JSONL files in `data.train_files` / `val_files` next to benchmark names
/// and synthetic specs: prompts, ground truths, sources, system messages, and
/// the errors a wrong spec gets.
final class VerlDataTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("verl-data-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Rows as verl's preprocessing writes them: a chat with a system message
    /// and two user turns, a string prompt with a numeric ground truth.
    func writeVerlFile() throws -> String {
        let rows = [
            #"{"data_source": "openai/gsm8k", "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Janet has 3 apples and buys 4. How many?"}], "ability": "math", "reward_model": {"style": "rule", "ground_truth": "7"}, "extra_info": {"split": "train", "index": 0, "answer": "3 + 4 = 7\n#### 7"}}"#,
            #"{"data_source": "lighteval/MATH", "prompt": "Simplify $\\frac{2}{4}$.", "reward_model": {"ground_truth": "\\frac{1}{2}"}, "extra_info": null}"#,
            #"{"data_source": "my_lab/puzzles", "prompt": [{"role": "user", "content": "First part."}, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "Second part?"}], "reward_model": {"ground_truth": 12}}"#,
        ]
        let path = dir + "/train.jsonl"
        try (rows.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testVerlRowsLoadAsWrittenWithSourcesTruthsAndSystemMessages() throws {
        let path = try writeVerlFile()
        let data = try PromptData(specs: [path], root: "/nonexistent", maxSamples: nil, runSeed: 1)
        let items = data.validation(countPerSource: nil)
        XCTAssertEqual(items.map(\.prompt), ["Janet has 3 apples and buys 4. How many?", "Simplify $\\frac{2}{4}$.",
                                             "First part.\n\nSecond part?"], "no instruction is appended to verl prompts")
        XCTAssertEqual(items.map(\.groundTruth), ["7", "\\frac{1}{2}", "12"])
        XCTAssertEqual(items.map(\.dataSource), ["openai/gsm8k", "lighteval/MATH", "my_lab/puzzles"])
        XCTAssertEqual(items.map(\.system), ["Be brief.", nil, nil])
        // The reference completion (SFT) comes from extra_info.answer.
        let completions = Set((0..<6).map { data.item(step: 0, index: $0, purpose: 0).completion })
        XCTAssertTrue(completions.contains("3 + 4 = 7\n#### 7"), "\(completions)")
        // The verifier reads each source's own format.
        XCTAssertEqual(AnswerFormat.forSource("openai/gsm8k"), .numeric)
        XCTAssertEqual(AnswerFormat.forSource("lighteval/MATH"), .boxed)
        XCTAssertEqual(AnswerFormat.forSource("DigitalLearningGmbH/MATH-lighteval"), .boxed)
        XCTAssertEqual(AnswerFormat.forSource("my_lab/puzzles"), .auto)
        let v = AnswerVerifier()
        XCTAssertTrue(v.verify(response: "3 + 4 = 7\n#### 7", groundTruth: items[0].groundTruth, source: items[0].dataSource).correct)
        XCTAssertTrue(v.verify(response: "It is \\boxed{\\frac12}.", groundTruth: items[1].groundTruth, source: items[1].dataSource).correct)
        XCTAssertFalse(v.verify(response: "#### 7", groundTruth: items[1].groundTruth, source: items[1].dataSource).correct)
    }

    func testRelativePathsAreUnderRootAndMixWithSyntheticSources() throws {
        _ = try writeVerlFile()
        let data = try PromptData(specs: ["train.jsonl", "synthetic:addition:1"], root: dir, maxSamples: 2, runSeed: 3)
        let all = data.validation(countPerSource: nil)
        XCTAssertEqual(all.count, 2 + PromptData.syntheticValidationCount, "max_samples caps the file; nil = all of it")
        XCTAssertEqual(all.prefix(2).map(\.groundTruth), ["7", "\\frac{1}{2}"])
        XCTAssertEqual(data.validation(countPerSource: 1).count, 2, "one per source")
        let batch = data.batch(step: 0, count: 4)
        XCTAssertEqual(batch.map(\.dataSource).filter { $0.hasPrefix("addition") }.count, 2, "sources alternate")
    }

    func testAMistypedPathIsNoSuchFileNamingTheKey() throws {
        let missing = dir + "/tran.jsonl"
        XCTAssertThrowsError(try PromptData(specs: [missing], root: dir, maxSamples: nil, runSeed: 1, key: "data.val_files")) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("data.val_files"), text)
            XCTAssertTrue(text.contains(missing), text)
            XCTAssertTrue(text.contains("no such file"), text)
            XCTAssertFalse(text.contains("unknown benchmark"), text)
        }
        XCTAssertThrowsError(try PromptData(specs: ["data/x.parquet"], root: dir, maxSamples: nil, runSeed: 1)) { e in
            XCTAssertTrue("\(e)".contains("Launch/parquet-to-jsonl.py"), "\(e)")
        }
        XCTAssertThrowsError(try PromptData(specs: ["gsm8", "x"], root: dir, maxSamples: nil, runSeed: 1)) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("data.train_files: unknown benchmark 'gsm8'"), text)
            XCTAssertTrue(text.contains("gsm8k_train") && text.contains(".jsonl"), text)
        }
    }

    func testABadRowNamesFileLineAndField() throws {
        let path = dir + "/bad.jsonl"
        try #"{"data_source": "x", "prompt": "q", "reward_model": {"style": "rule"}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PromptData(specs: [path], root: dir, maxSamples: nil, runSeed: 1)) { e in
            XCTAssertTrue("\(e)".contains("\(path):1: missing field 'reward_model.ground_truth'"), "\(e)")
        }
    }

    /// `Tests/Fixtures/verl_from_parquet.jsonl` was made from a real parquet file
    /// by `Launch/parquet-to-jsonl.py` (`Tests/Fixtures/make_verl_fixture.py`).
    func testTheParquetConversionLoads() throws {
        let path = LoopbackJobTests.root + "/Tests/Fixtures/verl_from_parquet.jsonl"
        let data = try PromptData(specs: [path], root: LoopbackJobTests.root, maxSamples: nil, runSeed: 1)
        let items = data.validation(countPerSource: nil)
        XCTAssertEqual(items.count, 3)
        XCTAssertEqual(items.map(\.dataSource), ["openai/gsm8k", "lighteval/MATH", "my_lab/arith"])
        XCTAssertEqual(items.map(\.groundTruth), ["72", "\\frac{5}{6}", "7"])
        XCTAssertTrue(items[0].prompt.hasPrefix("Natalia sold 48 clips") && items[0].prompt.hasSuffix("after \"####\"."))
        XCTAssertEqual(items[1].system, "You are a careful mathematician.")
        XCTAssertTrue(items[1].prompt.hasPrefix("What is $\\frac{1}{2} + \\frac{1}{3}$?"), items[1].prompt)
        XCTAssertEqual(items[2].prompt, "2 + 2 = 4.\n\nAnd 3 + 4?")
        XCTAssertEqual(data.item(step: 0, index: 0, purpose: 0).completion.map { Set(["48 + 24 = 72\n#### 72", "\\boxed{\\frac{5}{6}}", "7"]).contains($0) }, true)
    }
}
