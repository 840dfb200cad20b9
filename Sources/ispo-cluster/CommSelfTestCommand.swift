import ArgumentParser
import Comm
import Foundation

/// `ispo-cluster selftest-comm`: exercises every collective over real MPI
/// ranks (run under mpirun by Launch/test-mpi.sh). Every rank checks its results
/// against closed-form expectations and prints `selftest-comm rank R/S: N checks passed`.
///
/// With `--die-rank R --die-after-seconds S`, rank R SIGKILLs itself after S seconds while
/// every rank sits in an allreduce loop: the launcher must then end the job (non-zero)
/// instead of leaving the survivors hanging.
struct CommSelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "selftest-comm", abstract: "Check MPI collectives across ranks.",
                                                    shouldDisplay: false)

    @Option(help: .hidden) var dieRank: Int?
    @Option(help: .hidden) var dieAfterSeconds: Double = 3
    /// Rank whose allreduce input is off by one: proves mismatches are caught and fail the job.
    @Option(help: .hidden) var corruptRank: Int?

    func run() throws {
        try MPIRuntime.initialize()
        let world = try MPICommunicator.world()
        var checks = SelfTestChecks(rank: world.rank, corrupt: corruptRank == world.rank)
        var failuresAnywhere = 0.0
        do {
            if let dieRank { try deadRankScenario(world, dieRank: dieRank) }
            try checks.runAll(world)
            failuresAnywhere = try world.allreduceMax([Double(checks.failures.count)])[0]
        } catch {
            // An MPI error leaves the other ranks inside collectives: end the whole job.
            FileHandle.standardError.write(Data("selftest-comm rank \(world.rank)/\(world.size): \(error)\n".utf8))
            world.abort(code: 3)
        }
        for failure in checks.failures { print("selftest-comm rank \(world.rank)/\(world.size): MISMATCH \(failure)") }
        if checks.failures.isEmpty {
            let note = failuresAnywhere > 0 ? " (other ranks reported mismatches)" : ""
            print("selftest-comm rank \(world.rank)/\(world.size): \(checks.passed) checks passed\(note)")
        }
        fflush(stdout)
        try MPIRuntime.finalize()
        if !checks.failures.isEmpty {
            throw CommError(call: "selftest-comm", message: "\(checks.failures.count) of \(checks.passed + checks.failures.count) checks failed on rank \(world.rank)")
        }
    }

    /// Every rank loops in allreduce; `dieRank` kills itself with SIGKILL after the delay.
    private func deadRankScenario(_ world: MPICommunicator, dieRank: Int) throws -> Never {
        guard (0..<world.size).contains(dieRank) else {
            throw CommError(call: "selftest-comm", message: "--die-rank \(dieRank) is not a rank of this \(world.size)-rank job")
        }
        if world.rank == dieRank {
            let delay = dieAfterSeconds
            let killer = Thread {
                Thread.sleep(forTimeInterval: delay)
                print("selftest-comm rank \(dieRank)/\(world.size): sending SIGKILL to myself now")
                fflush(stdout)
                kill(getpid(), SIGKILL)
            }
            killer.start()
        }
        print("selftest-comm rank \(world.rank)/\(world.size): allreduce loop; rank \(dieRank) dies in \(dieAfterSeconds) s")
        fflush(stdout)
        var buffer = [Float](repeating: 0, count: 1 << 16)
        let deadline = Date().addingTimeInterval(max(300, 10 * dieAfterSeconds))
        var iterations = 0
        while Date() < deadline {
            try buffer.withUnsafeMutableBufferPointer { try world.allreduceSum($0) }
            iterations += 1
        }
        throw CommError(call: "selftest-comm", message: "still running after \(iterations) allreduces: the dead rank did not end the job")
    }
}

/// The checks of `selftest-comm`: rank-dependent inputs, closed-form expected results.
struct SelfTestChecks {
    let rank: Int
    /// Adds 1 to this rank's allreduce contribution (the fault injection of `--corrupt-rank`).
    let corrupt: Bool
    private(set) var passed = 0
    private(set) var failures: [String] = []

    init(rank: Int, corrupt: Bool = false) {
        self.rank = rank
        self.corrupt = corrupt
    }

    mutating func expect(_ ok: Bool, _ what: @autoclosure () -> String) {
        if ok { passed += 1 } else { failures.append(what()) }
    }

    mutating func expectEqual<T: Equatable>(_ found: [T], _ expected: [T], _ what: String) {
        guard found != expected else { passed += 1; return }
        if found.count != expected.count {
            failures.append("\(what): \(found.count) elements, expected \(expected.count)")
        } else if let i = found.indices.first(where: { found[$0] != expected[$0] }) {
            failures.append("\(what): element \(i) is \(found[i]), expected \(expected[i])")
        }
    }

