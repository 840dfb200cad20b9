import Foundation

/// MOTAB's monitor settings (METHODS.md §2, all [ours]; `distillation.*` keys).
public struct EntropyMonitorSettings: Equatable, Sendable {
    /// w, student tokens in the windowed entropy Ĥ_t (`distillation.window`).
    public var window: Int
    /// d, decay of the EMA of accepted-token entropies (`distillation.ema_decay`).
    public var emaDecay: Double
    /// k, the boundary is τ = μ + k·σ (`distillation.k`).
    public var k: Double
    /// m, consecutive violating tokens that make a stray (`distillation.consecutive`).
    public var consecutive: Int
    /// Accepted tokens the EMA must have seen before any token can violate;
    /// nil means `window` (warm-up: the boundary of a handful of tokens is noise).
    public var warmupTokens: Int?
    /// A fixed boundary: accepted tokens do not enter the statistics, so τ stays
    /// the prior's for the whole rollout (`distillation.boundary` `family` /
    /// `global`, whose statistics are updated between rollouts instead).
    public var frozen = false

    /// Defaults are METHODS.md's: w 16, d 0.99, k 2, m 4, warm-up w.
    public init(window: Int = 16, emaDecay: Double = 0.99, k: Double = 2, consecutive: Int = 4, warmupTokens: Int? = nil) {
        precondition(window >= 1, "EntropyMonitor: window must be ≥ 1, found \(window)")
        precondition(emaDecay >= 0 && emaDecay < 1, "EntropyMonitor: ema decay must be in [0, 1), found \(emaDecay)")
        precondition(consecutive >= 1, "EntropyMonitor: consecutive must be ≥ 1, found \(consecutive)")
        self.window = window; self.emaDecay = emaDecay; self.k = k; self.consecutive = consecutive
        self.warmupTokens = warmupTokens
    }

    /// Accepted tokens needed before the boundary is used.
    public var warmup: Int { warmupTokens ?? window }
}

/// Exponentially weighted mean and variance (West's incremental form):
/// the first value sets μ = x, σ² = 0; then with δ = x − μ:
///
///     μ ← μ + (1 − d)·δ,   σ² ← d·(σ² + (1 − d)·δ²)
public struct EntropyStatistics: Equatable, Sendable {
    /// μ, the EMA of accepted entropies (nats).
    public private(set) var mean = 0.0
    /// σ², the EMA of their variance.
    public private(set) var variance = 0.0
    /// Accepted tokens folded in so far.
    public private(set) var count = 0

    /// No tokens seen.
    public init() {}

    /// Folds in one accepted entropy.
    public mutating func add(_ x: Double, decay d: Double) {
        if count == 0 {
            mean = x; variance = 0
        } else {
            let delta = x - mean
            mean += (1 - d) * delta
            variance = d * (variance + (1 - d) * delta * delta)
        }
        count += 1
    }

    /// τ = μ + k·σ.
    public func boundary(k: Double) -> Double { mean + k * variance.squareRoot() }
}

/// MOTAB's stray detector, one per sequence and signal, fed an entropy H_t
/// for each student token in order: the student's sampling entropy, or (the
/// teacher-side trigger, `distillation.trigger`) the teacher's entropy at that
/// position on the student's prefix. The rules are the same for both.
///
/// - Windowed entropy: Ĥ_t = mean of H over the last min(w, n) student tokens
///   since the window started (rollout start, or `restartWindow()` after a
///   teacher intervention: teacher tokens are not in the window).
/// - Boundary: τ = μ + k·σ of `EntropyStatistics` over *accepted* tokens,
///   computed before token t is added.
/// - Warm-up: until the statistics hold `settings.warmup` accepted tokens,
///   no token violates (each is accepted at once).
/// - Violation: Ĥ_t > τ. A violating token is held back from the statistics
///   (so a stray cannot raise its own boundary); m consecutive violations make
///   a stray. A run that ends before m (a tolerated minor error) is accepted:
///   its tokens enter the statistics, in order, before the token that ended it.
/// - The monitor is a value: MOTAB keeps a copy at each step boundary and
///   restores it when it backtracks there, so the statistics hold exactly
///   the tokens that stay in the trajectory.
public struct EntropyMonitor: Equatable, Sendable {
    /// What one token did to the monitor.
    public enum Verdict: Equatable, Sendable {
        /// Within the boundary (or during warm-up); the token is accepted.
        case accepted
        /// Ĥ_t > τ, the `run`-th violation in a row (run < m).
        case violation(run: Int)
        /// The m-th consecutive violation: the last `run` tokens (= m) form the stray.
        case stray(run: Int)
    }

    /// The settings.
    public let settings: EntropyMonitorSettings
    /// Statistics of accepted tokens.
    public private(set) var statistics: EntropyStatistics
    /// Entropies in the current window (at most w, oldest first).
    public private(set) var recent: [Double] = []
    /// Entropies of the current violating run, not yet in the statistics.
    public private(set) var pending: [Double] = []

    /// A fresh monitor; `prior` carries statistics over (e.g. from earlier rollouts).
    public init(settings: EntropyMonitorSettings, prior: EntropyStatistics = EntropyStatistics()) {
        self.settings = settings; statistics = prior
    }

    /// Ĥ of the current window (0 when empty).
    public var windowedEntropy: Double { recent.isEmpty ? 0 : recent.reduce(0, +) / Double(recent.count) }

    /// τ now, or nil during warm-up.
    public var boundary: Double? {
        statistics.count >= settings.warmup ? statistics.boundary(k: settings.k) : nil
    }

    /// Feeds the entropy of the next student token.
    public mutating func observe(_ entropy: Double) -> Verdict {
        recent.append(entropy)
        if recent.count > settings.window { recent.removeFirst(recent.count - settings.window) }
        let d = settings.emaDecay
        guard let tau = boundary, windowedEntropy > tau else {
            if !settings.frozen {
                for x in pending { statistics.add(x, decay: d) }
                statistics.add(entropy, decay: d)
            }
            pending = []
            return .accepted
        }
        pending.append(entropy)
        return pending.count >= settings.consecutive ? .stray(run: pending.count) : .violation(run: pending.count)
    }

    /// Starts a new window after a teacher intervention: tokens of an unfinished
    /// violating run that stay in the trajectory are accepted, the window and
    /// the run are cleared, the statistics kept.
    public mutating func restartWindow() {
        if !settings.frozen { for x in pending { statistics.add(x, decay: settings.emaDecay) } }
        pending = []; recent = []
    }
}
