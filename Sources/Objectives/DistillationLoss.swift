import Foundation
import Layers
import Tensors

/// How the reverse KL on student tokens is estimated.
public enum DistillationEstimator: String, Codable, Sendable, CaseIterable {
    /// The teacher's full log-softmax row is given per student position: exact
    /// KL_t = Σ_v π_S(v)(log π_S(v) − log π_T(v)) with its exact gradient.
    case full
    /// Only log π_T of the sampled token: the per-token estimate
    /// d_t = log π_S(o_t) − log π_T(o_t) as a stop-gradient negative reward
    /// on a policy-gradient term (on-policy distillation).
    case sampled
}

/// Per-row data of a MOTAB loss block (N = the block's rows, V its width).
public struct DistillationInputs {
    /// (N) next-token ids; negative = no loss (prompt, padding). Strayed
    /// suffixes discarded by a backtrack are not in the trajectory at all.
    public var targets: [Int32]
    /// (N) who wrote the target: 0 the student, 1 a teacher.
    public var provenance: [Int32]
    /// `full`: (N·V) teacher log-probabilities, row-major; read only on rows
    /// with a student target (each must be finite there).
    public var teacherLogProbRows: [Float]?
    /// `sampled`: (N) log π_T(target); read only on rows with a student target.
    public var teacherTokenLogProbs: [Float]?
    /// `sampled`: (N) log π_old(target) of the sampler, for the importance
    /// ratio ρ_t = exp(x_t − old_t); nil = on-policy (ρ ≡ 1, gradient of x only).
    public var oldLogProbs: [Float]?
    /// (N) per-token weights (token-priority hook), nil = 1.
    public var weights: [Float]?

    /// Creates inputs; which teacher array is needed depends on the estimator.
    public init(targets: [Int32], provenance: [Int32], teacherLogProbRows: [Float]? = nil,
                teacherTokenLogProbs: [Float]? = nil, oldLogProbs: [Float]? = nil, weights: [Float]? = nil) {
        self.targets = targets; self.provenance = provenance; self.teacherLogProbRows = teacherLogProbRows
        self.teacherTokenLogProbs = teacherTokenLogProbs; self.oldLogProbs = oldLogProbs; self.weights = weights
    }
}

/// Sums gathered by `DistillationLoss` (merge across blocks and learners by adding).
public final class DistillationLossMetrics {
    /// Rows with a student target, and with a teacher target.
    public var studentTokens = 0.0, teacherTokens = 0.0
    /// Σ of the per-token reverse-KL value (exact KL_t or the estimate d_t) over student tokens.
    public var reverseKLSum = 0.0
    /// Σ −log π_S(teacher token) over teacher tokens.
    public var teacherCrossEntropySum = 0.0

    /// Empty sums.
    public init() {}

    /// Adds `other` into this one.
    public func merge(_ other: DistillationLossMetrics) {
        studentTokens += other.studentTokens; teacherTokens += other.teacherTokens
        reverseKLSum += other.reverseKLSum; teacherCrossEntropySum += other.teacherCrossEntropySum
    }

    /// `motab/reverse_kl` (mean over student tokens), `motab/teacher_ce` (mean
    /// over teacher tokens) and `motab/loss_teacher_token_frac`.
    public var values: [String: Double] {
        var out: [String: Double] = [:]
        if studentTokens > 0 { out["motab/reverse_kl"] = reverseKLSum / studentTokens }
        if teacherTokens > 0 { out["motab/teacher_ce"] = teacherCrossEntropySum / teacherTokens }
        if studentTokens + teacherTokens > 0 {
            out["motab/loss_teacher_token_frac"] = teacherTokens / (studentTokens + teacherTokens)
        }
        return out
    }
}