    /// Small layouts (uneven, equal, with empty segments) and one > 1M floats.
    static func layouts(size s: Int) -> [(name: String, counts: [Int])] {
        [("uneven", shardCounts(total: 10 * s + 3, parts: s)),
         ("equal", Array(repeating: 5, count: s)),
         ("empty-segments", (0..<s).map { $0 % 2 == 0 ? 0 : 2 * $0 + 1 }),
         ("big", shardCounts(total: (1 << 20) + 3, parts: s))]
    }

    mutating func runAll(_ world: MPICommunicator) throws {
        let defaultLimit = world.maxElementsPerCall
        try world.barrier()
        try world.barrier()
        expect(true, "barrier")
        // Each collective with the default limit, then with small limits that force the
        // chunked / staged-round code paths (the same limit on every rank).
        for limit in [defaultLimit, 100_003, 17] {
            world.maxElementsPerCall = limit
            let tag = "limit \(limit)"
            try checkBroadcast(world, big: limit != 17, tag)
            try checkAllreduce(world, big: limit != 17, tag)
            for (name, counts) in Self.layouts(size: world.size) where name != "big" || limit != 17 {
                try checkReduceScatter(world, counts: counts, "\(tag) \(name)")
                try checkAllgather(world, counts: counts, "\(tag) \(name)")
            }
            try checkBytes(world, tag)
            try checkPointToPoint(world, payload: limit == 17 ? 1000 : 250_000, tag)
        }
        world.maxElementsPerCall = defaultLimit
        try checkSplit(world)
    }

    mutating func checkBroadcast(_ world: MPICommunicator, big: Bool, _ tag: String) throws {
        let r = world.rank, s = world.size
        for root in s == 1 ? [0] : [0, s - 1] {  // same order on every rank (a Set's order is per-process)
            for n in big ? [1001, (1 << 20) + 3] : [1001] {
                var values = (0..<n).map { r == root ? Float(root * 7 + $0 % 97) : -1 }
                try values.withUnsafeMutableBufferPointer { try world.broadcast($0, root: root) }
                expectEqual(values, (0..<n).map { Float(root * 7 + $0 % 97) }, "broadcast n=\(n) root \(root) \(tag)")
            }
        }
    }

    mutating func checkAllreduce(_ world: MPICommunicator, big: Bool, _ tag: String) throws {
        let r = world.rank, s = world.size
        var small = (0..<1000).map { Float((r + 1) * ($0 % 7 + 1) + (corrupt ? 1 : 0)) }
        try small.withUnsafeMutableBufferPointer { try world.allreduceSum($0) }
        expectEqual(small, (0..<1000).map { Float(s * (s + 1) / 2 * ($0 % 7 + 1)) }, "allreduceSum(Float) \(tag)")
        if big {
            let n = (1 << 20) + 3
            var values = (0..<n).map { Float(($0 + r) % 1024) }
            try values.withUnsafeMutableBufferPointer { try world.allreduceSum($0) }
            let expected = (0..<n).map { i in Float((0..<s).reduce(0) { $0 + (i + $1) % 1024 }) }
            expectEqual(values, expected, "allreduceSum(Float) n=\(n) \(tag)")
        }
        expectEqual(try world.allreduceSum([Double(r), 1, 0.5 * Double(r)]),
                    [Double(s * (s - 1) / 2), Double(s), 0.25 * Double(s * (s - 1))], "allreduceSum(Double) \(tag)")
        expectEqual(try world.allreduceMax([Double(r), -Double(r), 2.5]), [Double(s - 1), 0, 2.5], "allreduceMax(Double) \(tag)")
    }

    mutating func checkReduceScatter(_ world: MPICommunicator, counts: [Int], _ tag: String) throws {
        let r = world.rank, s = world.size
        let offsets = shardOffsets(counts: counts), total = counts.reduce(0, +)
        var values = (0..<total).map { Float((r + 1) * ($0 % 13 + 1)) }
        try values.withUnsafeMutableBufferPointer { try world.reduceScatterSum($0, counts: counts) }
        let mine = offsets[r]..<offsets[r] + counts[r]
        expectEqual(Array(values[mine]), mine.map { Float(s * (s + 1) / 2 * ($0 % 13 + 1)) }, "reduceScatterSum \(tag) counts \(counts)")
    }

