/// Direct-answer (empty-thinking) warm-start examples (METHODS §1): ISPO's
/// sequence signal scores the answer after an emptied thinking block, so the
/// warm start shows the model some answers written that way; otherwise
/// log π(a | q, ∅) is an out-of-distribution constant and I carries no information.
public enum DirectAnswer {
    /// `completion` with its thinking emptied the way ISPO empties it
    /// (`T:\nA:42\n` for `T:…\nA:42\n`); nil when it has no answer span.
    public static func completion(from completion: String) -> String? {
        guard let span = AnswerSpan.locate(in: completion) else { return nil }
        let bytes = Array(completion.utf8)
        return span.emptiedThinking + String(decoding: bytes[span.markerStart...], as: UTF8.self)
    }

    /// Whether warm-start example `index` of `step` is a direct answer, for a
    /// fraction `fraction` of examples: a hash of (step, index) against the
    /// fraction, so the choice is fixed, independent of batch layout and
    /// spread evenly over steps.
    public static func isDirect(step: Int, index: Int, fraction: Double) -> Bool {
        if fraction <= 0 { return false }
        var z = UInt64(truncatingIfNeeded: step) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: index) &+ 0xD1B5_4A32_D192_ED03
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / 9_007_199_254_740_992.0 < fraction
    }
}
