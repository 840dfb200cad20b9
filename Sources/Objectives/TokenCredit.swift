import Foundation

/// ISPO's token-credit placement `token` (METHODS §1, `algorithm.ispo.token_credit`).
///
/// With `sequence` credit r_tok is added to the rollout's scalar reward, so its
/// group advantage lands on every token, the wrong ones included. With `token`
/// credit the scalar reward keeps only R_o + λ_s·r_seq, and r_tok becomes an
/// advantage term on the critical tokens C_i only:
///
///     A_{i,t} = Â_i + δ_i·1[t ∈ C_i],   δ_i = λ_t·(r_tok,i − mean_{j ∈ g(i)} r_tok,j)
///
/// δ is centred within the prompt group (it ranks rollouts of one prompt, as
/// the group advantage does) and is not divided by any group std: dividing a
/// spread of 0.01–0.1 by an equally small std is what turns noise into
/// unit-size advantages. It enters the loss as the per-token advantage of
/// `PolicyLossInputs.advantages`, so clipping sees the combined A_{i,t}.
public enum TokenCredit {
    /// δ_i for every rollout: λ_t times its token reward minus its group's mean.
    /// - tokenRewards: (N) r_tok,i; groupIds: (N).
    public static func rolloutTerms(tokenRewards: [Double], groupIds: [Int], lambda: Double) -> [Double] {
        let (stats, slot) = GroupAdvantages.statsAndSlots(rewards: tokenRewards, groupIds: groupIds)
        return tokenRewards.indices.map { lambda * (tokenRewards[$0] - stats[slot[$0]].mean) }
    }

    /// The additive advantage term of each response token of one rollout: δ on
    /// the critical tokens, 0 elsewhere (length `responseLength`).
    /// - critical: indices into the response, each in 0..<responseLength.
    public static func perToken(term: Double, critical: [Int], responseLength: Int) -> [Float] {
        var out = [Float](repeating: 0, count: responseLength)
        for t in critical {
            precondition(t >= 0 && t < responseLength, "TokenCredit: critical token \(t) outside a response of \(responseLength)")
            out[t] = Float(term)
        }
        return out
    }
}
