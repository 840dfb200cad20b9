import Foundation

/// OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and falls back
/// to its generic "Prescott" SSE kernels: sgemm then runs at ~35 GFLOP/s
/// instead of ~230 on the same 2 cores. It reads OPENBLAS_CORETYPE only when
/// the library loads, so the fix is to choose the kernel family from the CPU's
/// feature flags and re-execute the process once with the variable set.
public enum BlasKernelSelection {
    /// Kernel families too old for a CPU that has AVX2.
    public static let genericCores: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Unknown"]

    /// Set in the re-executed process so that it never re-executes again, even
    /// if the library still reports a generic family.
    public static let reexecMarker = "ISPO_BLAS_REEXEC"

    /// The OPENBLAS_CORETYPE that fits `features`, or nil when there is nothing
    /// better than what OpenBLAS chose itself.
    public static func recommendedCoreType(features: CPUFeatures) -> String? {
        if ["avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512cd"].allSatisfy(features.has) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(features.has) { return "Haswell" }
        return nil
    }

    /// The OPENBLAS_CORETYPE that fits the CPU flags of a /proc/cpuinfo text, or nil.
    public static func recommendedCoreType(cpuinfo: String) -> String? {
        recommendedCoreType(features: CPUFeatures(cpuinfo: cpuinfo))
    }

    /// The core type to re-execute with, or nil to keep running: only when the
    /// user set no OPENBLAS_CORETYPE, this is not already the re-executed copy,
    /// the loaded library runs a generic family (`loadedCore`, i.e.
    /// `Blas.coreName`) and the CPU supports a better one.
    public static func reexecCoreType(environment: [String: String], loadedCore: String,
                                      features: @autoclosure () -> CPUFeatures) -> String? {
        guard environment["OPENBLAS_CORETYPE"] == nil, environment[reexecMarker] == nil,
              genericCores.contains(loadedCore) else { return nil }
        return recommendedCoreType(features: features())
    }

    /// If `reexecCoreType` says so, sets OPENBLAS_CORETYPE and re-executes this
    /// binary (same pid, same arguments; MPI launchers are unaffected).
    /// Otherwise, or if the exec fails, returns and the process keeps its kernels.
    /// Call it first thing in `main`, before any thread starts.
    public static func reexecWithFastKernelsIfNeeded(loadedCore: String) {
        guard let core = reexecCoreType(environment: ProcessInfo.processInfo.environment, loadedCore: loadedCore,
                                        features: CPUFeatures.current()) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv(reexecMarker, "1", 1)  // guards against a loop if the exec'd copy still disagrees
        var cargs: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // execv returned: keep running on the slow kernels rather than fail.
        for p in cargs { free(p) }
    }
}
