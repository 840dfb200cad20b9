import Platform
import XCTest

/// The CPU-flag parser and the decisions made from it, on cpuinfo texts of
/// real machines (shortened), so they are checked whatever CPU runs the tests.
final class PlatformTests: XCTestCase {
    /// A Sapphire Rapids Xeon (the machine OpenBLAS 0.3.21 does not know).
    static let xeon = """
        processor\t: 0
        vendor_id\t: GenuineIntel
        model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
        flags\t\t: fpu vme sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16
        bugs\t\t: spectre_v1

        processor\t: 1
        flags\t\t: fpu vme sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16
        """
    /// A Zen 3 desktop: AVX2 and FMA, no AVX-512.
    static let zen3 = """
        processor\t: 0
        vendor_id\t: AuthenticAMD
        flags\t\t: fpu sse sse2 pni ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 sha_ni
        """
    /// A Xeon Phi-like flag set: avx512f without the BW/VL extensions SkylakeX kernels need.
    static let avx512fOnly = "flags\t: sse2 avx fma avx2 avx512f avx512cd avx512er avx512pf\n"
    /// An old Core 2: SSE only.
    static let core2 = "flags\t\t: fpu sse sse2 ssse3 sse4_1\n"
    /// An ARM server lists `Features`, not `flags`.
    static let arm = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n"

    func testParsesTheFlagsLineIntoNames() {
        let x = CPUFeatures(cpuinfo: Self.xeon)
        XCTAssertTrue(x.has("avx512bw"))
        XCTAssertTrue(x.has("fpu"), "first flag after the colon")
        XCTAssertTrue(x.has("avx512_bf16"), "last flag of the line")
        XCTAssertFalse(x.has(":"))
        XCTAssertFalse(x.has("flags"))
        XCTAssertFalse(x.has("spectre_v1"), "the bugs line is not flags")
        XCTAssertFalse(x.has("avx512"), "names match whole, not by prefix")
        XCTAssertEqual(x.flags.count, 17)
        XCTAssertTrue(x.avx512)
        XCTAssertFalse(CPUFeatures(cpuinfo: Self.zen3).avx512)
        XCTAssertTrue(CPUFeatures(cpuinfo: Self.zen3).has("avx2"))
    }

    func testNoFlagsLineMeansNoFeatures() {
        XCTAssertEqual(CPUFeatures(cpuinfo: Self.arm).flags, [])
        XCTAssertEqual(CPUFeatures(cpuinfo: "").flags, [])
        XCTAssertFalse(CPUFeatures(cpuinfo: Self.arm).avx512)
        XCTAssertEqual(CPUFeatures.current(cpuinfoPath: "/nonexistent/cpuinfo"), CPUFeatures(flags: []))
    }

    func testRecommendedCoreTypeFollowsTheFlags() {
        XCTAssertEqual(BlasKernelSelection.recommendedCoreType(cpuinfo: Self.xeon), "SkylakeX")
        XCTAssertEqual(BlasKernelSelection.recommendedCoreType(cpuinfo: Self.zen3), "Haswell")
        XCTAssertEqual(BlasKernelSelection.recommendedCoreType(cpuinfo: Self.avx512fOnly), "Haswell",
                       "SkylakeX kernels need BW, DQ and VL too")
        XCTAssertNil(BlasKernelSelection.recommendedCoreType(cpuinfo: Self.core2))
        XCTAssertNil(BlasKernelSelection.recommendedCoreType(cpuinfo: Self.arm))
    }

    func testReexecOnlyFromAGenericKernelWithoutUserChoice() {
        let xeon = CPUFeatures(cpuinfo: Self.xeon)
        func decide(_ env: [String: String], _ core: String, _ cpu: CPUFeatures = xeon) -> String? {
            BlasKernelSelection.reexecCoreType(environment: env, loadedCore: core, features: cpu)
        }
        XCTAssertEqual(decide([:], "Prescott"), "SkylakeX")
        XCTAssertEqual(decide(["PATH": "/bin"], "Nehalem", CPUFeatures(cpuinfo: Self.zen3)), "Haswell")
        XCTAssertNil(decide([:], "SkylakeX"), "OpenBLAS already chose a good family")
        XCTAssertNil(decide([:], "Haswell"))
        XCTAssertNil(decide(["OPENBLAS_CORETYPE": "Prescott"], "Prescott"), "the user's choice stands")
        XCTAssertNil(decide([BlasKernelSelection.reexecMarker: "1"], "Prescott"), "never twice")
        XCTAssertNil(decide([:], "Prescott", CPUFeatures(cpuinfo: Self.core2)), "nothing better to offer")
    }

    func testKernelChoiceFromFeaturesAndEnvironment() {
        let xeon = CPUFeatures(cpuinfo: Self.xeon), zen = CPUFeatures(cpuinfo: Self.zen3)
        XCTAssertTrue(KernelChoice(features: xeon, environment: [:]).avx512)
        XCTAssertFalse(KernelChoice(features: zen, environment: [:]).avx512)
        XCTAssertNil(KernelChoice(features: xeon, environment: ["OPENBLAS_CORETYPE": "blas"]).decodeGemm)
        XCTAssertEqual(KernelChoice(features: zen, environment: [KernelChoice.decodeGemmVariable: "blas"]).decodeGemm, "blas")
        XCTAssertEqual(KernelChoice.decodeGemmVariable, "ISPO_DECODE_GEMM", "documented name (Docs/Benchmarks.md)")
    }
}
