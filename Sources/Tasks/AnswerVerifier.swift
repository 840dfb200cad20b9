import Foundation

/// How the final answer is read from a response, chosen from the data source.
public enum AnswerFormat: String, CaseIterable, Sendable {
    /// Word problems (gsm8k, gsm_hard, svamp, asdiv, mawps): the number after
    /// the last `####`, else the last `\boxed{}`, else the last number.
    case numeric
    /// MATH / MATH-500: the last `\boxed{…}`, Hendrycks-normalised.
    case boxed
    /// Synthetic families: the text after the last `A:` on its line, exactly.
    case synthetic
    /// Unknown sources: `\boxed{}` if present, else `####`, else `A:`, else the last number.
    case auto

    /// Source names (lower-cased, any `owner/` prefix dropped) per format.
    public static let sources: [AnswerFormat: [String]] = [
        .numeric: ["gsm8k", "gsm8k_train", "gsm_hard", "gsm-hard", "svamp", "asdiv", "mawps"],
        // verl's names: `lighteval/MATH`, `DigitalLearningGmbH/MATH-lighteval`, `HuggingFaceH4/MATH-500`, `math_dapo`.
        // Other sources (aime, amc, …) read `.auto`: `\boxed{}` first, which verl's prompts ask for.
        .boxed: ["math", "math500", "math-500", "math_oai", "hendrycks_math", "competition_math", "math-lighteval",
                 "math_lighteval", "math_dapo"],
        .synthetic: ["synthetic"] + SyntheticFamilies.all.map(\.name),
    ]

    /// The format for a data source (`gsm8k`, `openai/gsm8k`, `math500`,
    /// `chain:5`, …); nil when the source is unknown (validate configs with this).
    public static func known(source: String) -> AnswerFormat? {
        var s = source.lowercased()
        if let slash = s.lastIndex(of: "/") { s = String(s[s.index(after: slash)...]) }
        if let colon = s.firstIndex(of: ":") { s = String(s[..<colon]) }
        return sources.first { $0.value.contains(s) }?.key
    }

    /// The format for a data source, `.auto` when unknown.
    public static func forSource(_ source: String) -> AnswerFormat { known(source: source) ?? .auto }
}

/// The verdict on one response.
public struct VerifierResult: Equatable, Sendable {
    /// The extracted answer matches the ground truth.
    public let correct: Bool
    /// The answer read from the response, as written; nil when none was found
    /// (or the check timed out before one was).
    public let extracted: String?
    /// The check ran out of time (counted as incorrect).
    public let timedOut: Bool

    /// A verdict.
    public init(correct: Bool, extracted: String?, timedOut: Bool) {
        self.correct = correct
        self.extracted = extracted
        self.timedOut = timedOut
    }
}

/// Running totals of an `AnswerVerifier`.
public struct VerifierCounts: Equatable, Sendable {
    /// Responses checked.
    public var checks = 0
    /// Checks judged correct.
    public var correct = 0
    /// Checks that ran out of time.
    public var timeouts = 0
    /// Responses rejected unread for being longer than `AnswerVerifier.maxResponseLength`.
    public var rejected = 0
}

/// Rule-based answer checking with a per-answer time limit (CONVENTIONS.md,
/// "Data and rewards"). Thread-safe: one verifier may be shared by workers,
/// and its counts add up over all of them.
public final class AnswerVerifier: @unchecked Sendable {
    /// Responses longer than this many bytes are rejected (incorrect) unread.
    public static let maxResponseLength = 1 << 20
    /// Time limit used when `verify` is not given one, in seconds.
    public let defaultTimeout: Double
    private let lock = NSLock()
    private var totals = VerifierCounts()

    /// A verifier whose checks default to `timeout` seconds each.
    public init(timeout: Double = 1.0) {
        precondition(timeout >= 0, "AnswerVerifier: timeout must be non-negative")
        defaultTimeout = timeout
    }

    /// Totals so far.
    public var counts: VerifierCounts { lock.lock(); defer { lock.unlock() }; return totals }

    /// Sets the totals back to zero.
    public func resetCounts() { lock.lock(); totals = VerifierCounts(); lock.unlock() }

    /// Checks `response` against `groundTruth` with the extraction rule of
    /// `source` (`AnswerFormat.forSource`), within `timeout` seconds (the
    /// verifier's default when nil); updates the counts.
    public func verify(response: String, groundTruth: String, source: String, timeout: Double? = nil) -> VerifierResult {
        let format = AnswerFormat.forSource(source)
        let tooLong = response.utf8.count > Self.maxResponseLength
        let result = tooLong ? VerifierResult(correct: false, extracted: nil, timedOut: false)
            : Self.check(response: response, groundTruth: groundTruth, format: format, timeout: timeout ?? defaultTimeout)
        lock.lock()
        totals.checks += 1
        if result.correct { totals.correct += 1 }
        if result.timedOut { totals.timeouts += 1 }
        if tooLong { totals.rejected += 1 }
        lock.unlock()
        return result
    }

