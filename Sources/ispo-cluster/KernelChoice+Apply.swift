import Platform
import Tensors
import Transformer

extension KernelChoice {
    /// Hands the probed choice to the numeric targets: the AVX-512 kernels
    /// where the CPU has them, and the decode engine `ISPO_DECODE_GEMM` names
    /// (an unknown name is ignored, leaving the automatic rule in charge).
    func apply() {
        PackedGemm.useAVX512 = avx512
        DecodeEngine.forced = decodeGemm.flatMap(DecodeEngine.init(rawValue:))
    }
}
