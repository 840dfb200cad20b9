import Comm
import Foundation
import XCTest
@testable import Roles

/// `<run>/run.lock`: one job per run directory. Holders are real processes
/// (this one, a finished child, a live child); the two-job case on real MPI
/// runs in Launch/test-faults.sh (case 6).
final class RunLockTests: XCTestCase {
    private func tempDir() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("runlock-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    private func write(_ holder: RunLockHolder, in dir: String) throws {
        try JSONEncoder().encode(holder).write(to: URL(fileURLWithPath: dir + "/run.lock"))
    }

    /// A child process run to its end: its pid is dead.
    private func deadPid() throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    func testTakeWritesTheHolderAndReleaseRemovesIt() throws {
        let dir = try tempDir()
        let lock = try RunLock.take(runDirectory: dir)
        let holder = try JSONDecoder().decode(RunLockHolder.self, from: Data(contentsOf: URL(fileURLWithPath: lock.path)))
        XCTAssertEqual(holder.pid, getpid())
        XCTAssertEqual(holder.host, RunLockHolder.current().host)
        lock.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/run.lock"))
    }

    func testALiveHolderOnAnotherHostIsRefusedByName() throws {
        let dir = try tempDir()
        let other = RunLockHolder(host: "node-z", pid: 4242, slurmJobId: nil, started: "2026-01-01T00:00:00Z")
        try write(other, in: dir)
        XCTAssertThrowsError(try RunLock.take(runDirectory: dir)) { error in
            let m = "\(error)"
            for f in ["in use by another job", "host node-z, pid 4242, started 2026-01-01T00:00:00Z", "delete \(dir)/run.lock"] {
                XCTAssertTrue(m.contains(f), "missing «\(f)» in \(m)")
            }
        }
        // The holder's lock is untouched.
        let kept = try JSONDecoder().decode(RunLockHolder.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/run.lock")))
        XCTAssertEqual(kept, other)
    }

    func testADeadPidOnThisHostIsTakenOver() throws {
        let dir = try tempDir()
        let me = RunLockHolder.current()
        let dead = try deadPid()
        try write(RunLockHolder(host: me.host, pid: dead, slurmJobId: nil, started: "x"), in: dir)
        XCTAssertEqual(RunLock.staleness(RunLockHolder(host: me.host, pid: dead, slurmJobId: nil, started: "x"), me: me),
                       "no process \(dead) on this host")
        let lock = try RunLock.take(runDirectory: dir)
        let holder = try JSONDecoder().decode(RunLockHolder.self, from: Data(contentsOf: URL(fileURLWithPath: lock.path)))
        XCTAssertEqual(holder.pid, getpid())
    }

    func testAPidReusedByAnotherProgramIsStaleButAnIspoClusterOneIsNot() throws {
        let me = RunLockHolder.current()
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        defer { sleeper.terminate() }
        let holder = RunLockHolder(host: me.host, pid: sleeper.processIdentifier, slurmJobId: nil, started: "x")
        XCTAssertEqual(RunLock.staleness(holder, me: me), "process \(sleeper.processIdentifier) is not ispo-cluster")
        // Another host cannot be checked without Slurm: not stale.
        XCTAssertNil(RunLock.staleness(RunLockHolder(host: "node-z", pid: 1, slurmJobId: nil, started: "x"), me: me))
    }

    func testEveryRankLearnsTheRefusal() throws {
        let dir = try tempDir()
        try write(RunLockHolder(host: "node-z", pid: 7, slurmJobId: nil, started: "s"), in: dir)
        let errors = LockedList()
        try LoopbackWorld.run(size: 3) { comm in
            do { _ = try RunLock.acquire(world: comm, leader: 1, runDirectory: dir) } catch { errors.append("\(error)") }
        }
        XCTAssertEqual(errors.items.count, 3)
        XCTAssertEqual(Set(errors.items).count, 1, "every rank throws the leader's message")
        XCTAssertTrue(errors.items.first?.contains("host node-z, pid 7, started s") ?? false, errors.items.first ?? "")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/run.lock"), "the holder's lock stays")
    }
}

/// Strings appended from several threads.
final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
