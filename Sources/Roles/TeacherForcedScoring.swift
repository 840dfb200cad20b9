import Foundation
import Layers
import Tensors
import Transformer

/// Teacher-forced log-probabilities of chosen tokens, at a sampling
/// temperature, for the extra passes ISPO needs (the emptied-thinking pass and
/// the frozen-base pass). Sequences go through the KV-cache path in groups
/// (`Model.teacherForcedLogits`): no padding, and only the scored rows reach
/// the LM head; the logits of a group stay within `maxChunkFloats`.
public enum TeacherForcedScoring {
    /// Largest logits block of one group (floats): 32 MB.
    static let maxChunkFloats = 8 << 20

    /// For each sequence s, log π(s[t] | s[<t]) at temperature `temperature`
    /// for t in `from[s]..<s.count` (`from[s]` ≥ 1).
    public static func logProbs(model: Model, sequences: [[Int32]], from: [Int], temperature: Float) -> [[Float]] {
        var out = [[Float]](repeating: [], count: sequences.count)
        let V = model.config.vocabSize
        let scratch = FlatBuffer(count: Parallel.workers * V)
        for group in Model.teacherForcedGroups(lengths: sequences.map(\.count), from: from, vocab: V, maxLogitFloats: maxChunkFloats) {
            let logits = model.teacherForcedLogits(sequences: sequences, members: group, from: from)
            var targets: [Int32] = []
            for s in group { targets += sequences[s][from[s]...] }
            var values = [Float](repeating: 0, count: targets.count)
            values.withUnsafeMutableBufferPointer { v in
                Parallel.forChunks(targets.count, minPerWorker: 16) { w, range in
                    let sc = scratch.pointer + w * V
                    for k in range {
                        let row = scaled(logits.row(k), V, temperature, into: sc)
                        v[k] = LogitsMath.logProbAndEntropy(row, V, index: Int(targets[k])).logProb
                    }
                }
            }
            scatter(values, group: group, sequences: sequences, from: from, into: &out)
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
        let scratch = FlatBuffer(count: Parallel.workers * 2 * V)
        // Both models' logits of a group are alive at once, so each gets half the budget.
        for group in Model.teacherForcedGroups(lengths: sequences.map(\.count), from: from, vocab: V, maxLogitFloats: maxChunkFloats / 2) {
            // Each model has its own cache and workspace, so the policy's logits stay valid.
            let pLogits = policy.teacherForcedLogits(sequences: sequences, members: group, from: from)
            let bLogits = base.teacherForcedLogits(sequences: sequences, members: group, from: from)
            let rows = group.map { sequences[$0].count - from[$0] }.reduce(0, +)
            var values = [Float](repeating: 0, count: rows)
            values.withUnsafeMutableBufferPointer { v in
                Parallel.forChunks(rows, minPerWorker: 16) { w, range in
                    let p = scratch.pointer + w * 2 * V, q = p + V
                    for k in range {
                        logSoftmax(pLogits.row(k), V, temperature, into: p)
                        logSoftmax(bLogits.row(k), V, temperature, into: q)
                        var kl = 0.0
                        for j in 0..<V { let lp = Double(p[j]); kl += exp(lp) * (lp - Double(q[j])) }
                        v[k] = Float(max(0, kl))
                    }
                }
            }
            scatter(values, group: group, sequences: sequences, from: from, into: &out)
        }
        return out
    }

    /// Splits a group's row values back into per-sequence arrays (rows are in member order).
    static func scatter(_ values: [Float], group: [Int], sequences: [[Int32]], from: [Int], into out: inout [[Float]]) {
        var k = 0
        for s in group {
            let n = sequences[s].count - from[s]
            out[s] = Array(values[k..<(k + n)]); k += n
        }
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
