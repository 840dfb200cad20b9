import Tensors

/// Chains whose question also gives the running value after every second
/// operation (except the last), so that a wrong intermediate value makes the
/// trace contradict the question (issue #18: a task where a wrong prefix
/// should confuse a teacher, which must notice the conflict and repair):
///
///     Q:17,+7,*3=72,-4,+5
///     T:17+7=24;24*3=72;72-4=68;68+5=73
///     A:73
///
/// The derivation is `chain`'s (style 0), and each step after a checkpoint
/// starts from the checkpoint's value, which in a right trace equals the
/// previous result. After a wrong step (`17+7=25;25*3=75;`) the two sources
/// disagree: continuing from the trace (`75-4=71`) or from the question
/// (`72-4=68`, the repair, which is the reference step) are both plausible
/// to a model that only saw traces where they agree. The last operation has
/// no checkpoint, so the answer is never written in the question.
///
/// Difficulty is the number of operations (3...10 in the registry).
public struct CheckedChainTask: SyntheticFamily {
    /// Number of operations.
    public let stepCount: Int

    /// A family of checked chains of `steps` operations (at least 2, so there is a checkpoint).
    public init(steps: Int) {
        precondition(steps >= 2, "CheckedChainTask: steps must be at least 2")
        stepCount = steps
    }

    /// `checked`.
    public var name: String { "checked" }
    /// Number of operations.
    public var level: Int { stepCount }

    /// Whether the question gives the value after operation `i` (1-based): every second one, never the last.
    public func hasCheckpoint(after i: Int) -> Bool { i % 2 == 0 && i < stepCount }

    /// The problem for a start value and operations (values as `ChainTask` keeps them).
    public func problem(start: Int, ops: [ChainTask.Op]) -> SyntheticProblem {
        precondition(ops.count == stepCount, "CheckedChainTask: \(ops.count) operations for a \(stepCount)-step family")
        let chain = ChainTask(steps: stepCount).problem(start: start, ops: ops)
        var v = start
        var fields = [String(start)]
        for (i, op) in ops.enumerated() {
            v = op.apply(v)
            fields.append(op.text + (hasCheckpoint(after: i + 1) ? "=\(v)" : ""))
        }
        return SyntheticProblem(prompt: "Q:" + fields.joined(separator: ",") + "\n", thinking: chain.thinking, answer: chain.answer)
    }

    /// A seeded checked chain: `chain`'s sampler (same start and operations for the same draws), checkpoints added.
    public func sample(_ rng: inout Rng) -> SyntheticProblem {
        let (start, ops) = ChainTask(steps: stepCount).draw(&rng)
        return problem(start: start, ops: ops)
    }

    /// One step per operation, as `chain` writes them; throws when a checkpoint
    /// is missing, misplaced or disagrees with the derivation.
    public func steps(of problem: SyntheticProblem) throws -> [String] {
        let (start, ops) = try parse(problem.prompt)
        return SyntheticTrace.steps(ofThinking: self.problem(start: start, ops: ops).thinking)
    }

    /// The start value and operations of a checked prompt; throws when the
    /// prompt is not this family's, or a checkpoint is missing, misplaced or
    /// disagrees with the derivation.
    public func parse(_ prompt: String) throws -> (start: Int, ops: [ChainTask.Op]) {
        let bad = SyntheticTaskError.malformedPrompt(
            family: name, prompt: prompt,
            expected: "Q:<start>,<op><k>,… with \(stepCount) operations among +k, -k, *k, every second one but the last "
                + "followed by =<running value>")
        guard prompt.hasPrefix("Q:"), let body = prompt.dropFirst(2).split(separator: "\n").first else { throw bad }
        let fields = body.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
        guard fields.count == stepCount + 1 else { throw bad }
        var plain = [fields[0]], given: [Int?] = []
        for f in fields.dropFirst() {
            let parts = f.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw bad }
            plain.append(String(parts[0]))
            if parts.count == 2 { guard let g = Int(parts[1]) else { throw bad }; given.append(g) } else { given.append(nil) }
        }
        guard let (start, ops) = try? ChainTask.parse("Q:" + plain.joined(separator: ",") + "\n", steps: stepCount) else { throw bad }
        var v = start
        for (i, op) in ops.enumerated() {
            v = op.apply(v)
            guard hasCheckpoint(after: i + 1) ? given[i] == v : given[i] == nil else { throw bad }
        }
        return (start, ops)
    }
}
