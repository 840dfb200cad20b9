/// The FLaG features of one answer built up position by position: the residual
/// rows of the prompt and the answer in sequence order, and each answer token's
/// log p and entropy. The offline extractor (one teacher-forced forward) and the
/// live rollout path (rows from the generating forward) both feed it, so the
/// two can differ only by the forward's rounding, never by the formula.
///
/// Representation (3·C): the last answer position's row, the mean answer row,
/// and mean(answer) − mean(prompt), means summed in Double in position order.
public struct FLaGFeatureAccumulator: Sendable {
    /// Prompt positions: the first `promptLength` rows are the prompt's.
    public let promptLength: Int
    /// Channels C of a row.
    public let channels: Int
    /// Rows seen so far.
    public private(set) var rows = 0
    private var promptSum: [Double], answerSum: [Double], last: [Float]
    /// log p of each answer token (temperature 1).
    public private(set) var logProbs: [Float] = []
    /// Entropy at each answer token (temperature 1).
    public private(set) var entropies: [Float] = []

    /// An empty accumulator for a prompt of `promptLength` ≥ 1 tokens and rows of `channels`.
    public init(promptLength: Int, channels: Int) {
        precondition(promptLength >= 1 && channels >= 1, "FLaG accumulator: prompt ≥ 1 token, channels ≥ 1")
        self.promptLength = promptLength; self.channels = channels
        promptSum = [Double](repeating: 0, count: channels); answerSum = promptSum
        last = [Float](repeating: 0, count: channels)
    }

    /// Adds the next position's residual row (C floats).
    public mutating func addRow(_ row: UnsafePointer<Float>) {
        let C = channels
        if rows < promptLength {
            for c in 0..<C { promptSum[c] += Double(row[c]) }
        } else {
            for c in 0..<C { answerSum[c] += Double(row[c]) }
            for c in 0..<C { last[c] = row[c] }
        }
        rows += 1
    }

    /// Adds one answer token's log p and entropy.
    public mutating func addToken(logProb: Float, entropy: Float) {
        logProbs.append(logProb); entropies.append(entropy)
    }

    /// Removes the last token's statistics (a stop token that is not part of the answer).
    public mutating func dropLastToken() {
        if !logProbs.isEmpty { logProbs.removeLast(); entropies.removeLast() }
    }

    /// Answer positions whose rows were added.
    public var answerRows: Int { max(0, rows - promptLength) }

    /// The features, or nil unless every answer token has both its row and its statistics.
    public func features(answerTail: Int = FLaGTokenFeatures.defaultAnswerTail) -> (representation: [Float], token: [Double])? {
        let A = logProbs.count
        guard A >= 1, answerRows == A else { return nil }
        let C = channels
        var representation = last
        representation.reserveCapacity(3 * C)
        for c in 0..<C { representation.append(Float(answerSum[c] / Double(A))) }
        for c in 0..<C { representation.append(Float(answerSum[c] / Double(A) - promptSum[c] / Double(promptLength))) }
        let token = FLaGTokenFeatures.compute(logProbs: logProbs.map(Double.init), entropies: entropies.map(Double.init),
                                              answerTail: answerTail)
        return (representation, token)
    }
}
