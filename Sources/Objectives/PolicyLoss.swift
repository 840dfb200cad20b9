import Foundation
import Layers
import Tensors

/// The GRPO/DAPO clipped-surrogate policy loss as a `TokenLoss` (METHODS.md §0,
/// verl `compute_policy_loss_vanilla` + the actor's KL and entropy terms).
///
/// Per response token t, with x_t = log π_θ(y_t) = logits[y_t] − logsumexp(logits):
///
///     ρ_t   = exp(clamp(x_t − old_t, −20, 20))
///     pg_t  = max(−Â ρ, −Â clip(ρ, 1 − ε_low, 1 + ε_high)),  then for Â < 0: min(pg_t, −c Â)
///     ℓ_t   = w_t · pg_t + β · kl(x_t, ref_t) − c_H · H_t
///
/// aggregated by `LossAggregation` with the caller's global normalizer. The
/// gradient goes through log-softmax (∂x/∂logits = onehot − p) and the entropy
/// (∂H/∂logits = −p ⊙ (log p + H)); where a clamp or clip is active its
/// gradient is zero, as in torch.
public enum PolicyLoss {
    /// Builds the loss for one block of logits.
    ///
    /// - inputs: per-row targets, old log-probs, advantages, optional reference
    ///   log-probs, sequence ids and weights (N = the block's rows).
    /// - config: clip ranges, dual clip, KL and entropy coefficients, aggregation.
    /// - normalizer: the global normalizer n of `LossAggregation` (its table):
    ///   the sum of `config.aggregation.localNormalizer(…)` over every
    ///   micro-batch of every data-parallel learner. Must be > 0 when the
    ///   block has response rows.
    /// - metrics: if given, this call's diagnostics are added into it.
    /// - Returns: a `TokenLoss` that writes ∂loss/∂logits over the logits and
    ///   returns this block's share of the loss (shares of all blocks add up).
    public static func loss(_ inputs: PolicyLossInputs, config: PolicyLossConfig, normalizer: Double,
                            metrics: PolicyLossMetrics? = nil) -> TokenLoss {
        return { block in
            let N = block.rows, V = block.vocab
            check(inputs, rows: N, config: config)
            let scale = rowScales(inputs, aggregation: config.aggregation, normalizer: normalizer)
            let beta = config.klLossCoef, cH = config.entropyCoeff
            let workers = Parallel.workers
            var partial = [Double](repeating: 0, count: workers)
            let chunkMetrics = (0..<workers).map { _ in PolicyLossMetrics() }
            partial.withUnsafeMutableBufferPointer { part in
                let pp = part.baseAddress!
                Parallel.forChunks(N, minPerWorker: 4) { chunk, range in
                    let cm = chunkMetrics[chunk]
                    var acc = 0.0
                    for r in range {
                        let row = block.row(r)
                        let y = Int(inputs.targets[r])
                        if y < 0 { row.update(repeating: 0, count: V); continue }
                        precondition(y < V, "PolicyLoss: target \(y) outside vocabulary of \(V)")
                        let m = VectorMath.max(row, V)
                        let st = LogitsMath.stats(row, V)
                        let x = Double(row[y]) - st.logZ
                        let entropy = st.logZ - st.meanLogit
                        let t = tokenTerms(logProb: x, oldLogProb: Double(inputs.oldLogProbs[r]),
                                           advantage: Double(inputs.advantages[r]),
                                           refLogProb: inputs.refLogProbs.map { Double($0[r]) }, config: config)
                        let w = Double(inputs.weights?[r] ?? 1), sc = scale[r]
                        acc += sc * (w * t.pg + beta * t.kl - cH * entropy)
                        // ∂ℓ/∂x and the entropy factor; the row becomes
                        // p ⊙ (k (l − Σp·l) − s) + s·onehot(y).
                        let s = sc * (w * t.dpg + beta * t.dkl), k = sc * cH
                        writeGradient(row, V, max: m, logZ: st.logZ, meanLogit: st.meanLogit, s: s, k: k)
                        row[y] += Float(s)
                        cm.tokens += 1; cm.pgLoss += sc * w * t.pg; cm.klLoss += sc * t.kl
                        cm.entropyLoss += sc * entropy; cm.entropySum += entropy
                        cm.clippedTokens += t.clipped ? 1 : 0; cm.dualClippedTokens += t.dualClipped ? 1 : 0
                        cm.logRatioSum += -t.logRatio; cm.ratioSum += t.ratio
                        cm.ratioMin = min(cm.ratioMin, t.ratio); cm.ratioMax = max(cm.ratioMax, t.ratio)
                    }
                    pp[chunk] = acc
                }
            }
            if let metrics {
                for cm in chunkMetrics { metrics.merge(cm) }
                if inputs.refLogProbs != nil { metrics.hasKL = true }
            }
            return partial.reduce(0, +)
        }
    }

