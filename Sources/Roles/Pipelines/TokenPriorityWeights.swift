import Configs
import Foundation
import Objectives
import Tensors
import Transformer

/// The per-token priorities Φ of a `priority` run (METHODS §5) and their
/// statistics. Excess losses are taken over every token of every example
/// at once, so `rho1` keeps exactly `keep_fraction` of the set.
struct TokenPriorityWeights {
    let settings: PriorityConfig
    let traces: TokenPriorityTraces
    /// Per example, the reference model's log-prob of each completion token (`rho1`, `soft`).
    let reference: [[Float]]?
    /// Seed of the `random` mode's mask.
    var maskSeed: UInt64 = 0

    /// Whether the mode compares the student with a reference.
    static func needsReference(_ mode: PriorityMode) -> Bool { mode == .rho1 || mode == .soft }

    /// Loads the reference's log-probs (`initial`: the model as it is now) when the mode needs them.
    static func make(ctx: JobContext, settings: PriorityConfig, traces: TokenPriorityTraces) throws -> TokenPriorityWeights {
        var reference: [[Float]]?
        if needsReference(settings.mode) {
            let model = settings.reference == "initial" ? ctx.model
                : try ModelSource.load(settings.reference, maxSeqLen: ctx.model.config.maxSeqLen)
            guard model.config.vocabSize == ctx.model.config.vocabSize else {
                throw JobError("priority.reference \(settings.reference): expected a model with the student's vocabulary of "
                               + "\(ctx.model.config.vocabSize) tokens, found \(model.config.vocabSize); use a reference with the same tokenizer")
            }
            reference = CompletionBatch.logProbs(model: model, pad: ctx.codec.pad, examples: traces.examples, chunk: ctx.scoringChunk)
        }
        return TokenPriorityWeights(settings: settings, traces: traces, reference: reference,
                                    maskSeed: SeedMixer.derive(run: ctx.runSeed, purpose: SeedPurpose.priorityRandomMask.rawValue))
    }

    /// Φ per example and completion token, given the student's current log-probs
    /// (needed by `rho1` and `soft` only).
    func weights(student: [[Float]]?) -> [[Float]] {
        let marked = traces.marked
        switch settings.mode {
        case .uniform: return marked.map { $0.map { _ in 1 } }
        case .hard: return marked.map { $0.map { $0 ? 0 : 1 } }
        case .signed: return marked.map { $0.map { $0 ? -1 : 1 } }
        case .random:
            // As many zeros as the testbed marks, at seeded positions over every trace token.
            let total = marked.reduce(0) { $0 + $1.count }, count = marked.reduce(0) { $0 + $1.filter { $0 }.count }
            let dropped = Set(MoTData.permutation(total, seed: maskSeed).prefix(count))
            var out: [[Float]] = [], lo = 0
            for row in marked {
                out.append(row.indices.map { dropped.contains(lo + $0) ? 0 : 1 })
                lo += row.count
            }
            return out
        case .rho1, .soft:
            guard let student, let reference else { preconditionFailure("TokenPriorityWeights: \(settings.mode) needs log-probs") }
            let excess = TokenPriority.excessLoss(studentLogProbs: student.flatMap { $0 }, referenceLogProbs: reference.flatMap { $0 })
            let targets = [Int32](repeating: 0, count: excess.count)
            let flat = settings.mode == .rho1
                ? TokenPriority.rho1(excessLoss: excess, targets: targets, keepFraction: settings.keepFraction)
                : TokenPriority.soft(excessLoss: excess, targets: targets, temperature: settings.temperature)
            var out: [[Float]] = [], lo = 0
            for row in marked { out.append(Array(flat[lo..<(lo + row.count)])); lo += row.count }
            return out
        }
    }

    /// `priority/kept_frac` (Φ > 0), `priority/negative_frac` (Φ < 0),
    /// `priority/mean_phi`, and for a corrupting testbed the share of its
    /// tokens in the data (`priority/<testbed>_frac`), among the kept tokens
    /// (`…_in_kept`) and in the positive weight (`…_weight_share`).
    func metrics(_ weights: [[Float]]) -> [String: Double] {
        let phi = weights.flatMap { $0 }, marked = traces.marked.flatMap { $0 }
        let n = Double(max(1, phi.count)), kept = phi.filter { $0 > 0 }.count
        var m: [String: Double] = [
            "priority/kept_frac": Double(kept) / n,
            "priority/negative_frac": Double(phi.filter { $0 < 0 }.count) / n,
            "priority/mean_phi": phi.reduce(0.0) { $0 + Double($1) } / n,
        ]
        if settings.testbed != .clean {
            let name = "priority/" + settings.testbed.rawValue
            let positive = phi.reduce(0.0) { $0 + Double(max(0, $1)) }
            let markedPositive = zip(phi, marked).reduce(0.0) { $0 + ($1.1 ? Double(max(0, $1.0)) : 0) }
            m[name + "_frac"] = Double(marked.filter { $0 }.count) / n
            m[name + "_in_kept"] = Double(zip(phi, marked).filter { $0 > 0 && $1 }.count) / Double(max(1, kept))
            m[name + "_weight_share"] = positive > 0 ? markedPositive / positive : 0
        }
        return m
    }
}
