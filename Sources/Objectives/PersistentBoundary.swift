/// Entropy statistics that outlive a rollout (`distillation.boundary` `family`
/// or `global`, issue #18): a boundary relative to each rollout fires at the
/// same rate whatever the student's quality; one made of many rollouts' kept
/// student tokens fires less as the student's entropy falls.
///
/// One `EntropyStatistics` per key (a prompt family, or one key for all).
/// A rollout's monitor starts from its key's statistics with the boundary
/// frozen (`EntropyMonitorSettings.frozen`); after the rollout, its kept
/// student-token entropies are folded in, in order, with `decay`.
public struct PersistentBoundary: Equatable, Sendable {
    /// Decay per folded token.
    public let decay: Double
    /// The statistics by key.
    public private(set) var statistics: [String: EntropyStatistics] = [:]

    /// Empty statistics folding with `decay` in [0, 1).
    public init(decay: Double) {
        precondition(decay >= 0 && decay < 1, "PersistentBoundary: decay must be in [0, 1), found \(decay)")
        self.decay = decay
    }

    /// The statistics a rollout under `key` starts from (empty for a new key).
    public func prior(_ key: String) -> EntropyStatistics { statistics[key] ?? EntropyStatistics() }

    /// Folds a finished rollout's kept student-token entropies into `key`'s statistics.
    public mutating func fold(_ entropies: [Double], key: String) {
        var s = prior(key)
        for x in entropies { s.add(x, decay: decay) }
        statistics[key] = s
    }
}
