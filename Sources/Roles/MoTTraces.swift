import Checkpoint
import Foundation
import Tasks
import Tensors
import Transformer

/// One teacher's reasoning trace for a training prompt, kept only when its
/// answer verifies (Merge-of-Thought's correctness filter).
public struct MoTTrace: Codable, Equatable, Sendable {
    /// Index of the prompt in the run's trace-prompt list (the same list for every teacher).
    public var index: Int
    /// The task prompt (before the codec's formatting).
    public var prompt: String
    /// The teacher's completion (thinking and `A:` line), without EOS.
    public var completion: String
}

/// Where a MoT teacher's traces come from: a model that writes them greedily,
/// or (tests, oracle experiments) the synthetic families' reference writer.
public enum MoTTeacherSource: Equatable, Sendable {
    /// A model path (checkpoint directory, `.gguf`, Hugging Face folder).
    case model(String)
    /// `reference@styleN`: the synthetic family's reference completion in trace style N.
    case reference(style: Int)

    /// Parses a `distillation.teacher_models` entry.
    public static func parse(_ spec: String) throws -> MoTTeacherSource {
        let s = spec.trimmingCharacters(in: .whitespaces)
        guard s == "reference" || s.hasPrefix("reference@") else { return .model(s) }
        let suffix = s == "reference" ? "style0" : String(s.dropFirst("reference@".count))
        let digits = suffix.hasPrefix("style") ? String(suffix.dropFirst(5)) : suffix
        guard let n = Int(digits), n >= 0 else {
            throw JobError("distillation.teacher_models entry '\(spec)': expected reference, reference@styleN "
                           + "(N a trace style of the data's synthetic family) or a model path")
        }
        return .reference(style: n)
    }
}

/// Helpers of the MoT pipeline that need no communication.
enum MoTData {
    /// The reference completion of `item` written in trace `style` by its synthetic family.
    static func referenceCompletion(_ item: PromptItem, style: Int) throws -> String {
        let family = try SyntheticFamilies.named(item.dataSource + (style == 0 ? "" : "@style\(style)"))
        let problem = SyntheticProblem(prompt: item.prompt, thinking: "", answer: item.groundTruth)
        let steps = try family.steps(of: problem)
        return "T:" + steps.joined(separator: ";") + "\n" + "A:" + item.groundTruth + "\n"
    }

    /// Deterministic permutation of 0..<n.
    static func permutation(_ n: Int, seed: UInt64) -> [Int] {
        var rng = Rng(seed: seed)
        var a = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { a.swapAt(i, rng.below(i + 1)) }
        return a
    }

    /// Optimizer steps of one epoch over `count` examples in batches of `batch`.
    static func stepsPerEpoch(_ count: Int, batch: Int) -> Int { count == 0 ? 0 : (count + batch - 1) / batch }
}
