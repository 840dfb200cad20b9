import Tensors

/// `n` deterministic test values in [-1, 1), drawn from the library's seeded `Rng`.
public func randomValues(_ n: Int, seed: UInt64) -> [Float] {
    var rng = Rng(seed: seed)
    return (0..<n).map { _ in Float(rng.uniform() * 2 - 1) }
}

/// The largest |a − b| / max(1, |b|) over the elements (same lengths).
public func maxRelativeError(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "maxRelativeError: \(a.count) values against \(b.count)")
    var worst = 0.0
    for (x, y) in zip(a, b) { worst = max(worst, Double(abs(x - y)) / max(1, Double(abs(y)))) }
    return worst
}
