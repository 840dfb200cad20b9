/// MOTAB's premise, measured (METHODS.md §2): on a student prefix that holds
/// an error, does the teacher's distribution flatten, and can the teacher
/// still finish correctly? Each student rollout with a first wrong step gives
/// one `PremiseRecord`: the teacher's numbers on the student's prefix through
/// that step and on the matched prefix with the reference step instead.
/// `MotabPremiseSummary` bins them by the depth of the first error.

/// What the teacher does on one prefix (entropies in nats).
public struct PremiseMeasure: Equatable, Sendable, Codable {
    /// Mean teacher entropy at the positions of the cut step's tokens,
    /// teacher-forced on the prefix (what a teacher-side trigger sees).
    public var stepEntropy: Double
    /// Mean teacher negative log-likelihood of the cut step's tokens.
    public var stepNLL: Double
    /// Mean teacher entropy over its own greedy next step after the prefix
    /// (to and including the next separator): the "flattening" of the premise.
    public var nextEntropy: Double
    /// Mean teacher entropy over its whole greedy continuation.
    public var continuationEntropy: Double
    /// Whether prefix + the teacher's greedy continuation ends with the right answer.
    public var correct: Bool

    /// Creates a measure.
    public init(stepEntropy: Double, stepNLL: Double, nextEntropy: Double, continuationEntropy: Double, correct: Bool) {
        self.stepEntropy = stepEntropy; self.stepNLL = stepNLL; self.nextEntropy = nextEntropy
        self.continuationEntropy = continuationEntropy; self.correct = correct
    }
}

/// One student rollout with a first error: its depth (0-based step index),
/// the family, and the teacher on the wrong and on the matched correct prefix.
public struct PremiseRecord: Equatable, Sendable, Codable {
    /// The family spec (`chain:4`).
    public var family: String
    /// 0-based index of the first wrong step.
    public var depth: Int
    /// The teacher on the student's prefix through the wrong step.
    public var wrong: PremiseMeasure
    /// The teacher on the same prefix with the reference step.
    public var reference: PremiseMeasure

    /// Creates a record.
    public init(family: String, depth: Int, wrong: PremiseMeasure, reference: PremiseMeasure) {
        self.family = family; self.depth = depth; self.wrong = wrong; self.reference = reference
    }
}

/// Mean and standard error of a sample.
public struct MeanSE: Equatable, Sendable, Codable {
    /// The mean (0 for an empty sample).
    public var mean: Double
    /// The standard error s/√n (0 for fewer than 2 values).
    public var se: Double

    /// Of `xs`.
    public init(_ xs: [Double]) {
        let n = Double(xs.count)
        mean = xs.isEmpty ? 0 : xs.reduce(0, +) / n
        let m = mean
        se = xs.count < 2 ? 0 : (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1) / n).squareRoot()
    }
}

/// The teacher's numbers on one side (wrong or reference) of one depth bin.
public struct PremiseSide: Equatable, Sendable, Codable {
    /// Of `stepEntropy`, `stepNLL`, `nextEntropy`, `continuationEntropy`, and the 0/1 `correct`.
    public var stepEntropy, stepNLL, nextEntropy, continuationEntropy, accuracy: MeanSE

    /// Over `ms`.
    public init(_ ms: [PremiseMeasure]) {
        stepEntropy = MeanSE(ms.map(\.stepEntropy)); stepNLL = MeanSE(ms.map(\.stepNLL))
        nextEntropy = MeanSE(ms.map(\.nextEntropy)); continuationEntropy = MeanSE(ms.map(\.continuationEntropy))
        accuracy = MeanSE(ms.map { $0.correct ? 1 : 0 })
    }
}

/// One row of the premise table: the records whose first error is at `depth`.
public struct PremiseRow: Equatable, Sendable, Codable {
    /// 0-based depth of the first error.
    public var depth: Int
    /// Records in the bin.
    public var count: Int
    /// The teacher on the wrong prefixes, and on the matched correct ones.
    public var wrong, reference: PremiseSide
}

/// Binning premise records by depth.
public enum MotabPremiseSummary {
    /// One row per depth that has records, in depth order (all families together;
    /// filter the records first for one family).
    public static func rows(_ records: [PremiseRecord]) -> [PremiseRow] {
        Dictionary(grouping: records, by: \.depth).keys.sorted().map { d in
            let bin = records.filter { $0.depth == d }
            return PremiseRow(depth: d, count: bin.count, wrong: PremiseSide(bin.map(\.wrong)),
                              reference: PremiseSide(bin.map(\.reference)))
        }
    }

    /// The mean of `xs[range]` (the positions of a span), 0 for an empty range.
    public static func spanMean(_ xs: [Float], _ range: Range<Int>) -> Double {
        let r = range.clamped(to: 0..<xs.count)
        return r.isEmpty ? 0 : xs[r].reduce(0) { $0 + Double($1) } / Double(r.count)
    }
}