/// MOTAB's loss on a spliced trajectory (METHODS.md §2, [ours]) as a `TokenLoss`:
///
///     L = (1/n) [ Σ_{t student} w_t·KL_t  +  α Σ_{t teacher} w_t·(−log π_S(y_t)) ]
///
/// with n the caller's (global) normalizer, by default the rows with a target
/// (token-mean). KL_t per estimator, with x_t = log π_S(y_t) and z the logits:
///
/// - `full`: KL_t = Σ_v p_v (log p_v − log q_v), p = softmax(z), q = teacher;
///   ∂KL_t/∂z_j = p_j (log p_j − log q_j − KL_t).
/// - `sampled`: ℓ_t = sg(d_t)·ρ_t, d_t = x_t − log q(y_t), ρ_t = exp(x_t − old_t)
///   (log-ratio clamped to ±20, gradient zero where clamped; ρ ≡ 1 when no old
///   log-probs are given); ∂ℓ_t/∂z = d_t ρ_t (onehot(y_t) − p). On-policy
///   (ρ = 1) the value is the per-token estimate of the reverse KL and the
///   gradient its REINFORCE estimator with reward −d_t.
///
/// Teacher tokens: ∂/∂z = α w (p − onehot(y)) / n.
public enum DistillationLoss {
    /// Builds the loss.
    /// - alpha: α, weight of the cross-entropy on teacher tokens (`distillation.alpha`).
    /// - normalizer: divides the sum; nil = Σ over rows with a target of 1 (token-mean).
    /// - metrics: if given, this call's sums are added into it.
    public static func loss(_ inputs: DistillationInputs, estimator: DistillationEstimator, alpha: Double,
                            normalizer: Double? = nil, metrics: DistillationLossMetrics? = nil) -> TokenLoss {
        return { block in
            let N = block.rows, V = block.vocab
            check(inputs, rows: N, vocab: V, estimator: estimator)
            let norm: Double = normalizer ?? Double(inputs.targets.filter { $0 >= 0 }.count)
            let inv: Double = norm > 0 ? 1 / norm : 0
            let workers = Parallel.workers
            // Per chunk: loss, student tokens, teacher tokens, KL sum, CE sum.
            var partial = [Double](repeating: 0, count: workers * 5)
            let teacherRows = inputs.teacherLogProbRows ?? []
            partial.withUnsafeMutableBufferPointer { part in teacherRows.withUnsafeBufferPointer { qbuf in
                let pp = part.baseAddress!
                Parallel.forChunks(N, minPerWorker: 4) { chunk, range in
                    var acc = 0.0, nS = 0.0, nT = 0.0, klSum = 0.0, ceSum = 0.0
                    for r in range {
                        let row = block.row(r)
                        let y = Int(inputs.targets[r])
                        if y < 0 { row.update(repeating: 0, count: V); continue }
                        let w = Double(inputs.weights?[r] ?? 1)
                        let st = LogitsMath.stats(row, V)
                        let x = Double(row[y]) - st.logZ
                        if inputs.provenance[r] != 0 {
                            nT += 1; ceSum += -x
                            acc += alpha * w * -x
                            writeSoftmaxGradient(row, V, logZ: st.logZ, s: -alpha * w * inv, target: y)
                            continue
                        }
                        nS += 1
                        switch estimator {
                        case .full:
                            let q = qbuf.baseAddress! + r * V
                            let kl = fullKL(row, V, logZ: st.logZ, teacher: q)
                            klSum += kl; acc += w * kl
                            writeFullKLGradient(row, V, logZ: st.logZ, teacher: q, kl: kl, scale: w * inv)
                        case .sampled:
                            let d = x - Double(inputs.teacherTokenLogProbs![r])
                            var rho = 1.0, dRho = 1.0
                            if let old = inputs.oldLogProbs {
                                let raw = x - Double(old[r])
                                rho = exp(min(max(raw, -20), 20)); dRho = abs(raw) <= 20 ? rho : 0
                            }
                            klSum += d; acc += w * d * rho
                            // ∂ℓ/∂x = d·ρ; ∂x/∂z = onehot − p.
                            writeSoftmaxGradient(row, V, logZ: st.logZ, s: w * d * dRho * inv, target: y)
                        }
                    }
                    pp[chunk * 5] = acc; pp[chunk * 5 + 1] = nS; pp[chunk * 5 + 2] = nT
                    pp[chunk * 5 + 3] = klSum; pp[chunk * 5 + 4] = ceSum
                }
            } }
            var total = 0.0
            let m = DistillationLossMetrics()
            for c in 0..<workers {
                total += partial[c * 5]; m.studentTokens += partial[c * 5 + 1]; m.teacherTokens += partial[c * 5 + 2]
                m.reverseKLSum += partial[c * 5 + 3]; m.teacherCrossEntropySum += partial[c * 5 + 4]
            }
            metrics?.merge(m)
            return total * inv
        }
    }

