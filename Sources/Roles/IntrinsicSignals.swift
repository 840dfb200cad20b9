import Foundation
import Objectives
import Tasks
import Transformer

/// ISPO's per-rollout signals, computed on the rollout worker that already
/// holds the rollout's log-probs and entropies (METHODS §1).
public struct IntrinsicSignals: Equatable, Sendable {
    /// Whether the response has an answer span (else no sequence signal).
    public var hasAnswer: Bool
    /// I = mean per-token [log π(a | q, z) − log π(a | q, ∅)]; 0 without an answer.
    public var sequenceInformation: Double
    /// r_tok, the directional token reward over the critical set.
    public var tokenReward: Double
    /// |C|, the critical-set size.
    public var criticalCount: Int
    /// mean_C π_old(o_t).
    public var criticalMeanProb: Double
    /// Geometric-mean probability of the answer tokens, exp(mean log π(a | q, z)); 0 without an answer.
    public var answerProb: Double
    /// The critical tokens C as indices into the response, ascending (`token` credit places r_tok on them).
    public var critical: [Int32]

    /// Creates signals.
    public init(hasAnswer: Bool, sequenceInformation: Double, tokenReward: Double, criticalCount: Int,
                criticalMeanProb: Double, answerProb: Double, critical: [Int32] = []) {
        self.hasAnswer = hasAnswer; self.sequenceInformation = sequenceInformation; self.tokenReward = tokenReward
        self.criticalCount = criticalCount; self.criticalMeanProb = criticalMeanProb; self.answerProb = answerProb
        self.critical = critical
    }
}

/// Computes `IntrinsicSignals` for a worker's rollouts: one emptied-thinking
/// pass with the policy (short: prompt + marker + answer) and one pass of the
/// frozen base over prompt + response (plus a policy pass in `kl` drift mode).
public struct IntrinsicSignalWorker {
    /// π_old (the weights that sampled the rollouts) and the frozen π_base.
    public let policy: Model, base: Model
    /// Text ↔ ids.
    public let codec: TextCodec
    /// Filters and token-reward settings.
    public let settings: ISPOSignals.Settings
    /// Use full KL(π_old ‖ π_base) as the drift instead of the sampled token's log-ratio.
    public let klDrift: Bool
    /// The rollout temperature (the sampler's log-probs are at this temperature).
    public let temperature: Float

    /// Creates a worker.
    public init(policy: Model, base: Model, codec: TextCodec, settings: ISPOSignals.Settings, klDrift: Bool, temperature: Float) {
        self.policy = policy; self.base = base; self.codec = codec; self.settings = settings
        self.klDrift = klDrift; self.temperature = temperature
    }

    /// Fills `signals` of every sample.
    public func annotate(_ samples: inout [RolloutSample]) throws {
        if samples.isEmpty { return }
        // Frozen-base pass over prompt + response.
        let full = samples.map { $0.promptTokens + $0.responseTokens }
        let from = samples.map(\.promptTokens.count)
        let drifts: [[Float]]
        if klDrift {
            drifts = TeacherForcedScoring.klDivergence(policy: policy, base: base, sequences: full, from: from, temperature: temperature)
        } else {
            let baseLP = TeacherForcedScoring.logProbs(model: base, sequences: full, from: from, temperature: temperature)
            drifts = samples.indices.map { ISPOSignals.logProbDrift(policy: samples[$0].logProbs, base: baseLP[$0]) }
        }
        // Emptied-thinking pass over the answers that have a span.
        let answers = try samples.map { try answerTokens($0) }
        var emptied: [[Int32]] = [], emptiedFrom: [Int] = [], owner: [Int] = []
        for (i, a) in answers.enumerated() {
            guard let a else { continue }
            let prefix = samples[i].promptTokens + a.conditioning
            emptied.append(prefix + Array(samples[i].responseTokens[a.range]))
            emptiedFrom.append(prefix.count); owner.append(i)
        }
        let withoutThinking = TeacherForcedScoring.logProbs(model: policy, sequences: emptied, from: emptiedFrom, temperature: temperature)
        var without = [[Float]?](repeating: nil, count: samples.count)
        for (k, i) in owner.enumerated() { without[i] = withoutThinking[k] }
        for i in samples.indices {
            samples[i].signals = signals(samples[i], drift: drifts[i], answer: answers[i]?.range, without: without[i])
        }
    }

    /// The signals of one sample from its drift and emptied-thinking scores.
    func signals(_ s: RolloutSample, drift: [Float], answer: Range<Int>?, without: [Float]?) -> IntrinsicSignals {
        let critical = ISPOSignals.criticalTokens(entropies: s.entropies, drifts: drift, settings: settings)
        let correct = s.outcome > 0.5
        let rTok = ISPOSignals.tokenReward(correct: correct, logProbs: s.logProbs, entropies: s.entropies, critical: critical,
                                           vocabSize: codec.vocabSize, settings: settings)
        let meanProb = critical.isEmpty ? 0 : critical.map { exp(Double(s.logProbs[$0])) }.reduce(0, +) / Double(critical.count)
        guard let answer, let without, !answer.isEmpty else {
            return IntrinsicSignals(hasAnswer: false, sequenceInformation: 0, tokenReward: rTok, criticalCount: critical.count,
                                    criticalMeanProb: meanProb, answerProb: 0, critical: critical.map(Int32.init))
        }
        let with = Array(s.logProbs[answer])
        let info = ISPOSignals.sequenceInformation(withThinking: with, withoutThinking: without)
        let answerProb = exp(with.map(Double.init).reduce(0, +) / Double(with.count))
        return IntrinsicSignals(hasAnswer: true, sequenceInformation: info, tokenReward: rTok, criticalCount: critical.count,
                                criticalMeanProb: meanProb, answerProb: answerProb, critical: critical.map(Int32.init))
    }

    /// The answer's token range in the response (stop token excluded) and the
    /// tokens that replace the thinking before it; nil without an answer span.
    func answerTokens(_ s: RolloutSample) throws -> (range: Range<Int>, conditioning: [Int32])? {
        var body = s.responseTokens
        if body.last == codec.eos { body.removeLast() }
        let text = codec.decode(body)
        guard let span = AnswerSpan.locate(in: text) else { return nil }
        // k = the first token that reaches into the answer: the largest k whose
        // decoded prefix ends at or before the answer's first byte.
        var lo = 0, hi = body.count
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if codec.decode(Array(body[..<mid])).utf8.count <= span.answerStart { lo = mid } else { hi = mid - 1 }
        }
        let k = lo
        guard k < body.count else { return nil }
        let startByte = codec.decode(Array(body[..<k])).utf8.count
        let bytes = Array(text.utf8)
        let markerPart = startByte > span.markerStart ? String(decoding: bytes[span.markerStart..<startByte], as: UTF8.self) : ""
        return (k..<body.count, try codec.encode(span.emptiedThinking + markerPart))
    }
}
