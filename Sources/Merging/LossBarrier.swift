/// The loss barrier on the straight line between two models (issue #18's MoT
/// mechanism measurement): θ(α) = (1 − α)·θ_a + α·θ_b, and the barrier is how
/// far the loss along the line rises above the chord between its ends,
///
///     B = max_α [ L(θ(α)) − ((1 − α)·L(θ_a) + α·L(θ_b)) ]
///
/// over the α grid measured (which must hold 0 and 1). B ≈ 0: the two models
/// sit in one basin and averaging them is safe; B large: the average leaves it.
public enum LossBarrier {
    /// The α grid: 0, 1/n, …, 1.
    public static func grid(_ n: Int) -> [Double] {
        precondition(n >= 1, "LossBarrier: grid needs n ≥ 1")
        return (0...n).map { Double($0) / Double(n) }
    }

    /// θ(α) into `out`.
    public static func interpolate(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, alpha: Double,
                                   into out: UnsafeMutablePointer<Float>) {
        let x = Float(alpha)
        for i in 0..<count { out[i] = (1 - x) * a[i] + x * b[i] }
    }

    /// B for `losses[i]` measured at `alphas[i]`; the ends are the entries at α = 0 and α = 1.
    public static func height(alphas: [Double], losses: [Double]) -> Double {
        precondition(alphas.count == losses.count, "LossBarrier: \(alphas.count) alphas, \(losses.count) losses")
        guard let i0 = alphas.firstIndex(of: 0), let i1 = alphas.firstIndex(of: 1) else {
            preconditionFailure("LossBarrier: the grid must hold α = 0 and α = 1")
        }
        let l0 = losses[i0], l1 = losses[i1]
        return zip(alphas, losses).map { a, l in l - ((1 - a) * l0 + a * l1) }.max()!
    }
}