    /// log π(target) and the entropy H of every row's softmax, leaving the
    /// logits untouched: old and reference log-probs computed with the same
    /// model code as the loss. Rows with target < 0 get (0, 0).
    /// - Returns: logProbs (N), entropies (N).
    public static func targetLogProbs(_ block: LogitsBlock, targets: [Int32]) -> (logProbs: [Float], entropies: [Float]) {
        precondition(targets.count == block.rows, "PolicyLoss: \(targets.count) targets for \(block.rows) rows")
        var logProbs = [Float](repeating: 0, count: block.rows), entropies = logProbs
        logProbs.withUnsafeMutableBufferPointer { lp in
            entropies.withUnsafeMutableBufferPointer { en in
                let lpp = lp.baseAddress!, enp = en.baseAddress!
                Parallel.forRanges(block.rows, minPerWorker: 4) { range in
                    for r in range where targets[r] >= 0 {
                        let y = Int(targets[r])
                        precondition(y < block.vocab, "PolicyLoss: target \(y) outside vocabulary of \(block.vocab)")
                        let e = LogitsMath.logProbAndEntropy(block.row(r), block.vocab, index: y)
                        lpp[r] = e.logProb; enp[r] = e.entropy
                    }
                }
            }
        }
        return (logProbs, entropies)
    }

    /// One token's surrogate and KL values and their derivatives in x = log π_θ(y).
    struct TokenTerms {
        var pg = 0.0, dpg = 0.0, kl = 0.0, dkl = 0.0
        /// x − old after the ±20 clamp, and ρ = exp of it.
        var logRatio = 0.0, ratio = 1.0
        var clipped = false, dualClipped = false
    }

    /// verl's per-token algebra, in Double. Ties between the two branches of
    /// max/min only happen where both have the same derivative (ρ inside the
    /// clip range, or Â = 0), so picking either branch matches torch.
    static func tokenTerms(logProb x: Double, oldLogProb: Double, advantage a: Double, refLogProb: Double?,
                           config: PolicyLossConfig) -> TokenTerms {
        var t = TokenTerms()
        let raw = x - oldLogProb
        t.logRatio = min(max(raw, -20), 20)
        let dLogRatio: Double = abs(raw) <= 20 ? 1 : 0
        t.ratio = exp(t.logRatio)
        let unclipped = -a * t.ratio
        let clippedLoss = -a * min(max(t.ratio, 1 - config.clipRatioLow), 1 + config.clipRatioHigh)
        t.clipped = clippedLoss > unclipped
        // Where the clipped branch wins, clip(ρ) is constant in x.
        t.pg = max(unclipped, clippedLoss)
        t.dpg = t.clipped ? 0 : -a * t.ratio * dLogRatio
        if let c = config.clipRatioC, a < 0 {
            if t.pg > -c * a { t.pg = -c * a; t.dpg = 0; t.dualClipped = true }
        }
        if let ref = refLogProb {
            switch config.klEstimator {
            case .k1:
                t.kl = x - ref; t.dkl = 1
            case .k2:
                t.kl = 0.5 * (x - ref) * (x - ref); t.dkl = x - ref
            case .k3:
                let u = ref - x, uc = min(max(u, -20), 20)
                let e = exp(uc), kld = e - uc - 1
                t.kl = min(max(kld, -10), 10)
                // d kld / dx = (e − 1) · d uc / dx = −(e − 1) inside both clamps.
                t.dkl = (abs(u) <= 20 && abs(kld) <= 10) ? -(e - 1) : 0
            }
        }
        return t
    }

