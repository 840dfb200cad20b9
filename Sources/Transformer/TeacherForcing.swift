import Layers
import Tensors

extension Model {
    /// Splits sequences into groups scored together by `teacherForcedLogits`:
    /// consecutive sequences while their logit rows fit `maxLogitFloats` and
    /// there are at most `maxSlots` of them (a group holds at least one).
    /// Sequence s contributes `lengths[s] − from[s]` rows.
    public static func teacherForcedGroups(lengths: [Int], from: [Int], vocab: Int,
                                           maxLogitFloats: Int = 8 << 20, maxSlots: Int = 64) -> [[Int]] {
        precondition(lengths.count == from.count, "teacherForcedGroups: \(lengths.count) lengths, \(from.count) starts")
        var groups: [[Int]] = [], current: [Int] = [], rows = 0
        for s in lengths.indices {
            let n = lengths[s] - from[s]
            if !current.isEmpty && ((rows + n) * vocab > maxLogitFloats || current.count >= maxSlots) {
                groups.append(current); current = []; rows = 0
            }
            current.append(s); rows += n
        }
        if !current.isEmpty { groups.append(current) }
        return groups
    }

    /// Teacher-forced logits through the KV cache, without padding: for each
    /// member s in order, the rows that predict `sequences[s][t]` for t in
    /// `from[s]..<sequences[s].count` (each `from[s]` ≥ 1). The same numbers as
    /// the full forward (causal attention), but only the requested rows go
    /// through the LM head and no activations are kept for a backward pass.
    /// Valid until the next `extend`, `generate` or `teacherForcedLogits` call.
    public func teacherForcedLogits(sequences: [[Int32]], members: [Int], from: [Int]) -> LogitsBlock {
        let cache = generationCache(slots: members.count)
        var slots: [Int] = [], tokens: [Int32] = [], logitRows: [Int] = []
        for (k, s) in members.enumerated() {
            let seq = sequences[s]
            precondition(from[s] >= 1 && from[s] <= seq.count, "teacherForcedLogits: start \(from[s]) for \(seq.count) tokens")
            precondition(seq.count - 1 <= cache.maxLen, "teacherForcedLogits: \(seq.count) tokens; the model holds \(cache.maxLen)")
            for t in 0..<(seq.count - 1) {
                if t >= from[s] - 1 { logitRows.append(tokens.count) }
                slots.append(k); tokens.append(seq[t])
            }
        }
        return extend(cache: cache, slots: slots, tokens: tokens, logitRows: logitRows)
    }
}
