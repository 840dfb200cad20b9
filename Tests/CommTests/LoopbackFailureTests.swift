import XCTest
@testable import Comm

/// A rank that fails or leaves early must never leave the others hanging.
final class LoopbackFailureTests: XCTestCase {
    func testFailingRankEndsPendingCollectivesOnOthers() throws {
        for n in 2...4 {
            let failing = n - 1
            let otherErrors = PerRank<String>(n)
            let start = Date()
            XCTAssertThrowsError(try LoopbackWorld.run(size: n) { comm in
                if comm.rank == failing {
                    Thread.sleep(forTimeInterval: 0.05)
                    throw InjectedFailure(rank: comm.rank)
                }
                var buffer = [Float](repeating: 1, count: 1000)
                do {
                    while true { try buffer.withUnsafeMutableBufferPointer { try comm.allreduceSum($0) } }
                } catch {
                    otherErrors.set(comm.rank, String(describing: error))
                    throw error
                }
            }) { error in
                // run rethrows the root cause, not the errors it caused on the other ranks.
                XCTAssertEqual((error as? InjectedFailure)?.rank, failing)
            }
            XCTAssertLessThan(Date().timeIntervalSince(start), 5)
            for r in 0..<failing {
                XCTAssertEqual(otherErrors.values[r], "allreduceSum(Float) failed: rank \(failing) failed: injected failure on rank \(failing)")
            }
        }
    }

    func testFailureWakesReceiversAndSubWorlds() throws {
        let start = Date()
        XCTAssertThrowsError(try LoopbackWorld.run(size: 3) { comm in
            let sub = try comm.split(color: comm.rank == 2 ? 1 : 0, key: 0)
            switch comm.rank {
            case 0: _ = try comm.receive(from: 2, tag: 1)       // never sent
            case 1: try sub?.barrier(); try sub?.barrier()       // rank 0 never joins the second barrier
            default:
                Thread.sleep(forTimeInterval: 0.05)
                throw InjectedFailure(rank: 2)
            }
        }) { XCTAssertTrue($0 is InjectedFailure) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    func testRankThatReturnsEarlyIsReportedInsteadOfAwaited() throws {
        let start = Date()
        XCTAssertThrowsError(try LoopbackWorld.run(size: 2) { comm in
            if comm.rank == 1 { return }
            try comm.barrier()
        }) { error in
            XCTAssertTrue(String(describing: error).contains("rank 1 returned without joining barrier"), "\(error)")
        }
        XCTAssertThrowsError(try LoopbackWorld.run(size: 2) { comm in
            if comm.rank == 1 { return }
            _ = try comm.receive(from: 1, tag: nil)
        }) { error in
            XCTAssertTrue(String(describing: error).contains("rank 1 has returned"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    func testMismatchedCollectivesAreReported() throws {
        XCTAssertThrowsError(try LoopbackWorld.run(size: 2) { comm in
            if comm.rank == 0 { try comm.barrier() } else { _ = try comm.allgatherBytes([1]) }
        }) { error in
            XCTAssertTrue(String(describing: error).contains("every rank must call the same collectives"), "\(error)")
        }
    }

    func testMismatchedLengthsThrow() throws {
        XCTAssertThrowsError(try LoopbackWorld.run(size: 2) { comm in
            var values = [Float](repeating: 0, count: 3 + comm.rank)
            try values.withUnsafeMutableBufferPointer { try comm.allreduceSum($0) }
        }) { error in
            XCTAssertTrue(String(describing: error).contains("different lengths"), "\(error)")
        }
    }

    func testWorldIsUsableWithoutRunHelper() throws {
        let world = LoopbackWorld(size: 2)
        let a = world.communicator(rank: 0), b = world.communicator(rank: 1)
        let result = PerRank<[Double]>(2)
        let other = Thread {
            if let r = try? b.allreduceSum([2]) { result.set(1, r) }
            world.markFinished(rank: 1)
        }
        other.start()
        result.set(0, try a.allreduceSum([1]))
        world.markFinished(rank: 0)
        while result.values[1] == nil { Thread.sleep(forTimeInterval: 0.001) }
        XCTAssertEqual(result.values.compactMap { $0 }, [[3], [3]])
    }
}
