import Objectives
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

    /// Per example, `model`'s log-prob of each completion token (0 past the
    /// context window), `chunk` examples per forward pass (a pass keeps every
    /// layer's activations of chunk × length tokens: gigabytes on a real model at 16).
    static func logProbs(model: Model, pad: Int32, examples: [T3SExample], chunk size: Int = 16) -> [[Float]] {
        precondition(size >= 1, "logProbs: chunk must be at least 1")
        var out: [[Float]] = [], lo = 0
        while lo < examples.count {
            let chunk = Array(examples[lo..<min(examples.count, lo + size)])
            let (batch, targets) = CompletionBatch.make(chunk.map { ($0.prompt, $0.completion) }, maxSeqLen: model.config.maxSeqLen, pad: pad)
            let lp = PolicyLoss.targetLogProbs(model.forward(batch), targets: targets).logProbs
            let T = batch.seqLen
            for (b, e) in chunk.enumerated() {
                var row = [Float](repeating: 0, count: e.completion.count)
                for t in 0..<T where targets[b * T + t] >= 0 { row[t + 1 - e.prompt.count] = lp[b * T + t] }
                out.append(row)
            }
            lo += chunk.count
        }
        return out
    }
}
