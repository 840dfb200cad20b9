import Objectives
import XCTest

/// MOTAB's entropy monitor against hand-computed values: the EMA recursion,
/// the windowed entropy, warm-up, violations, strays, tolerated runs and the
/// window restart.
final class EntropyMonitorTests: XCTestCase {
    /// The values are sums of a few dyadic numbers; only sqrt rounds.
    static let tolerance = 1e-12

    func testEMARecursionByHand() {
        var s = EntropyStatistics()
        s.add(1, decay: 0.5)
        XCTAssertEqual(s.mean, 1); XCTAssertEqual(s.variance, 0); XCTAssertEqual(s.count, 1)
        // δ = 2: μ = 1 + 0.5·2 = 2, σ² = 0.5·(0 + 0.5·4) = 1.
        s.add(3, decay: 0.5)
        XCTAssertEqual(s.mean, 2); XCTAssertEqual(s.variance, 1)
        // δ = 0: μ = 2, σ² = 0.5·1 = 0.5; τ(k=2) = 2 + 2·√0.5.
        s.add(2, decay: 0.5)
        XCTAssertEqual(s.mean, 2); XCTAssertEqual(s.variance, 0.5)
        XCTAssertEqual(s.boundary(k: 2), 2 + 2 * 0.5.squareRoot(), accuracy: Self.tolerance)
    }

    /// w = 2, d = 0.5, k = 1, m = 2, warm-up 2: the first two tokens are
    /// accepted whatever they are (μ = 2, σ = 1, τ = 3); Ĥ = (3+5)/2 = 4 > 3
    /// violates, Ĥ = (5+5)/2 = 5 > 3 makes the stray; τ stays 3 throughout
    /// because violating tokens are held back.
    func testStrayAfterWarmUp() {
        var m = EntropyMonitor(settings: EntropyMonitorSettings(window: 2, emaDecay: 0.5, k: 1, consecutive: 2))
        XCTAssertNil(m.boundary)
        XCTAssertEqual(m.observe(1), .accepted)
        XCTAssertNil(m.boundary, "warm-up: one accepted token of the two needed")
        XCTAssertEqual(m.observe(3), .accepted)
        XCTAssertEqual(m.boundary!, 3, accuracy: Self.tolerance)
        XCTAssertEqual(m.observe(5), .violation(run: 1))
        XCTAssertEqual(m.windowedEntropy, 4)
        XCTAssertEqual(m.pending, [5])
        XCTAssertEqual(m.boundary!, 3, accuracy: Self.tolerance, "violations do not move τ")
        XCTAssertEqual(m.observe(5), .stray(run: 2))
        XCTAssertEqual(m.statistics.count, 2)
    }

    /// A run shorter than m is tolerated: when the next window is back inside
    /// (Ĥ = (5+0)/2 = 2.5 ≤ 3) the held-back 5 and then the 0 enter the EMA:
    /// 5 → μ 3.5, σ² 0.5·(1 + 0.5·9) = 2.75; 0 → μ 1.75, σ² 0.5·(2.75 + 0.5·12.25) = 4.4375.
    func testToleratedRunIsAcceptedInOrder() {
        var m = EntropyMonitor(settings: EntropyMonitorSettings(window: 2, emaDecay: 0.5, k: 1, consecutive: 2))
        _ = m.observe(1); _ = m.observe(3)
        XCTAssertEqual(m.observe(5), .violation(run: 1))
        XCTAssertEqual(m.observe(0), .accepted)
        XCTAssertEqual(m.statistics.count, 4)
        XCTAssertEqual(m.statistics.mean, 1.75, accuracy: Self.tolerance)
        XCTAssertEqual(m.statistics.variance, 4.4375, accuracy: Self.tolerance)
        XCTAssertTrue(m.pending.isEmpty)
    }

    /// During warm-up nothing violates, however high; the default warm-up is w.
    func testWarmUpNeverTriggers() {
        let settings = EntropyMonitorSettings(window: 3, emaDecay: 0.9, k: 0, consecutive: 1)
        XCTAssertEqual(settings.warmup, 3)
        var m = EntropyMonitor(settings: settings)
        XCTAssertEqual(m.observe(0), .accepted)
        XCTAssertEqual(m.observe(100), .accepted)
        XCTAssertEqual(m.observe(1000), .accepted)
        // Now μ = 0.9·… and Ĥ is the mean of the last 3 tokens (window w = 3).
        XCTAssertNotNil(m.boundary)
        XCTAssertEqual(m.observe(10_000), .stray(run: 1))
        XCTAssertEqual(m.windowedEntropy, (100 + 1000 + 10_000) / 3, accuracy: 1e-9)
    }

    /// A prior carries statistics over, so the warm-up is already done.
    func testPriorSkipsWarmUp() {
        var prior = EntropyStatistics()
        for x in [1.0, 1.0, 1.0, 1.0] { prior.add(x, decay: 0.5) }
        var m = EntropyMonitor(settings: EntropyMonitorSettings(window: 4, emaDecay: 0.5, k: 2, consecutive: 1), prior: prior)
        XCTAssertEqual(m.boundary, 1)
        XCTAssertEqual(m.observe(1.5), .stray(run: 1))
    }

    /// After an intervention: held-back tokens that stay in the trajectory are
    /// accepted, the window and run are cleared, the statistics kept.
    func testRestartWindow() {
        var m = EntropyMonitor(settings: EntropyMonitorSettings(window: 2, emaDecay: 0.5, k: 1, consecutive: 3))
        _ = m.observe(1); _ = m.observe(3)
        XCTAssertEqual(m.observe(7), .violation(run: 1))
        m.restartWindow()
        XCTAssertTrue(m.recent.isEmpty); XCTAssertTrue(m.pending.isEmpty)
        XCTAssertEqual(m.statistics.count, 3)
        // 7 entered: δ = 5, μ = 4.5, σ² = 0.5·(1 + 0.5·25) = 6.75.
        XCTAssertEqual(m.statistics.mean, 4.5); XCTAssertEqual(m.statistics.variance, 6.75)
        // The new window holds one token: Ĥ = 2.
        XCTAssertEqual(m.observe(2), .accepted)
        XCTAssertEqual(m.windowedEntropy, 2)
    }
}
