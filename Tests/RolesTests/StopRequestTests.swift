import Foundation
import XCTest
@testable import Roles

/// The decision a signalled job takes at a step boundary (the signals
/// themselves go to real processes in Launch/test-faults.sh, cases 7 and 8).
final class StopRequestTests: XCTestCase {
    func testExitCodesPerSignalAndWhenTheCheckpointIsSkipped() {
        XCTAssertEqual(AgreedStop(signal: SIGUSR1, elapsed: 1, lastSave: 1).exitCode(skipped: false), 75)
        XCTAssertEqual(AgreedStop(signal: SIGTERM, elapsed: 1, lastSave: 1).exitCode(skipped: false), 75)
        XCTAssertEqual(AgreedStop(signal: SIGINT, elapsed: 1, lastSave: 1).exitCode(skipped: false), 130)
        XCTAssertEqual(AgreedStop(signal: SIGINT, elapsed: 1, lastSave: 1).exitCode(skipped: true), 76)
    }

    func testTheStrongestSignalWinsTheAllreduce() {
        // Ranks allreduce the codes with max: SIGINT > SIGTERM > SIGUSR1 > none.
        XCTAssertEqual(AgreedStop.signal(code: [SIGUSR1, SIGINT, SIGTERM].map(AgreedStop.code).max()!), SIGINT)
        XCTAssertEqual(AgreedStop.signal(code: [SIGUSR1, 0, SIGTERM].map(AgreedStop.code).max()!), SIGTERM)
        XCTAssertEqual(AgreedStop.code(0), 0)
    }

    func testTheCheckpointIsSkippedOnlyWhenItWouldEndPastTheGrace() {
        XCTAssertNil(AgreedStop(signal: SIGTERM, elapsed: 100, lastSave: 19).overrun(grace: 120))
        let why = AgreedStop(signal: SIGTERM, elapsed: 100, lastSave: 30).overrun(grace: 120)
        XCTAssertNotNil(why)
        XCTAssertTrue(why?.contains("100.0 s after SIGTERM") ?? false, why ?? "")
        XCTAssertTrue(why?.contains("trainer.signal_grace_s=120") ?? false, why ?? "")
    }

    func testATestStopCountsAsSIGUSR1AndClears() {
        StopRequest.set(true)
        XCTAssertTrue(StopRequest.isRequested)
        XCTAssertEqual(StopRequest.signal, SIGUSR1)
        XCTAssertLessThan(StopRequest.secondsSinceSignal, 5)
        StopRequest.set(false)
        XCTAssertFalse(StopRequest.isRequested)
        XCTAssertEqual(StopRequest.secondsSinceSignal, 0)
    }
}
