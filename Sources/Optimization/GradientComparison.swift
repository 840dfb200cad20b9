/// How two gradients relate: T3S's diagnostic of anchor-token gradients vs the
/// rest ([sec]: norm ≈ 17× the others, cosine ≈ −0.4).
public struct GradientComparison: Equatable, Sendable {
    /// ‖a‖.
    public let normA: Double
    /// ‖b‖.
    public let normB: Double
    /// a·b / (‖a‖‖b‖); 0 when either norm is 0.
    public let cosine: Double

    /// ‖a‖ / ‖b‖; +∞ when b is 0 and a is not, 0 when both are 0.
    public var normRatio: Double { normB > 0 ? normA / normB : (normA > 0 ? .infinity : 0) }

    /// Compares two gradient vectors of the same length (n), in Double.
    public init(_ a: [Float], _ b: [Float]) {
        precondition(a.count == b.count, "GradientComparison: vectors of \(a.count) and \(b.count) floats")
        var aa = 0.0, bb = 0.0, ab = 0.0
        for i in a.indices {
            let x = Double(a[i]), y = Double(b[i])
            aa += x * x; bb += y * y; ab += x * y
        }
        normA = aa.squareRoot(); normB = bb.squareRoot()
        cosine = normA > 0 && normB > 0 ? ab / (normA * normB) : 0
    }
}
