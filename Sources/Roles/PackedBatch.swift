import Transformer

/// Rollout samples laid out for one forward pass: sequences right-padded to
/// the longest, with per-row data for the loss. Row r = position t of
/// sequence b predicts token t+1; only response tokens carry a target.
public struct PackedBatch {
    /// Input tokens (B, T).
    public let batch: TokenBatch
    /// Next-token target per row, −1 where there is no loss (prompt, padding).
    public let targets: [Int32]
    /// Sampler log-prob of the target (π_old), 0 where no target.
    public let oldLogProbs: [Float]
    /// Advantage of the row's sequence, 0 where no target.
    public let advantages: [Float]
    /// Index of the row's sequence within this batch (for seq-mean aggregation).
    public let sequenceIndex: [Int32]
    /// Provenance of the target token (0 student, 1 teacher), 0 where no target.
    public let provenance: [Int32]
    /// Response tokens with a target.
    public let responseTokens: Int

    /// Packs `samples` with one advantage per sample.
    public init(samples: [RolloutSample], advantages: [Double], pad: Int32) {
        precondition(samples.count == advantages.count, "pack: \(samples.count) samples, \(advantages.count) advantages")
        let B = samples.count
        let T = max(1, samples.map { $0.promptTokens.count + $0.responseTokens.count - 1 }.max() ?? 1)
        var tokens = [Int32](repeating: pad, count: B * T), targets = [Int32](repeating: -1, count: B * T)
        var old = [Float](repeating: 0, count: B * T), adv = old
        var seq = [Int32](repeating: 0, count: B * T), prov = seq
        var count = 0
        for (b, s) in samples.enumerated() {
            let full = s.promptTokens + s.responseTokens
            let p = s.promptTokens.count
            for t in 0..<(full.count - 1) {
                let r = b * T + t
                tokens[r] = full[t]
                seq[r] = Int32(b)
                if t + 1 >= p {
                    let i = t + 1 - p
                    targets[r] = full[t + 1]
                    old[r] = s.logProbs[i]
                    adv[r] = s.tokenAdvantageTerms.isEmpty ? Float(advantages[b])
                        : Float(advantages[b] + Double(s.tokenAdvantageTerms[i]))
                    prov[r] = s.provenance.isEmpty ? 0 : s.provenance[i]
                    count += 1
                }
            }
        }
        batch = TokenBatch(batchSize: B, seqLen: T, tokens: tokens)
        self.targets = targets; oldLogProbs = old; self.advantages = adv; sequenceIndex = seq
        provenance = prov; responseTokens = count
    }
}
