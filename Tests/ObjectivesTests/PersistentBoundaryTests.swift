import Objectives
import XCTest

/// `distillation.boundary` family/global: statistics that outlive a rollout,
/// and a monitor whose boundary stays the prior's during a rollout.
final class PersistentBoundaryTests: XCTestCase {
    func testFoldKeepsStatisticsPerKeyAcrossRollouts() {
        var b = PersistentBoundary(decay: 0.5)
        XCTAssertEqual(b.prior("chain:4").count, 0)
        b.fold([1, 3], key: "chain:4")
        // μ: 1, then 1 + 0.5·2 = 2; σ²: 0, then 0.5·(0 + 0.5·4) = 1.
        XCTAssertEqual(b.prior("chain:4").mean, 2, accuracy: 1e-12)
        XCTAssertEqual(b.prior("chain:4").variance, 1, accuracy: 1e-12)
        b.fold([2], key: "chain:4")  // a later rollout continues the same statistics
        XCTAssertEqual(b.prior("chain:4").count, 3)
        XCTAssertEqual(b.prior("chain:4").mean, 2, accuracy: 1e-12)
        XCTAssertEqual(b.prior("chain:6").count, 0, "another family has its own statistics")
    }

    func testFrozenMonitorFiresAgainstThePriorAndNeverMovesIt() {
        var prior = EntropyStatistics()
        for x in [1.0, 1.2, 0.8, 1.0, 1.1, 0.9] { prior.add(x, decay: 0.9) }
        var settings = EntropyMonitorSettings(window: 1, emaDecay: 0.9, k: 2, consecutive: 2, warmupTokens: 4)
        settings.frozen = true
        var frozen = EntropyMonitor(settings: settings, prior: prior)
        settings.frozen = false
        var live = EntropyMonitor(settings: settings, prior: prior)
        let tau = prior.boundary(k: 2)
        // Accepted tokens below τ: the live statistics move, the frozen ones do not.
        for x in [0.5, 0.6, 0.5] {
            XCTAssertEqual(frozen.observe(x), .accepted)
            XCTAssertEqual(live.observe(x), .accepted)
        }
        XCTAssertEqual(frozen.statistics, prior)
        XCTAssertNotEqual(live.statistics, prior)
        XCTAssertEqual(frozen.boundary!, tau, accuracy: 1e-12)
        // Two tokens above the prior's τ make a stray; after it the statistics are still the prior's.
        XCTAssertEqual(frozen.observe(tau + 0.01), .violation(run: 1))
        XCTAssertEqual(frozen.observe(tau + 0.01), .stray(run: 2))
        frozen.restartWindow()
        XCTAssertEqual(frozen.statistics, prior)
    }
}
