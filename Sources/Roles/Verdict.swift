/// Outcome of checking one response.
public struct Verdict: Sendable {
    /// The extracted answer matched.
    public var correct: Bool
    /// The check ran out of time (counted, scored as wrong).
    public var timedOut: Bool

    /// Creates a verdict.
    public init(correct: Bool, timedOut: Bool = false) { self.correct = correct; self.timedOut = timedOut }
}

/// Checks a response against an item.
public typealias VerifyFunction = (_ response: String, _ item: PromptItem) -> Verdict
