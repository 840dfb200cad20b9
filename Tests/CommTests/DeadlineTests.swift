import XCTest
@testable import Comm

/// The deadline value and the message printed when one expires (the expiry
/// itself runs on real MPI processes in Launch/test-faults.sh, case 5).
final class DeadlineTests: XCTestCase {
    func testZeroOrNegativeBudgetMeansNoDeadline() {
        XCTAssertNil(Deadline(phase: "step 1", seconds: 0, key: "trainer.step_timeout_s"))
        XCTAssertNil(Deadline(phase: "step 1", seconds: -3, key: "trainer.step_timeout_s"))
        XCTAssertNil(Deadline(phase: "step 1", seconds: .infinity, key: "trainer.step_timeout_s"))
    }

    func testADeadlineExpiresAfterItsBudgetAndNotBefore() throws {
        let d = try XCTUnwrap(Deadline(phase: "step 2", seconds: 0.05, key: "trainer.step_timeout_s"))
        XCTAssertFalse(d.isExpired)
        Thread.sleep(forTimeInterval: 0.08)
        XCTAssertTrue(d.isExpired)
        XCTAssertEqual(d.description, "step 2 (trainer.step_timeout_s=0.05)")
        let long = try XCTUnwrap(Deadline(phase: "step 3", seconds: 1800, key: "trainer.step_timeout_s"))
        XCTAssertEqual(long.expiresAt - Deadline.now(), 1800, accuracy: 1)
    }

    func testReportNamesTheSilentRanksWithTheirHostsAndWhereTheOthersWait() throws {
        let d = try XCTUnwrap(Deadline(phase: "step 7", seconds: 10, key: "trainer.step_timeout_s"))
        let report = DeadlineReport(deadline: d, responders: [0: "MPI_Ibcast", 1: "MPI_Iallgather"],
                                    hosts: ["node-a", "node-a", "node-b", "node-b"])
        XCTAssertEqual(report.silent, [2, 3])
        let m = report.message
        for fragment in ["step 7", "within 10 s", "trainer.step_timeout_s=10",
                         "no answer from rank 2 (host node-b), rank 3 (host node-b)",
                         "rank 0 (host node-a) in MPI_Ibcast, rank 1 (host node-a) in MPI_Iallgather",
                         "last complete checkpoint", "raise trainer.step_timeout_s"] {
            XCTAssertTrue(m.contains(fragment), "missing «\(fragment)» in \(m)")
        }
    }

    func testLoopbackIgnoresDeadlines() throws {
        // An already expired deadline must not disturb the in-process world.
        try LoopbackWorld.run(size: 2) { comm in
            comm.setDeadline(Deadline(phase: "step 1", seconds: 1e-9, key: "trainer.step_timeout_s"))
            Thread.sleep(forTimeInterval: 0.01)
            XCTAssertEqual(try comm.allreduceSum([1.0])[0], 2)
        }
    }
}
