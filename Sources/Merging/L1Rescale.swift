/// The rescale after sparsification, as mergekit does it (`rescaled_masked_tensor` with the L1
/// norm, used by `dare_*` by default and by `ties` with `rescale: true`): each tensor's kept
/// entries are multiplied by L1(before) / L1(after), so the tensor keeps its L1 norm — not
/// divided by the density (the DARE paper's form, which keeps it only in expectation).
///
/// A tensor whose L1 norm is below `epsilon` before or after the drop is left as dropped
/// (mergekit's guard against dividing by a vanishing norm). Tensors are the `segments`, as in
/// `Sparsify` (nil = the whole buffer is one tensor).
public enum L1Rescale {
    /// mergekit's threshold below which a norm counts as zero.
    public static let epsilon: Float = 1e-7

    /// The L1 norm of each segment: Σ|x| summed in Double, rounded to Float.
    public static func norms(_ values: UnsafeBufferPointer<Float>, segments: [Range<Int>]?) -> [Float] {
        Sparsify.checkedSegments(segments, count: values.count).map { r in
            var s = 0.0
            for i in r { s += Double(abs(values[i])) }
            return Float(s)
        }
    }

    /// Scales each segment of `values` (already sparsified) by `before[j]` / its current L1 norm.
    public static func apply(_ values: UnsafeMutableBufferPointer<Float>, normsBefore before: [Float],
                             segments: [Range<Int>]?) {
        let ranges = Sparsify.checkedSegments(segments, count: values.count)
        precondition(before.count == ranges.count, "L1Rescale: \(before.count) norms for \(ranges.count) segments")
        let after = norms(UnsafeBufferPointer(values), segments: segments)
        for (j, r) in ranges.enumerated() where !(before[j] < epsilon || after[j] < epsilon) {
            let scale = before[j] / after[j]
            for i in r { values[i] = values[i] * scale }
        }
    }
}
