import Foundation

/// Deterministic 64-bit generator (SplitMix64), so that every random test case replays
/// exactly, independently of the library's own `Rng`.
public struct SplitMix64: RandomNumberGenerator {
    /// The generator's state; advances by the golden-ratio increment on every draw.
    public var state: UInt64

    /// A generator starting at `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<n` (the tiny modulo bias does not matter for tests).
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// A uniformly chosen element of `items` (not empty).
    public mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// Uniform in [-scale, scale), from 24 random bits.
    public mutating func float(_ scale: Float = 1) -> Float {
        (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * scale
    }

    /// Normal(0, scale) by Box–Muller.
    public mutating func normal(_ scale: Float) -> Float {
        let u1 = max(Double(next() >> 11) * 0x1p-53, 0x1p-60), u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)) * scale
    }

    /// `n` normal(0, scale) floats, like freshly initialised weights.
    public mutating func weights(_ n: Int, scale: Float = 0.02) -> [Float] { (0 ..< n).map { _ in normal(scale) } }
}
