import Transformer

/// Supervised examples (prompt → completion) as one training batch.
enum CompletionBatch {
    /// Prompt + completion sequences as one padded batch (cut to `maxSeqLen`)
    /// with next-token targets on the completion tokens only (-1 elsewhere).
    /// targets: (B·T)
    static func make(_ examples: [(prompt: [Int32], completion: [Int32])], maxSeqLen: Int, pad: Int32)
        -> (TokenBatch, targets: [Int32]) {
        let T = min(maxSeqLen, examples.map { $0.prompt.count + $0.completion.count - 1 }.max() ?? 1)
        var tokens = [Int32](repeating: pad, count: examples.count * T)
        var targets = [Int32](repeating: -1, count: examples.count * T)
        for (b, ex) in examples.enumerated() {
            let full = Array((ex.prompt + ex.completion).prefix(T + 1))
            for t in 0..<(full.count - 1) {
                tokens[b * T + t] = full[t]
                if t + 1 >= ex.prompt.count { targets[b * T + t] = full[t + 1] }
            }
        }
        return (TokenBatch(batchSize: examples.count, seqLen: T, tokens: tokens), targets)
    }
}
