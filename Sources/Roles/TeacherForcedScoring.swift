import Foundation
import Layers
import Tensors
import Transformer

/// Teacher-forced log-probabilities of chosen tokens, at a sampling
/// temperature, for the extra passes ISPO needs (the emptied-thinking pass and
/// the frozen-base pass). Sequences are scored in padded chunks sorted by
/// length, so memory stays bounded and little work is spent on padding.
public enum TeacherForcedScoring {
    /// Largest logits block of one chunk (floats): 32 MB.
    static let maxChunkFloats = 8 << 20

    /// For each sequence s, log π(s[t] | s[<t]) at temperature `temperature`
    /// for t in `from[s]..<s.count` (`from[s]` ≥ 1).
    public static func logProbs(model: Model, sequences: [[Int32]], from: [Int], temperature: Float) -> [[Float]] {
        var out = [[Float]](repeating: [], count: sequences.count)
        forEachChunk(model: model, sequences: sequences) { chunk, T, logits in
            let V = model.config.vocabSize
            var rows: [(seq: Int, row: Int, target: Int32)] = []
            for (b, s) in chunk.enumerated() {
                precondition(from[s] >= 1 && from[s] <= sequences[s].count, "logProbs: bad start \(from[s])")
                for t in from[s]..<sequences[s].count { rows.append((s, b * T + t - 1, sequences[s][t])) }
            }
            var values = [Float](repeating: 0, count: rows.count)
            let scratch = FlatBuffer(count: Parallel.workers * V)
            values.withUnsafeMutableBufferPointer { v in
                Parallel.forChunks(rows.count, minPerWorker: 16) { w, range in
                    let sc = scratch.pointer + w * V
                    for k in range {
                        let row = scaled(logits.row(rows[k].row), V, temperature, into: sc)
                        v[k] = LogitsMath.logProbAndEntropy(row, V, index: Int(rows[k].target)).logProb
                    }
                }
            }
            var k = 0
            for s in chunk {
                let n = sequences[s].count - from[s]
                out[s] = Array(values[k..<(k + n)]); k += n
            }
        }
        return out
    }

    /// For each sequence, KL(π_policy ‖ π_base) over the vocabulary at the
    /// positions that predict tokens `from[s]..<s.count`, both at `temperature`.
    public static func klDivergence(policy: Model, base: Model, sequences: [[Int32]], from: [Int],
                                    temperature: Float) -> [[Float]] {
        precondition(policy.config.vocabSize == base.config.vocabSize, "klDivergence: vocabularies differ")
        var out = [[Float]](repeating: [], count: sequences.count)
        let V = policy.config.vocabSize
        forEachChunk(model: policy, sequences: sequences) { chunk, T, pLogits in
            // The base model has its own buffers, so the policy's logits stay valid.
            let tokens = paddedTokens(chunk.map { sequences[$0] }, T)
            let bLogits = base.forward(TokenBatch(batchSize: chunk.count, seqLen: T, tokens: tokens))
            var rows: [(seq: Int, row: Int)] = []
            for (b, s) in chunk.enumerated() { for t in from[s]..<sequences[s].count { rows.append((s, b * T + t - 1)) } }
            var values = [Float](repeating: 0, count: rows.count)
            let scratch = FlatBuffer(count: Parallel.workers * 2 * V)
            values.withUnsafeMutableBufferPointer { v in
                Parallel.forChunks(rows.count, minPerWorker: 16) { w, range in
                    let p = scratch.pointer + w * 2 * V, q = p + V
                    for k in range {
                        logSoftmax(pLogits.row(rows[k].row), V, temperature, into: p)
                        logSoftmax(bLogits.row(rows[k].row), V, temperature, into: q)
                        var kl = 0.0
                        for j in 0..<V { let lp = Double(p[j]); kl += exp(lp) * (lp - Double(q[j])) }
                        v[k] = Float(max(0, kl))
                    }
                }
            }
            var k = 0
            for s in chunk {
                let n = sequences[s].count - from[s]
                out[s] = Array(values[k..<(k + n)]); k += n
            }
        }
        return out
    }

    /// Runs `model.forward` on chunks of similar-length sequences and hands each
    /// chunk's sequence indices, padded length and logits to `body`.
    static func forEachChunk(model: Model, sequences: [[Int32]], _ body: ([Int], Int, LogitsBlock) -> Void) {
        let order = sequences.indices.sorted { sequences[$0].count < sequences[$1].count }
        let V = model.config.vocabSize
        var i = 0
        while i < order.count {
            let T = sequences[order[min(order.count - 1, i)]].count
            // Grow the chunk while the padded block stays within budget (the chunk's longest sets T).
            var j = i + 1, longest = T
            while j < order.count {
                let next = max(longest, sequences[order[j]].count)
                if (j - i + 1) * next * V > maxChunkFloats { break }
                longest = next; j += 1
            }
            let chunk = Array(order[i..<j])
            let tokens = paddedTokens(chunk.map { sequences[$0] }, longest)
            body(chunk, longest, model.forward(TokenBatch(batchSize: chunk.count, seqLen: longest, tokens: tokens)))
            i = j
        }
    }

    /// Right-padded with token 0 (causal attention keeps padding out of earlier positions).
    static func paddedTokens(_ seqs: [[Int32]], _ T: Int) -> [Int32] {
        var flat = [Int32](repeating: 0, count: seqs.count * T)
        for (b, s) in seqs.enumerated() { for (t, x) in s.enumerated() { flat[b * T + t] = x } }
        return flat
    }

    /// `row / temperature` in `scratch` (or `row` itself at temperature 1).
    @inline(__always)
    static func scaled(_ row: UnsafeMutablePointer<Float>, _ V: Int, _ temperature: Float,
                       into scratch: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        if temperature == 1 { return row }
        let inv = 1 / temperature
        for j in 0..<V { scratch[j] = row[j] * inv }
        return scratch
    }

    /// log softmax(row / temperature) into `out`.
    static func logSoftmax(_ row: UnsafeMutablePointer<Float>, _ V: Int, _ temperature: Float, into out: UnsafeMutablePointer<Float>) {
        let inv = 1 / temperature
        var m = -Float.infinity
        for j in 0..<V { m = max(m, row[j] * inv) }
        var s = 0.0
        for j in 0..<V { s += exp(Double(row[j] * inv - m)) }
        let logZ = Float(Double(m) + log(s))
        for j in 0..<V { out[j] = row[j] * inv - logZ }
    }
}
