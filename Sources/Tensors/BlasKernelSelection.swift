import Foundation

/// OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and falls back
/// to its generic "Prescott" SSE kernels: sgemm then runs at ~35 GFLOP/s
/// instead of ~230 on the same 2 cores. It reads OPENBLAS_CORETYPE only when
/// the library loads, so the fix is to choose the kernel family from the CPU's
/// feature flags and re-execute the process once with the variable set.
public enum BlasKernelSelection {
    /// Kernel families too old for a CPU that has AVX2.
    static let genericCores: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Unknown"]

    /// The OPENBLAS_CORETYPE that fits the CPU flags in /proc/cpuinfo, or nil
    /// when there is nothing better than what OpenBLAS chose itself.
    public static func recommendedCoreType(cpuinfo: String) -> String? {
        guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(line.split(separator: " ").map(String.init))
        if ["avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512cd"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// If OPENBLAS_CORETYPE is unset and OpenBLAS fell back to a generic kernel
    /// on a CPU with AVX2, sets the variable and re-executes this binary (same
    /// pid, same arguments; MPI launchers are unaffected). Otherwise returns.
    public static func reexecWithFastKernelsIfNeeded() {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env["ISPO_BLAS_REEXEC"] == nil,
              genericCores.contains(Blas.coreName),
              let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let core = recommendedCoreType(cpuinfo: info) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("ISPO_BLAS_REEXEC", "1", 1)  // guards against a loop if the exec'd copy still disagrees
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // execv returned: keep running on the slow kernels rather than fail.
        for p in cargs { free(p) }
    }
}
