import Foundation

/// Seed derivation and a seeded generator. Randomness in this project is
/// always explicit: a seed comes from `SeedMixer` over named coordinates,
/// never from `hashValue` or the system generator.
public enum SeedMixer {
    /// SplitMix64's finaliser: a bijective 64-bit mixer with full avalanche.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A seed for one stream, derived from (run, step, rank, sample) and a
    /// purpose tag, so streams never collide when one coordinate changes.
    public static func derive(run: UInt64, step: UInt64 = 0, rank: UInt64 = 0, sample: UInt64 = 0,
                              purpose: UInt64 = 0) -> UInt64 {
        var h = mix(run)
        for v in [step, rank, sample, purpose] { h = mix(h ^ mix(v &+ 0x632B_E59B_D9B4_E019)) }
        return h
    }
}

/// xoshiro256** seeded through SplitMix64: fast, small state, reproducible
/// across platforms.
public struct Rng: Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose whole stream is determined by `seed`.
    public init(seed: UInt64) {
        var x = seed
        func next() -> UInt64 { x = x &+ 0x9E37_79B9_7F4A_7C15; return SeedMixer.mix(x &- 0x9E37_79B9_7F4A_7C15) }
        s0 = next(); s1 = next(); s2 = next(); s3 = next()
    }

    /// Next 64 random bits.
    @inline(__always)
    public mutating func nextUInt64() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 bits of resolution.
    @inline(__always)
    public mutating func uniform() -> Double { Double(nextUInt64() >> 11) * 0x1.0p-53 }

    /// Uniform integer in 0..<n (n > 0), unbiased by rejection.
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        let bound = UInt64(n)
        let limit = UInt64.max - UInt64.max % bound
        while true { let v = nextUInt64(); if v < limit { return Int(v % bound) } }
    }

    /// Standard normal by Box–Muller.
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 0x1.0p-60), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
