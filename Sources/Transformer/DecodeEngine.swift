import Tensors

/// Which GEMM runs the decode projections of `generate`.
public enum DecodeEngine: String, CaseIterable, Sendable {
    /// `PackedGemm` on a packed copy of the weights (its AVX-512 micro-kernel
    /// when `PackedGemm.useAVX512` is set, else the AVX2 one).
    case packed
    /// Single-threaded OpenBLAS calls on column slices of the live weights,
    /// one per team member, for batches of `PackedDecodeWeights.blasMinRows`
    /// rows or more. Kept for comparison: OpenBLAS re-packs the whole weight
    /// matrix on every call, and at batch 64 that made it 1.2–1.6× slower than
    /// the AVX-512 packed kernel (Docs/Benchmarks.md). It beats the AVX2
    /// kernel on AVX-512 CPUs, hence the rule in `preferred`.
    case blas

    /// Forces an engine: the executable sets it from `ISPO_DECODE_GEMM`, tests
    /// to run both. nil (the default) leaves the choice to `preferred`'s rule.
    /// Set it before decoding starts: it is read without synchronisation.
    nonisolated(unsafe) public static var forced: DecodeEngine?

    /// `forced` if set; else packed, unless the packed kernel is limited to
    /// AVX2 while OpenBLAS runs AVX-512 kernels.
    static var preferred: DecodeEngine {
        if let forced { return forced }
        if PackedGemm.useAVX512 { return .packed }
        return ["SkylakeX", "Cooperlake", "SapphireRapids"].contains(Blas.coreName) ? .blas : .packed
    }
}