    /// The check itself, pure (no counting): extraction by `format`, then
    /// equivalence, stopping with `timedOut` once `timeout` seconds are spent.
    public static func check(response: String, groundTruth: String, format: AnswerFormat, timeout: Double) -> VerifierResult {
        var budget = Budget(seconds: timeout)
        var extracted: String?
        do {
            try budget.check()
            extracted = try extract(Array(response.utf8), format: format, truth: groundTruth, budget: &budget)
            guard let answer = extracted else { return VerifierResult(correct: false, extracted: nil, timedOut: false) }
            let ok = try equivalent(answer, groundTruth, format: format, budget: &budget)
            return VerifierResult(correct: ok, extracted: answer, timedOut: false)
        } catch {
            return VerifierResult(correct: false, extracted: extracted, timedOut: true)
        }
    }

    /// A key that is equal for answers the verifier would treat as the same,
    /// for majority voting: a number's exact value (`0.5`, `1/2` → `1/2`), else
    /// the normalised text.
    public static func answerKey(_ extracted: String, format: AnswerFormat) -> String {
        var budget = Budget(seconds: 0.1)
        if format == .synthetic { return extracted.trimmingCharacters(in: .whitespaces) }
        if let n = NumberParsing.plain(extracted) { return n.key }
        guard let norm = try? MathNormalization.normalize(extracted, budget: &budget) else { return extracted }
        if let n = try? NumberParsing.latex(norm, budget: &budget) { return n.key }
        return norm
    }

    // MARK: Extraction and equivalence

    static func extract(_ b: [UInt8], format: AnswerFormat, truth: String, budget: inout Budget) throws -> String? {
        switch format {
        case .synthetic:
            return extractFinalAnswer(String(decoding: b, as: UTF8.self))
        case .boxed:
            return try AnswerExtraction.lastBoxed(b, budget: &budget)
        case .numeric:
            if NumberParsing.plain(truth) == nil { return try textAnswer(b, budget: &budget) }
            if let end = try AnswerExtraction.hashesEnd(b, budget: &budget) {
                return try AnswerExtraction.firstNumber(b, from: end, budget: &budget)
            }
            if let boxed = try AnswerExtraction.lastBoxed(b, budget: &budget) { return boxed }
            return try AnswerExtraction.lastNumber(b, from: 0, budget: &budget)
        case .auto:
            if let boxed = try AnswerExtraction.lastBoxed(b, budget: &budget) { return boxed }
            if let end = try AnswerExtraction.hashesEnd(b, budget: &budget) {
                return try AnswerExtraction.firstNumber(b, from: end, budget: &budget)
            }
            if let a = extractFinalAnswer(String(decoding: b, as: UTF8.self)) { return a }
            return try AnswerExtraction.lastNumber(b, from: 0, budget: &budget)
        }
    }

    /// For word problems whose truth is not a number (ASDiv's `Yes`, `3:30 p.m.`):
    /// the rest of the `####` line, else the last `\boxed{}`, else the last non-empty line.
    static func textAnswer(_ b: [UInt8], budget: inout Budget) throws -> String? {
        let text: String
        if let end = try AnswerExtraction.hashesEnd(b, budget: &budget) {
            text = String(decoding: b[end...], as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        } else if let boxed = try AnswerExtraction.lastBoxed(b, budget: &budget) {
            text = boxed
        } else {
            text = String(decoding: b, as: UTF8.self).split(separator: "\n").last { !$0.allSatisfy(\.isWhitespace) }.map(String.init) ?? ""
        }
        let t = text.trimmingCharacters(in: .whitespaces)
        return t.isEmpty ? nil : t
    }

    static func equivalent(_ answer: String, _ truth: String, format: AnswerFormat, budget: inout Budget) throws -> Bool {
        switch format {
        case .synthetic:
            return answer.trimmingCharacters(in: .whitespaces) == truth.trimmingCharacters(in: .whitespaces)
        case .boxed:
            return try MathNormalization.isEquivalent(answer, truth, budget: &budget)
        case .numeric, .auto:
            guard let t = try NumberParsing.plain(truth) ?? latexNumber(truth, budget: &budget) else {
                if format == .auto, try MathNormalization.isEquivalent(answer, truth, budget: &budget) { return true }
                // The answer line may end with the truth (`It ends at 3:30 p.m.`).
                let a = textKey(answer), t = textKey(truth)
                return a == t || (!t.isEmpty && a.hasSuffix(" " + t))
            }
            guard let a = try NumberParsing.plain(answer) ?? latexNumber(answer, budget: &budget) else { return false }
            return NumberParsing.equivalent(answer: a, truth: t)
        }
    }

    static func latexNumber(_ s: String, budget: inout Budget) throws -> ParsedNumber? {
        guard s.utf8.count <= MathNormalization.maxAnswerLength else { return nil }
        return try NumberParsing.latex(try MathNormalization.normalize(s, budget: &budget), budget: &budget)
    }

    /// Lower-cased text without `$`, `\text{}`, trailing periods and extra spaces.
    static func textKey(_ s: String) -> String {
        var t = s.lowercased().replacingOccurrences(of: "\\text{", with: "").replacingOccurrences(of: "$", with: "")
        t = t.filter { $0 != "}" && $0 != "{" }
        let words = t.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return words.hasSuffix(".") && !words.hasSuffix("..") ? String(words.dropLast()) : words
    }
}