    /// Σ_v p_v (log p_v − q_v) in Double, p = softmax(row).
    static func fullKL(_ row: UnsafePointer<Float>, _ V: Int, logZ: Double, teacher q: UnsafePointer<Float>) -> Double {
        var kl = 0.0
        for v in 0..<V {
            let lp = Double(row[v]) - logZ
            kl += exp(lp) * (lp - Double(q[v]))
        }
        return kl
    }

    /// row[j] ← scale · p_j (log p_j − q_j − KL).
    static func writeFullKLGradient(_ row: UnsafeMutablePointer<Float>, _ V: Int, logZ: Double,
                                    teacher q: UnsafePointer<Float>, kl: Double, scale: Double) {
        for j in 0..<V {
            let lp = Double(row[j]) - logZ
            row[j] = Float(scale * exp(lp) * (lp - Double(q[j]) - kl))
        }
    }

    /// row ← s·(onehot(target) − p): the gradient of s·log p(target).
    /// (For a loss −c·log p pass s = −c.)
    static func writeSoftmaxGradient(_ row: UnsafeMutablePointer<Float>, _ V: Int, logZ: Double, s: Double, target: Int) {
        for j in 0..<V { row[j] = Float(-s * exp(Double(row[j]) - logZ)) }
        row[target] += Float(s)
    }

    /// Shapes and the estimator's inputs (programmer errors).
    static func check(_ inputs: DistillationInputs, rows n: Int, vocab V: Int, estimator: DistillationEstimator) {
        precondition(inputs.targets.count == n, "DistillationLoss: \(inputs.targets.count) targets for \(n) rows")
        precondition(inputs.provenance.count == n, "DistillationLoss: \(inputs.provenance.count) provenance entries for \(n) rows")
        if let w = inputs.weights { precondition(w.count == n, "DistillationLoss: \(w.count) weights for \(n) rows") }
        if let o = inputs.oldLogProbs { precondition(o.count == n, "DistillationLoss: \(o.count) old log-probs for \(n) rows") }
        for t in inputs.targets { precondition(Int(t) < V, "DistillationLoss: target \(t) outside vocabulary of \(V)") }
        let student = inputs.targets.indices.filter { inputs.targets[$0] >= 0 && inputs.provenance[$0] == 0 }
        guard !student.isEmpty else { return }
        switch estimator {
        case .full:
            guard let q = inputs.teacherLogProbRows else {
                preconditionFailure("DistillationLoss(full): student rows need teacherLogProbRows (N·V); use .sampled with token log-probs")
            }
            precondition(q.count == n * V, "DistillationLoss(full): \(q.count) teacher log-probs for \(n)×\(V) rows")
            for r in student { precondition(q[r * V..<(r + 1) * V].allSatisfy(\.isFinite), "DistillationLoss(full): row \(r) of the teacher is not finite") }
        case .sampled:
            guard let q = inputs.teacherTokenLogProbs else {
                preconditionFailure("DistillationLoss(sampled): student rows need teacherTokenLogProbs (N)")
            }
            precondition(q.count == n, "DistillationLoss(sampled): \(q.count) teacher log-probs for \(n) rows")
            for r in student { precondition(q[r].isFinite, "DistillationLoss(sampled): teacher log-prob of row \(r) is \(q[r]); score the student tokens with the teacher first") }
        }
    }
}
