import Objectives
import Transformer

/// The per-row inputs of `DistillationLoss` for a packed micro-batch of MOTAB
/// samples (rows as `PackedBatch` lays them out: row b·T + t predicts token
/// t + 1 of sample b; only response tokens carry a target).
public enum MotabLossBatch {
    /// Inputs for `packed` = `PackedBatch(samples: samples, …)`.
    ///
    /// - teacherLogProbs: per sample, per response token, log π_T of the token
    ///   (`MotabCompletion.teacherLogProbs` after `scoreWithTeacher`); needed
    ///   by the `sampled` estimator, nil otherwise.
    /// - teacherRows: per sample, (response tokens · V) teacher log-softmax
    ///   rows (`MotabCompletion.teacherRows`); needed by `full`, nil otherwise.
    /// - useOldLogProbs: pass the sampler's log-probs for the importance ratio
    ///   (several updates per batch); false = on-policy ρ ≡ 1.
    public static func inputs(packed: PackedBatch, samples: [RolloutSample], teacherLogProbs: [[Float]]? = nil,
                              teacherRows: [[Float]]? = nil, vocab V: Int, useOldLogProbs: Bool = true) -> DistillationInputs {
        let B = packed.batch.batchSize, T = packed.batch.seqLen, N = B * T
        precondition(samples.count == B, "MotabLossBatch: \(samples.count) samples for a batch of \(B)")
        var tokenLP: [Float]? = teacherLogProbs.map { _ in [Float](repeating: 0, count: N) }
        var rows: [Float]? = teacherRows.map { _ in [Float](repeating: 0, count: N * V) }
        for (b, s) in samples.enumerated() {
            let p = s.promptTokens.count, n = s.responseTokens.count
            if let t = teacherLogProbs {
                precondition(t[b].count == n, "MotabLossBatch: sample \(b) has \(n) response tokens, \(t[b].count) teacher log-probs")
            }
            if let q = teacherRows {
                precondition(q[b].count == n * V, "MotabLossBatch: sample \(b) needs \(n)×\(V) teacher log-probs, found \(q[b].count)")
            }
            for i in 0..<n {
                let r = b * T + p - 1 + i  // the row whose target is response token i
                if let t = teacherLogProbs { tokenLP![r] = t[b][i] }
                if let q = teacherRows { for v in 0..<V { rows![r * V + v] = q[b][i * V + v] } }
            }
        }
        return DistillationInputs(targets: packed.targets, provenance: packed.provenance, teacherLogProbRows: rows,
                                  teacherTokenLogProbs: tokenLP, oldLogProbs: useOldLogProbs ? packed.oldLogProbs : nil)
    }
}
