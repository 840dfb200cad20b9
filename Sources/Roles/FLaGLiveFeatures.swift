import Objectives
import Transformer

/// FLaG features of every sequence of one `Model.generate` call, read from the
/// generating forward itself (a `GenerationObserver`): no second pass over the
/// answers. The answer is the completion without a final stop token, as its
/// decoded text (what dumps and `detect features` see) has none. Sequence i's
/// features equal, up to the forward's rounding, what `FLaGFeatureExtractor`
/// computes on prompt i + that answer (`FLaGLiveParityTests` measures the difference).
final class FLaGLiveFeatures: GenerationObserver {
    let depth: Int
    let answerTail: Int
    private var accumulators: [FLaGFeatureAccumulator]
    private var truncated: Set<Int> = []

    /// One accumulator per prompt; hidden states read at residual `depth`.
    init(promptLengths: [Int], channels: Int, depth: Int, answerTail: Int = FLaGTokenFeatures.defaultAnswerTail) {
        self.depth = depth; self.answerTail = answerTail
        accumulators = promptLengths.map { FLaGFeatureAccumulator(promptLength: $0, channels: channels) }
    }

    func appended(sequences: [Int], residual: UnsafePointer<Float>, channels: Int) {
        for (r, i) in sequences.enumerated() { accumulators[i].addRow(residual + r * channels) }
    }

    func drew(sequence: Int, logProb: Float, entropy: Float) {
        accumulators[sequence].addToken(logProb: logProb, entropy: entropy)
    }

    func endedOnStopToken(sequence: Int) { accumulators[sequence].dropLastToken() }

    func finishedWithoutLastRow(sequence: Int) { truncated.insert(sequence) }

    /// Sequence i's features, or nil when its last token had no room in the cache.
    func features(_ i: Int) -> FLaGFeatureVector? {
        guard !truncated.contains(i), let f = accumulators[i].features(answerTail: answerTail) else { return nil }
        return FLaGFeatureVector(representation: f.representation, token: f.token,
                                 logProbs: accumulators[i].logProbs, entropies: accumulators[i].entropies)
    }
}