    /// row[v] ← p_v · (k · (l_v − meanLogit) − s), p = softmax(row). The row is
    /// shifted by its max first so p and l − meanLogit keep full fp32 precision
    /// for large logits.
    @inline(__always)
    static func writeGradient(_ row: UnsafeMutablePointer<Float>, _ n: Int, max m: Float, logZ: Double,
                              meanLogit: Double, s: Double, k: Double) {
        let lse = Float(logZ - Double(m)), mu = Float(meanLogit - Double(m))
        let m8 = SIMD8<Float>(repeating: m), lse8 = SIMD8<Float>(repeating: lse), mu8 = SIMD8<Float>(repeating: mu)
        let s8 = SIMD8<Float>(repeating: Float(s)), k8 = SIMD8<Float>(repeating: Float(k))
        var i = 0
        while i + 8 <= n {
            let d = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self) - m8
            let p = VectorMath.exp8(d - lse8)
            UnsafeMutableRawPointer(row + i).storeBytes(of: p * (k8 * (d - mu8) - s8), as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            let d = row[i] - m
            row[i] = VectorMath.exp(d - lse) * (Float(k) * (d - mu) - Float(s)); i += 1
        }
    }

    /// Preconditions on the per-row arrays (programmer errors, not data errors).
    static func check(_ inputs: PolicyLossInputs, rows n: Int, config: PolicyLossConfig) {
        func same(_ count: Int?, _ name: String) {
            if let count { precondition(count == n, "PolicyLoss: \(name) has \(count) entries for \(n) rows") }
        }
        same(inputs.targets.count, "targets"); same(inputs.oldLogProbs.count, "oldLogProbs")
        same(inputs.advantages.count, "advantages"); same(inputs.refLogProbs?.count, "refLogProbs")
        same(inputs.sequenceIds?.count, "sequenceIds"); same(inputs.weights?.count, "weights")
        precondition(config.klLossCoef == 0 || inputs.refLogProbs != nil,
                     "PolicyLoss: kl_loss_coef \(config.klLossCoef) needs reference log-probs")
        precondition(config.clipRatioLow >= 0 && config.clipRatioLow < 1 && config.clipRatioHigh >= 0,
                     "PolicyLoss: clip ratios must satisfy 0 ≤ ε_low < 1, ε_high ≥ 0")
        if let c = config.clipRatioC { precondition(c > 1, "PolicyLoss: clip_ratio_c must be > 1, found \(c)") }
    }

    /// The factor each response row's loss is multiplied by (0 elsewhere):
    /// 1/n, 1/(L_s · n) or 1/(M · n) by mode.
    static func rowScales(_ inputs: PolicyLossInputs, aggregation: LossAggregation, normalizer: Double) -> [Double] {
        let targets = inputs.targets
        var scale = [Double](repeating: 0, count: targets.count)
        guard targets.contains(where: { $0 >= 0 }) else { return scale }
        precondition(normalizer > 0 && normalizer.isFinite, "PolicyLoss: normalizer must be > 0, found \(normalizer)")
        switch aggregation {
        case .tokenMean:
            for r in targets.indices where targets[r] >= 0 { scale[r] = 1 / normalizer }
        case .seqMeanTokenSumNorm(let maxLength):
            precondition(maxLength > 0, "PolicyLoss: seq-mean-token-sum-norm needs a max length > 0")
            for r in targets.indices where targets[r] >= 0 { scale[r] = 1 / (Double(maxLength) * normalizer) }
        case .seqMeanTokenMean:
            guard let seq = inputs.sequenceIds else {
                preconditionFailure("PolicyLoss: seq-mean-token-mean needs sequenceIds")
            }
            var lengths: [Int: Int] = [:]
            for r in targets.indices where targets[r] >= 0 { lengths[seq[r], default: 0] += 1 }
            for r in targets.indices where targets[r] >= 0 {
                scale[r] = 1 / (Double(lengths[seq[r], default: 1]) * normalizer)
            }
        }
        return scale
    }
}
