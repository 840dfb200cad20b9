import Tensors

/// Multi-step arithmetic chains evaluated left to right, every running value
/// written out and kept in 0...99 (operations are drawn among those that stay
/// in range, so no modulus is ever needed):
///
///     Q:17,+7,*3,-4
///     T:17+7=24;24*3=72;72-4=68
///     A:68
///
/// Difficulty is the number of operations; one step per operation.
///
/// `style` picks how the steps are written (the answer line is the same):
/// 0 (default) `24*3=72`; 1 `*3=72` (the operation and the new value);
/// 2 `72` (running values only).
public struct ChainTask: SyntheticFamily {
    /// One operation of a chain.
    public enum Op: Equatable, Sendable {
        /// Add a constant 1...9.
        case add(Int)
        /// Subtract a constant 1...9.
        case sub(Int)
        /// Multiply by a constant 2...9.
        case mul(Int)

        /// The value after applying this operation to `v`.
        public func apply(_ v: Int) -> Int {
            switch self {
            case let .add(k): return v + k
            case let .sub(k): return v - k
            case let .mul(k): return v * k
            }
        }

        /// `+7`, `-4`, `*3`.
        public var text: String {
            switch self {
            case let .add(k): return "+\(k)"
            case let .sub(k): return "-\(k)"
            case let .mul(k): return "*\(k)"
            }
        }
    }

    /// Largest running value a chain may reach.
    public static let maxValue = 99

    /// Number of operations.
    public let stepCount: Int

    /// Trace style, 0..<`ChainTask.styleCount` (0 = the original).
    public let style: Int
    /// Number of trace styles.
    public static let styleCount = 3

    /// A family of chains of `steps` operations (1...10 in the registry), written in `style`.
    public init(steps: Int, style: Int = 0) {
        precondition(steps >= 1, "ChainTask: steps must be at least 1")
        precondition(style >= 0 && style < Self.styleCount, "ChainTask: style must be 0..<\(Self.styleCount)")
        stepCount = steps
        self.style = style
    }

    /// `chain`.
    public var name: String { "chain" }
    /// Number of operations.
    public var level: Int { stepCount }

    /// The problem for a start value and operations.
    public func problem(start: Int, ops: [Op]) -> SyntheticProblem {
        var v = start
        var steps: [String] = []
        for op in ops {
            let next = op.apply(v)
            switch style {
            case 1: steps.append("\(op.text)=\(next)")
            case 2: steps.append("\(next)")
            default: steps.append("\(v)\(op.text)=\(next)")
            }
            v = next
        }
        let prompt = "Q:" + ([String(start)] + ops.map(\.text)).joined(separator: ",") + "\n"
        return SyntheticProblem(prompt: prompt, thinking: "T:" + steps.joined(separator: ";") + "\n", answer: String(v))
    }

    /// A seeded chain: start in 1...30, then `steps` operations each drawn
    /// uniformly among the kinds (+, -, *) that can keep the value in 0...99,
    /// and its constant uniformly among those that do.
    public func sample(_ rng: inout Rng) -> SyntheticProblem {
        let (start, ops) = draw(&rng)
        return problem(start: start, ops: ops)
    }

    /// The start value and operations `sample` writes (the `checked` family draws the same).
    func draw(_ rng: inout Rng) -> (start: Int, ops: [Op]) {
        let start = 1 + rng.below(30)
        var v = start
        var ops: [Op] = []
        for _ in 0..<stepCount {
            var kinds: [[Op]] = []
            let adds = (1...9).filter { v + $0 <= Self.maxValue }.map(Op.add)
            let subs = (1...9).filter { v - $0 >= 0 }.map(Op.sub)
            let muls = v == 0 ? [] : (2...9).filter { v * $0 <= Self.maxValue }.map(Op.mul)
            for k in [adds, subs, muls] where !k.isEmpty { kinds.append(k) }
            let kind = kinds[rng.below(kinds.count)]
            let op = kind[rng.below(kind.count)]
            ops.append(op)
            v = op.apply(v)
        }
        return (start, ops)
    }

    /// One step per operation: `24*3=72`.
    public func steps(of problem: SyntheticProblem) throws -> [String] {
        let (start, ops) = try Self.parse(problem.prompt, steps: stepCount)
        return SyntheticTrace.steps(ofThinking: self.problem(start: start, ops: ops).thinking)
    }

    /// The start value and operations of a `chain` prompt of `stepCount` operations.
    static func parse(_ prompt: String, steps stepCount: Int) throws -> (Int, [Op]) {
        let bad = SyntheticTaskError.malformedPrompt(
            family: "chain", prompt: prompt, expected: "Q:<start>,<op><k>,… with \(stepCount) operations among +k, -k, *k")
        guard prompt.hasPrefix("Q:"), let body = prompt.dropFirst(2).split(separator: "\n").first else { throw bad }
        let fields = body.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
        guard fields.count == stepCount + 1, let start = Int(fields[0]) else { throw bad }
        var ops: [Op] = []
        for f in fields.dropFirst() {
            guard let sign = f.first, let k = Int(f.dropFirst()), k >= 0 else { throw bad }
            switch sign {
            case "+": ops.append(.add(k))
            case "-": ops.append(.sub(k))
            case "*": ops.append(.mul(k))
            default: throw bad
            }
        }
        return (start, ops)
    }
}

/// Sorting a list of small numbers ascending by selection: each step writes
/// the minimum picked and the list that remains (original order kept):
///
///     Q:<53,7,19,4
///     T:4:53,7,19;7:53,19;19:53
///     A:4,7,19,53
///
/// Difficulty is the list length; a list of n values takes n − 1 steps.
public struct SortTask: SyntheticFamily {
    /// Number of values to sort.
    public let length: Int

    /// A family of lists of `length` values (2...9 in the registry).
    public init(length: Int) {
        precondition(length >= 2, "SortTask: length must be at least 2")
        self.length = length
    }

    /// `sort`.
    public var name: String { "sort" }
    /// List length.
    public var level: Int { length }

    /// The problem for `values` (sorted ascending in the answer).
    public func problem(_ values: [Int]) -> SyntheticProblem {
        var rest = values
        var steps: [String] = []
        while rest.count > 1, let m = rest.min(), let at = rest.firstIndex(of: m) {
            rest.remove(at: at)
            steps.append("\(m):" + rest.map(String.init).joined(separator: ","))
        }
        let list = { (xs: [Int]) in xs.map(String.init).joined(separator: ",") }
        return SyntheticProblem(prompt: "Q:<" + list(values) + "\n", thinking: "T:" + steps.joined(separator: ";") + "\n",
                                answer: list(values.sorted()))
    }

    /// `length` values uniform in 0...99 (repeats allowed).
    public func sample(_ rng: inout Rng) -> SyntheticProblem {
        problem((0..<length).map { _ in rng.below(100) })
    }

    /// One step per pick: `7:53,19`.
    public func steps(of problem: SyntheticProblem) throws -> [String] {
        let bad = SyntheticTaskError.malformedPrompt(
            family: name, prompt: problem.prompt, expected: "Q:<v1,v2,… with \(length) non-negative integers")
        guard problem.prompt.hasPrefix("Q:<"), let body = problem.prompt.dropFirst(3).split(separator: "\n").first else { throw bad }
        let values = body.split(separator: ",", omittingEmptySubsequences: false).compactMap { Int($0.trimmingSpaces()) }
        guard values.count == length, values.allSatisfy({ $0 >= 0 }) else { throw bad }
        return SyntheticTrace.steps(ofThinking: self.problem(values).thinking)
    }
}
