import Tokenization
import Foundation
import Tasks
import XCTest

final class LoaderTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tasks-loader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ lines: [String], trailingNewline: Bool = true) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data((lines.joined(separator: "\n") + (trailingNewline ? "\n" : "")).utf8).write(to: url)
        return url.path
    }

    /// The thrown `DataLoadError`, or a failure.
    func loadError(_ body: () throws -> Any) -> DataLoadError? {
        do { _ = try body(); XCTFail("expected an error"); return nil } catch let e as DataLoadError { return e } catch {
            XCTFail("unexpected error \(error)"); return nil
        }
    }

    func testEachBenchmarkShape() throws {
        let gsm = try write("gsm.jsonl", ["{\"question\":\"Q1?\",\"answer\":\"r1\\n#### 1,234\",\"idx\":0}",
                                          "", "{\"question\":\"Q2?\",\"answer\":\"#### -5\"}"])
        let g = try Benchmark.gsm8k.load(path: gsm)
        XCTAssertEqual(g.map(\.groundTruth), ["1234", "-5"])
        XCTAssertEqual(g[0].prompt, "Q1?")
        XCTAssertEqual(g[0].dataSource, "gsm8k")
        XCTAssertEqual(g[0].extraInfo["answer"], "r1\n#### 1,234")
        XCTAssertEqual(try Benchmark.gsm8k_train.load(path: gsm, maxSamples: 1).map(\.dataSource), ["gsm8k"])

        let math = try write("math.jsonl", [#"{"problem":"P","solution":"so $\\boxed{\\frac{1}{2}}$.","level":"Level 2","type":"Algebra"}"#])
        XCTAssertEqual(try Benchmark.math.load(path: math)[0].groundTruth, "\\frac{1}{2}")
        let m500 = try write("m500.jsonl", [#"{"problem":"P","answer":"\\pi","subject":"Geometry","level":3,"unique_id":"u"}"#])
        let e = try Benchmark.math500.load(path: m500)[0]
        XCTAssertEqual(e.groundTruth, "\\pi")
        XCTAssertEqual(e.extraInfo["level"], "3")
        let svamp = try write("svamp.jsonl", [#"{"Body":"There are 2 groups","Question":"How many?","Answer":145.0}"#])
        XCTAssertEqual(try Benchmark.svamp.load(path: svamp)[0], TaskExample(
            dataSource: "svamp", prompt: "There are 2 groups How many?", groundTruth: "145",
            extraInfo: ["index": "0"]))
        let asdiv = try write("asdiv.jsonl", [#"{"body":"B.","question":"Q?","answer":"9 (apples)"}"#,
                                              #"{"body":"B.","question":"Q?","answer":"Mrs. Hilt"}"#])
        XCTAssertEqual(try Benchmark.asdiv.load(path: asdiv).map(\.groundTruth), ["9", "Mrs. Hilt"])
        let hard = try write("hard.jsonl", [#"{"input":"I","target":3244047.0999999996}"#, #"{"input":"J","target":-9867630.0}"#],
                             trailingNewline: false)
        XCTAssertEqual(try Benchmark.gsm_hard.load(path: hard).map(\.groundTruth), ["3244047.0999999996", "-9867630"])
        XCTAssertEqual(try Benchmark.mawps.load(path: hard, maxSamples: 0), [])
    }

    func testBadLinesNameFileLineAndField() throws {
        let notJSON = try write("a.jsonl", ["{\"question\":\"q\",\"answer\":\"#### 1\"}", "{\"question\": \"q\", \"answer\": \"#### 1\""])
        guard case let .notJSON(path, line, _)? = loadError({ try Benchmark.gsm8k.load(path: notJSON) }) else { return XCTFail() }
        XCTAssertEqual(path, notJSON)
        XCTAssertEqual(line, 2)

        let missing = try write("b.jsonl", ["", #"{"question":"q","solution":"x"}"#])
        let err = loadError { try Benchmark.gsm8k.load(path: missing) }
        XCTAssertEqual(err, .missingField(path: missing, line: 2, field: "answer", found: ["question", "solution"]))
        XCTAssertTrue("\(err!)".contains(":2: missing field 'answer'; fields found: question, solution"), "\(err!)")

        let wrongType = try write("c.jsonl", ["{\"question\":7,\"answer\":\"#### 1\"}"])
        XCTAssertEqual(loadError { try Benchmark.gsm8k.load(path: wrongType) },
                       .wrongType(path: wrongType, line: 1, field: "question", expected: "a string", found: "a number"))

        let array = try write("d.jsonl", ["[1,2]"])
        XCTAssertEqual(loadError { try Benchmark.mawps.load(path: array) }, .notAnObject(path: array, line: 1, found: "an array"))

        let noMarker = try write("e.jsonl", [#"{"question":"q","answer":"just 5"}"#])
        guard case .badValue(_, 1, "answer", _)? = loadError({ try Benchmark.gsm8k.load(path: noMarker) }) else { return XCTFail() }

        let noBox = try write("f.jsonl", [#"{"problem":"p","solution":"no box"}"#])
        guard case .badValue(_, 1, "solution", _)? = loadError({ try Benchmark.math.load(path: noBox) }) else { return XCTFail() }

        let absent = dir.appendingPathComponent("absent.jsonl").path
        let openErr = loadError { try Benchmark.svamp.load(path: absent) }
        XCTAssertEqual(openErr, .cannotOpen(path: absent, reason: "no such file"))
        XCTAssertTrue("\(openErr!)".contains("Launch/fetch-data.sh"))

        XCTAssertEqual(loadError { try BenchmarkSuite.load("aime", root: dir.path) },
                       .unknownBenchmark(name: "aime", valid: Benchmark.allCases.map(\.rawValue)))
    }

    func testStreamingStopsAtMaxSamplesBeforeABadLine() throws {
        var lines = (0..<5000).map { #"{"input":"q\#($0)","target":\#($0)}"# }
        lines.append("not json at all")
        let path = try write("big.jsonl", lines)
        let first = try Benchmark.mawps.load(path: path, maxSamples: 4000)
        XCTAssertEqual(first.count, 4000)
        XCTAssertEqual(first.last?.groundTruth, "3999")
        guard case .notJSON(_, 5001, _)? = loadError({ try Benchmark.mawps.load(path: path) }) else { return XCTFail() }
    }

    func testVerlRoundTripAndChatPrompts() throws {
        let examples = [
            TaskExample(dataSource: "gsm8k", prompt: "What is 2+3?", groundTruth: "5", extraInfo: ["index": "0", "split": "test"]),
            TaskExample(dataSource: "math500", prompt: "Find $x$ \"quoted\" / slash", groundTruth: "\\frac{1}{2}", extraInfo: [:],
                        messages: [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Find $x$ \"quoted\" / slash")]),
        ]
        let path = dir.appendingPathComponent("verl.jsonl").path
        try VerlJSONL.write(examples, to: path)
        let back = try VerlJSONL.read(path: path)
        XCTAssertEqual(back[0], TaskExample(dataSource: "gsm8k", prompt: "What is 2+3?", groundTruth: "5",
                                            extraInfo: ["index": "0", "split": "test"],
                                            messages: [ChatMessage(role: "user", content: "What is 2+3?")]))
        XCTAssertEqual(back[1], examples[1])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix(#"{"ability":"math","data_source":"gsm8k","extra_info":{"index":"0","split":"test"},"prompt":[{"content":"What is 2+3?","role":"user"}],"reward_model":{"ground_truth":"5","style":"rule"}}"#), text)

        let verl = try write("v.jsonl", [
            #"{"data_source":"gsm8k","prompt":"plain question","reward_model":{"ground_truth":18},"extra_info":{"index":3,"ok":true}}"#,
            #"{"data_source":"gsm8k","prompt":[{"role":"user","content":"q"}],"reward_model":{"style":"rule","ground_truth":"7"}}"#,
        ])
        let rows = try VerlJSONL.read(path: verl)
        XCTAssertEqual(rows[0].prompt, "plain question")
        XCTAssertEqual(rows[0].groundTruth, "18")
        XCTAssertEqual(rows[0].extraInfo, ["index": "3", "ok": "true"])
        XCTAssertNil(rows[0].messages)
        XCTAssertEqual(rows[1].prompt, "q")
    }

    func testVerlBadRows() throws {
        let cases: [(String, (String) -> DataLoadError)] = [
            (#"{"prompt":"q","reward_model":{"ground_truth":"1"}}"#,
             { .missingField(path: $0, line: 1, field: "data_source", found: ["prompt", "reward_model"]) }),
            (#"{"data_source":"x","prompt":5,"reward_model":{"ground_truth":"1"}}"#,
             { .wrongType(path: $0, line: 1, field: "prompt", expected: "a string or a list of {role, content}", found: "a number") }),
            (#"{"data_source":"x","prompt":[{"role":"user"}],"reward_model":{"ground_truth":"1"}}"#,
             { .wrongType(path: $0, line: 1, field: "prompt[0]", expected: "an object {\"role\": string, \"content\": string}",
                          found: "an object with fields [\"role\"]") }),
            (#"{"data_source":"x","prompt":"q","reward_model":{"style":"rule"}}"#,
             { .missingField(path: $0, line: 1, field: "reward_model.ground_truth", found: ["style"]) }),
            (#"{"data_source":"x","prompt":"q","reward_model":"1"}"#,
             { .wrongType(path: $0, line: 1, field: "reward_model", expected: "an object with 'ground_truth'", found: "a string") }),
        ]
        for (k, (line, expected)) in cases.enumerated() {
            let path = try write("bad\(k).jsonl", [line])
            XCTAssertEqual(loadError { try VerlJSONL.read(path: path) }, expected(path), line)
        }
    }
}
