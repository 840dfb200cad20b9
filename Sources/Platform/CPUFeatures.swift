import Foundation

/// The instruction-set flags of this machine's CPU, as Linux lists them in
/// /proc/cpuinfo. The numeric targets never read them: the executable probes
/// once at start and hands the resulting choices down as values.
public struct CPUFeatures: Equatable, Sendable {
    /// Flag names as the kernel spells them (`avx2`, `fma`, `avx512f`, …).
    public let flags: Set<String>

    /// Features with exactly these flags (tests, or a CPU described by hand).
    public init(flags: Set<String>) { self.flags = flags }

    /// Parses the first `flags` line of a /proc/cpuinfo text (every core lists
    /// the same set); no such line gives no flags, so every check says no.
    public init(cpuinfo: String) {
        guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else {
            self.init(flags: [])
            return
        }
        let names = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
        self.init(flags: Set(names.map(String.init)))
    }

    /// This machine's features, read from `path`; none when it cannot be read
    /// (not Linux, or a sandbox without /proc), which selects the portable kernels.
    public static func current(cpuinfoPath path: String = "/proc/cpuinfo") -> CPUFeatures {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return CPUFeatures(flags: []) }
        return CPUFeatures(cpuinfo: text)
    }

    /// Whether the CPU lists `flag`.
    public func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// Whether our AVX-512 micro-kernels (module `Kernels512`) can run here:
    /// they use AVX-512 Foundation instructions only.
    public var avx512: Bool { has("avx512f") }
}
