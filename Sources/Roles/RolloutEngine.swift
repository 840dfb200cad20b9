import Foundation
import Tensors
import Transformer

/// One generated response before verification: the tokens with the
/// sampler's per-token data, and for distillation where each token came from.
public struct GeneratedSequence {
    /// Response tokens (the stop token included when generation stopped on one).
    public var tokens: [Int32]
    /// log π of each token under the distribution it was drawn from.
    public var logProbs: [Float]
    /// Entropy of that distribution at each token.
    public var entropies: [Float]
    /// Per-token source, 0 student / 1 teacher (empty: all the policy's own).
    public var provenance: [Int32] = []
    /// The teacher's log-prob of each token (empty when no teacher scored it).
    public var teacherLogProbs: [Float] = []
    /// The teacher's full log-prob rows (the `full` distillation estimator; empty otherwise).
    public var teacherRows: [Float] = []
    /// FLaG features read from the generating forward (nil unless the generator was asked for them).
    public var flagFeatures: FLaGFeatureVector?

    /// Creates a sequence.
    public init(tokens: [Int32], logProbs: [Float], entropies: [Float], provenance: [Int32] = [],
                teacherLogProbs: [Float] = [], teacherRows: [Float] = []) {
        self.tokens = tokens; self.logProbs = logProbs; self.entropies = entropies; self.provenance = provenance
        self.teacherLogProbs = teacherLogProbs; self.teacherRows = teacherRows
    }
}

/// What writes a rollout batch's responses: plain sampling from a model, or
/// MOTAB's monitored generation with teacher backtracking.
public protocol SequenceGenerator {
    /// Positions the generating model holds (prompt + response).
    var maxSeqLen: Int { get }
    /// One response per prompt, prompt k sampled from seed `seeds[k]`.
    func generate(prompts: [[Int32]], options: SamplingOptions, seeds: [UInt64]) throws -> [GeneratedSequence]
}

/// Plain sampling with `Model.generate` (KV cache, packed decode weights).
public struct SamplingGenerator: SequenceGenerator {
    /// The model that writes.
    public let model: Model
    /// Residual depth of live FLaG features (`flag.enable`); nil = none.
    public let flagDepth: Int?
    /// Wraps `model`.
    public init(model: Model, flagDepth: Int? = nil) { self.model = model; self.flagDepth = flagDepth }
    public var maxSeqLen: Int { model.config.maxSeqLen }
    public func generate(prompts: [[Int32]], options: SamplingOptions, seeds: [UInt64]) throws -> [GeneratedSequence] {
        let live = flagDepth.map { FLaGLiveFeatures(promptLengths: prompts.map(\.count), channels: model.config.dim, depth: $0) }
        return model.generate(prompts: prompts, options: options, seeds: seeds, observer: live).enumerated().map { i, c in
            var g = GeneratedSequence(tokens: c.tokens, logProbs: c.logProbs, entropies: c.entropies)
            g.flagFeatures = live?.features(i)
            return g
        }
    }
}

/// The one rollout path of every pipeline: G samples per prompt with
/// per-sample seeds, written by a pluggable generator, verified and turned
/// into samples.
public struct RolloutEngine {
    /// Text ↔ ids.
    public let codec: TextCodec
    /// Answer checker.
    public let verify: VerifyFunction
    /// What writes the responses.
    public let generator: SequenceGenerator

    /// Scores each completion that carries FLaG features (`flag.enable`); nil = no scores.
    public let flag: FLaGLive?

    /// Creates an engine.
    public init(codec: TextCodec, verify: @escaping VerifyFunction, generator: SequenceGenerator, flag: FLaGLive? = nil) {
        self.codec = codec; self.verify = verify; self.generator = generator; self.flag = flag
    }

    /// Seconds spent in the generator and in the verifier during the last `rollout` call.
    public private(set) var generateSeconds = 0.0, verifySeconds = 0.0

    /// Samples `groupSize` completions for each item. Item `k` has global index
    /// `indices[k]` in the step's prompt list; its group id is that index and
    /// sample j draws from seed (run, step, index·G + j), so the samples do not
    /// depend on how prompts are spread over workers.
    mutating func rollout(items: [PromptItem], indices: [Int], groupSize G: Int, options: SamplingOptions,
                          runSeed: UInt64, step: Int, purpose: SeedPurpose) throws -> [RolloutSample] {
        precondition(items.count == indices.count, "rollout: \(items.count) items but \(indices.count) indices")
        generateSeconds = 0; verifySeconds = 0
        if items.isEmpty { return [] }
        var prompts: [[Int32]] = [], seeds: [UInt64] = []
        let encoded = try items.map { try codec.encode(try codec.formatPrompt($0.prompt)) }
        for (k, p) in encoded.enumerated() {
            for j in 0..<G {
                prompts.append(p)
                seeds.append(SeedMixer.derive(run: runSeed, step: UInt64(step), sample: UInt64(indices[k] * G + j),
                                              purpose: purpose.rawValue))
            }
        }
        var opts = options
        opts.stopTokens.insert(codec.eos)
        let longest = encoded.map(\.count).max() ?? 0
        let room = generator.maxSeqLen - longest
        guard room > 0 else {
            throw RolloutError("prompts of up to \(longest) tokens leave no room in model.max_seq_len \(generator.maxSeqLen); "
                               + "raise it or shorten data.max_prompt_length")
        }
        opts.maxNewTokens = min(opts.maxNewTokens, room)
        let start = Date()
        let completions = try generator.generate(prompts: prompts, options: opts, seeds: seeds)
        generateSeconds = Date().timeIntervalSince(start)
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
                                         entropies: c.entropies, provenance: c.provenance, outcome: outcome, reward: outcome,
                                         groupId: indices[k], dataSource: item.dataSource, prompt: item.prompt, response: text,
                                         groundTruth: item.groundTruth, verifierTimedOut: v.timedOut,
                                         teacherLogProbs: c.teacherLogProbs, teacherRows: c.teacherRows))
            if let flag, let f = c.flagFeatures { samples[samples.count - 1].flagScore = flag.score(f) }
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
