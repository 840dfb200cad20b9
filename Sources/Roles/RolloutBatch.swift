/// One verified completion of one prompt.
public struct RolloutSample: Equatable, Sendable {
    /// Prompt tokens.
    public var promptTokens: [Int32]
    /// Sampled response tokens (including the stop token when one was emitted).
    public var responseTokens: [Int32]
    /// log π_old of each response token, as the sampler computed it.
    public var logProbs: [Float]
    /// Entropy of the sampler's distribution at each response token.
    public var entropies: [Float]
    /// Per response token: 0 = written by the student, 1 = by a teacher (MOTAB). Empty = all student.
    public var provenance: [Int32]
    /// Verifier outcome R_o ∈ {0, 1}.
    public var outcome: Double
    /// Reward used for advantages (outcome plus shaping / intrinsic terms).
    public var reward: Double
    /// Prompt group: the G samples of one prompt share it.
    public var groupId: Int
    /// Benchmark or synthetic family the prompt came from.
    public var dataSource: String
    /// Prompt and response text, and the reference answer (for rollout dumps).
    public var prompt: String, response: String, groundTruth: String
    /// Whether the verifier hit its time limit.
    public var verifierTimedOut: Bool
    /// ISPO's intrinsic signals (nil when not computed).
    public var signals: IntrinsicSignals?
    /// Per response token: the teacher's log-prob of the token (distillation; empty when not scored).
    public var teacherLogProbs: [Float]
    /// (response tokens · V) the teacher's full log-softmax row at every response
    /// position (the `full` distillation estimator); empty when not asked for.
    public var teacherRows: [Float]
    /// FLaG's score S = log p(correct) − log p(wrong) from the live features (nil when not scored).
    public var flagScore: Double?
    /// Per response token: an advantage term added to the rollout's advantage
    /// (ISPO's `token` credit); empty = none. Set after the gather, not sent.
    public var tokenAdvantageTerms: [Float] = []

    /// Creates a sample.
    public init(promptTokens: [Int32], responseTokens: [Int32], logProbs: [Float], entropies: [Float],
                provenance: [Int32] = [], outcome: Double, reward: Double, groupId: Int, dataSource: String,
                prompt: String, response: String, groundTruth: String, verifierTimedOut: Bool = false,
                signals: IntrinsicSignals? = nil, teacherLogProbs: [Float] = [], teacherRows: [Float] = []) {
        self.promptTokens = promptTokens; self.responseTokens = responseTokens; self.logProbs = logProbs
        self.entropies = entropies; self.provenance = provenance; self.outcome = outcome; self.reward = reward
        self.groupId = groupId; self.dataSource = dataSource; self.prompt = prompt; self.response = response
        self.groundTruth = groundTruth; self.verifierTimedOut = verifierTimedOut; self.signals = signals
        self.teacherLogProbs = teacherLogProbs; self.teacherRows = teacherRows
    }
}

/// What a rollout worker sends to the learners for one step: typed, versioned.
public struct RolloutBatch: Equatable, Sendable {
    /// Wire-format version; bump when the encoding changes.
    public static let formatVersion = 5
    /// Weight version the samples were drawn with.
    public var weightVersion: Int
    /// RL step.
    public var step: Int
    /// World rank of the worker.
    public var workerRank: Int
    /// The samples.
    public var samples: [RolloutSample]
    /// Seconds spent generating, verifying and computing ISPO's signals.
    public var generationSeconds: Double, rewardSeconds: Double, signalSeconds: Double

    /// Creates a batch.
    public init(weightVersion: Int, step: Int, workerRank: Int, samples: [RolloutSample],
                generationSeconds: Double = 0, rewardSeconds: Double = 0, signalSeconds: Double = 0) {
        self.weightVersion = weightVersion; self.step = step; self.workerRank = workerRank; self.samples = samples
        self.generationSeconds = generationSeconds; self.rewardSeconds = rewardSeconds; self.signalSeconds = signalSeconds
    }

    /// Binary encoding for MPI.
    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.write(Self.formatVersion); w.write(weightVersion); w.write(step); w.write(workerRank)
        w.write(generationSeconds); w.write(rewardSeconds); w.write(signalSeconds)
        w.write(samples.count)
        for s in samples {
            w.write(s.promptTokens); w.write(s.responseTokens); w.write(s.logProbs); w.write(s.entropies)
            w.write(s.provenance); w.write(s.outcome); w.write(s.reward); w.write(s.groupId)
            w.write(s.dataSource); w.write(s.prompt); w.write(s.response); w.write(s.groundTruth)
            w.write(s.verifierTimedOut ? 1 : 0)
            w.write(s.signals == nil ? 0 : 1)
            if let g = s.signals {
                w.write(g.hasAnswer ? 1 : 0); w.write(g.sequenceInformation); w.write(g.tokenReward)
                w.write(g.criticalCount); w.write(g.criticalMeanProb); w.write(g.answerProb); w.write(g.critical)
            }
            w.write(s.teacherLogProbs); w.write(s.teacherRows)
            w.write(s.flagScore == nil ? 0 : 1)
            if let f = s.flagScore { w.write(f) }
        }
        return w.bytes
    }

    /// Decodes `encoded()`; throws on truncation or a format-version mismatch.
    public init(decoding bytes: [UInt8]) throws {
        var r = BinaryReader(bytes, what: "RolloutBatch")
        let version = try r.int()
        guard version == Self.formatVersion else {
            throw MessageError("RolloutBatch: format version \(version), expected \(Self.formatVersion); all ranks must run the same binary")
        }
        weightVersion = try r.int(); step = try r.int(); workerRank = try r.int()
        generationSeconds = try r.double(); rewardSeconds = try r.double(); signalSeconds = try r.double()
        let n = try r.int()
        guard n >= 0 && n <= bytes.count else { throw MessageError("RolloutBatch: bad sample count \(n)") }
        samples = []
        for _ in 0..<n {
            let pt = try r.int32s(), rt = try r.int32s(), lp = try r.floats(), en = try r.floats(), pv = try r.int32s()
            let outcome = try r.double(), reward = try r.double(), group = try r.int()
            let src = try r.string(), prompt = try r.string(), response = try r.string(), gt = try r.string()
            let timedOut = try r.int() != 0
            var signals: IntrinsicSignals?
            if try r.int() != 0 {
                signals = IntrinsicSignals(hasAnswer: try r.int() != 0, sequenceInformation: try r.double(),
                                           tokenReward: try r.double(), criticalCount: try r.int(),
                                           criticalMeanProb: try r.double(), answerProb: try r.double(), critical: try r.int32s())
            }
            let tlp = try r.floats(), rows = try r.floats()
            let flagScore: Double? = try r.int() != 0 ? try r.double() : nil
            guard lp.count == rt.count, en.count == rt.count, pv.isEmpty || pv.count == rt.count,
                  tlp.isEmpty || tlp.count == rt.count, rows.isEmpty || (!rt.isEmpty && rows.count % rt.count == 0) else {
                throw MessageError("RolloutBatch: per-token arrays disagree with \(rt.count) response tokens")
            }
            samples.append(RolloutSample(promptTokens: pt, responseTokens: rt, logProbs: lp, entropies: en, provenance: pv,
                                         outcome: outcome, reward: reward, groupId: group, dataSource: src,
                                         prompt: prompt, response: response, groundTruth: gt, verifierTimedOut: timedOut,
                                         signals: signals, teacherLogProbs: tlp, teacherRows: rows))
            samples[samples.count - 1].flagScore = flagScore
        }
    }
}
