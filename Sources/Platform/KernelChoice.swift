import Foundation

/// Everything the numeric targets need to know about this machine and its
/// environment, probed once by the executable and passed down as values
/// (`PackedGemm.useAVX512`, `DecodeEngine.forced`).
public struct KernelChoice: Equatable, Sendable {
    /// Environment variable that forces the decode GEMM engine (`packed` or `blas`).
    public static let decodeGemmVariable = "ISPO_DECODE_GEMM"

    /// Whether to run the AVX-512 micro-kernels (the CPU has avx512f).
    public let avx512: Bool
    /// The decode GEMM engine named by `ISPO_DECODE_GEMM`, unparsed (Transformer
    /// owns the names; an unknown name leaves its automatic rule in charge), or
    /// nil when the variable is unset.
    public let decodeGemm: String?

    /// The choice for a CPU with `features` under `environment`.
    public init(features: CPUFeatures, environment: [String: String]) {
        avx512 = features.avx512
        decodeGemm = environment[Self.decodeGemmVariable]
    }

    /// The choice for this process: /proc/cpuinfo and the process environment.
    public static func probe() -> KernelChoice {
        KernelChoice(features: .current(), environment: ProcessInfo.processInfo.environment)
    }
}