    mutating func checkAllgather(_ world: MPICommunicator, counts: [Int], _ tag: String) throws {
        let r = world.rank
        let offsets = shardOffsets(counts: counts), total = counts.reduce(0, +)
        var values = [Float](repeating: -1, count: total)
        for j in 0..<counts[r] { values[offsets[r] + j] = Float(r * 1_000_000 + j) }
        try values.withUnsafeMutableBufferPointer { try world.allgather($0, counts: counts) }
        let expected = counts.indices.flatMap { q in (0..<counts[q]).map { Float(q * 1_000_000 + $0) } }
        expectEqual(values, expected, "allgather \(tag) counts \(counts)")
    }

    mutating func checkBytes(_ world: MPICommunicator, _ tag: String) throws {
        let r = world.rank, s = world.size, root = 1 % s
        func rootBytes(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 * 3 + root) } }
        for n in [0, 37, 300_001] {
            let got = try world.broadcastBytes(r == root ? rootBytes(n) : [1, 2, 3], root: root)
            expectEqual(got, rootBytes(n), "broadcastBytes n=\(n) \(tag)")
        }
        let gathered = try world.allgatherBytes(Array(repeating: UInt8(r), count: 5 * r))
        expect(gathered == (0..<s).map { Array(repeating: UInt8($0), count: 5 * $0) }, "allgatherBytes \(tag)")
    }

    /// Ring (even ranks send first, odd ranks receive first), then every rank → rank 0 with
    /// its own tag, received with any source and any tag.
    mutating func checkPointToPoint(_ world: MPICommunicator, payload: Int, _ tag: String) throws {
        let r = world.rank, s = world.size
        let next = (r + 1) % s, previous = (r + s - 1) % s
        func message(from q: Int) -> [UInt8] { (0..<payload).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ q) } }
        var received: (bytes: [UInt8], source: Int, tag: Int)
        if r % 2 == 0 {
            try world.send(message(from: r), to: next, tag: 7)
            received = try world.receive(from: previous, tag: 7)
        } else {
            received = try world.receive(from: previous, tag: 7)
            try world.send(message(from: r), to: next, tag: 7)
        }
        expect(received.source == previous && received.tag == 7, "ring source/tag \(tag)")
        expectEqual(received.bytes, message(from: previous), "ring payload \(payload) bytes \(tag)")
        try world.send(message(from: r), to: r, tag: 5)  // to itself: queued, never blocks
        let own = try world.receive(from: nil, tag: 5)
        expect(own.source == r && own.tag == 5 && own.bytes == message(from: r), "send to self \(tag)")
        try world.barrier()
        if r != 0 {
            try world.send(Array(repeating: UInt8(r), count: r), to: 0, tag: 100 + r)
        } else {
            var sources = Set<Int>()
            for _ in 1..<max(s, 1) {
                let m = try world.receive(from: nil, tag: nil)
                expect(m.tag == 100 + m.source && m.bytes == Array(repeating: UInt8(m.source), count: m.source),
                       "any-source message from \(m.source) tag \(m.tag) \(tag)")
                sources.insert(m.source)
            }
            expect(sources == Set(1..<max(s, 1)), "any-source senders \(sources.sorted()) \(tag)")
        }
        try world.barrier()
    }

    /// Two colors by parity, reversed order inside each (key = -rank); then rank 0 opts out.
    mutating func checkSplit(_ world: MPICommunicator) throws {
        let r = world.rank, s = world.size
        let members = (0..<s).filter { $0 % 2 == r % 2 }.reversed().map { $0 }
        guard let sub = try world.split(color: r % 2, key: -r) else {
            return expect(false, "split by parity returned nil")
        }
        expect(sub.size == members.count && sub.rank == members.firstIndex(of: r),
               "split: sub rank \(sub.rank)/\(sub.size), expected \(members.firstIndex(of: r) ?? -1)/\(members.count)")
        expectEqual(try sub.allreduceSum([Double(r + 1)]), [Double(members.reduce(0) { $0 + $1 + 1 })], "split allreduce")
        expect(try sub.allgatherBytes([UInt8(r)]) == members.map { [UInt8($0)] }, "split allgatherBytes order")
        var values = [Float](repeating: Float(r), count: 33)
        try values.withUnsafeMutableBufferPointer { try sub.broadcast($0, root: 0) }
        expectEqual(values, Array(repeating: Float(members[0]), count: 33), "split broadcast")
        let rest = try world.split(color: r == 0 ? nil : 1, key: r)
        expect((rest == nil) == (r == 0) && (rest.map { $0.size == s - 1 && $0.rank == r - 1 } ?? true), "split with nil color")
        try rest?.barrier()
        try world.barrier()
    }
}
