import Foundation
import Tensors
import Transformer

/// What a rollout worker does for one step: G samples per prompt with the
/// same forward code the learner uses, verified and turned into samples.
public struct RolloutEngine {
    /// The policy (weights version `weightVersion`).
    public let model: Model
    /// Text ↔ ids.
    public let codec: TextCodec
    /// Answer checker.
    public let verify: VerifyFunction

    /// Creates an engine.
    public init(model: Model, codec: TextCodec, verify: @escaping VerifyFunction) {
        self.model = model; self.codec = codec; self.verify = verify
    }

    /// Seconds spent in the verifier during the last `rollout` call.
    public private(set) var verifySeconds = 0.0

    /// Samples `groupSize` completions for each item. Item `k` has global index
    /// `indices[k]` in the step's prompt list; its group id is that index and
    /// sample j draws from seed (run, step, index·G + j), so the samples do not
    /// depend on how prompts are spread over workers.
    public mutating func rollout(items: [PromptItem], indices: [Int], groupSize G: Int, options: SamplingOptions,
                        runSeed: UInt64, step: Int, purpose: UInt64 = 0) throws -> [RolloutSample] {
        precondition(items.count == indices.count, "rollout: \(items.count) items but \(indices.count) indices")
        if items.isEmpty { return [] }
        var prompts: [[Int32]] = [], seeds: [UInt64] = []
        let encoded = try items.map { try codec.encode(codec.formatPrompt($0.prompt)) }
        for (k, p) in encoded.enumerated() {
            for j in 0..<G {
                prompts.append(p)
                seeds.append(SeedMixer.derive(run: runSeed, step: UInt64(step), sample: UInt64(indices[k] * G + j), purpose: purpose))
            }
        }
        var opts = options
        opts.stopTokens.insert(codec.eos)
        let room = model.config.maxSeqLen - (encoded.map(\.count).max() ?? 0)
        guard room > 0 else {
            throw RolloutError("prompts of up to \(encoded.map(\.count).max() ?? 0) tokens leave no room in model.max_seq_len \(model.config.maxSeqLen); raise it or shorten data.max_prompt_length")
        }
        opts.maxNewTokens = min(opts.maxNewTokens, room)
        let completions = model.generate(prompts: prompts, options: opts, seeds: seeds)
        var samples: [RolloutSample] = []
        samples.reserveCapacity(completions.count)
        let verifyStart = Date()
        defer { verifySeconds = Date().timeIntervalSince(verifyStart) }
        for (n, c) in completions.enumerated() {
            let k = n / G, item = items[k]
            let text = codec.decode(c.tokens)
            let v = verify(text, item)
            let outcome: Double = v.correct ? 1 : 0
            samples.append(RolloutSample(promptTokens: prompts[n], responseTokens: c.tokens, logProbs: c.logProbs,
                                         entropies: c.entropies, outcome: outcome, reward: outcome, groupId: indices[k],
                                         dataSource: item.dataSource, prompt: item.prompt, response: text,
                                         groundTruth: item.groundTruth, verifierTimedOut: v.timedOut))
        }
        return samples
    }
}

/// A rollout that cannot run.
public struct RolloutError: Error, CustomStringConvertible {
    /// What is wrong and what to do.
    public let description: String
    init(_ s: String) { description = s }
}
