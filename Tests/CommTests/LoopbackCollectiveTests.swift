import XCTest
@testable import Comm

/// Every collective on 1, 2, 3 and 4 in-process ranks against closed-form expectations.
final class LoopbackCollectiveTests: XCTestCase {
    func testRankAndSizeAndBarrier() throws {
        for n in worldSizes {
            let seen = PerRank<Int>(n)
            try LoopbackWorld.run(size: n) { comm in
                XCTAssertEqual(comm.size, n)
                for _ in 0..<3 { try comm.barrier() }
                seen.set(comm.rank, comm.rank)
            }
            XCTAssertEqual(seen.values.compactMap { $0 }, Array(0..<n))
        }
    }

    func testBroadcastFromEveryRoot() throws {
        for n in worldSizes {
            try LoopbackWorld.run(size: n) { comm in
                for root in 0..<n {
                    var values = (0..<7).map { comm.rank == root ? Float(root * 100 + $0) : -1 }
                    try values.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: root) }
                    XCTAssertEqual(values, (0..<7).map { Float(root * 100 + $0) })
                    var empty = [Float]()
                    try empty.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: root) }
                }
            }
        }
    }

    func testBroadcastBytesIgnoresNonRootInput() throws {
        for n in worldSizes {
            try LoopbackWorld.run(size: n) { comm in
                for root in 0..<n {
                    let mine: [UInt8] = comm.rank == root ? Array(repeating: UInt8(root), count: 5 + root) : [9, 9]
                    XCTAssertEqual(try comm.broadcastBytes(mine, root: root), Array(repeating: UInt8(root), count: 5 + root))
                    XCTAssertEqual(try comm.broadcastBytes(comm.rank == root ? [] : [1], root: root), [])
                }
            }
        }
    }

    func testAllreduceSumFloatIsRankOrderedAndIdenticalEverywhere() throws {
        func contribution(_ r: Int) -> [Float] { (0..<13).map { Float(r + 1) * 0.1 * Float($0 + 1) + 1e-3 * Float(r) } }
        for n in worldSizes {
            var expected = contribution(0)
            for r in 1..<max(n, 1) where r < n { for i in expected.indices { expected[i] += contribution(r)[i] } }
            let results = PerRank<[Float]>(n)
            try LoopbackWorld.run(size: n) { comm in
                var values = contribution(comm.rank)
                try values.withUnsafeMutableBufferPointer { try comm.allreduceSum($0) }
                results.set(comm.rank, values)
            }
            for r in 0..<n { XCTAssertEqual(results.values[r]?.map(\.bitPattern), expected.map(\.bitPattern), "n=\(n) rank \(r)") }
        }
    }

    func testAllreduceDoubleSumAndMax() throws {
        for n in worldSizes {
            try LoopbackWorld.run(size: n) { comm in
                let r = Double(comm.rank)
                XCTAssertEqual(try comm.allreduceSum([r, 1, -2 * r]), [Double(n * (n - 1) / 2), Double(n), -Double(n * (n - 1))])
                XCTAssertEqual(try comm.allreduceMax([r, -r, 7]), [Double(n - 1), 0, 7])
                XCTAssertEqual(try comm.allreduceSum([]), [])
            }
        }
    }

    func testReduceScatterSumLeavesEachRankItsSummedSegment() throws {
        for n in worldSizes {
            for counts in segmentLayouts(size: n) {
                let total = counts.reduce(0, +), offsets = shardOffsets(counts: counts)
                try LoopbackWorld.run(size: n) { comm in
                    var values = (0..<total).map { Float(comm.rank + 1) * Float($0 + 1) }
                    try values.withUnsafeMutableBufferPointer { try comm.reduceScatterSum($0, counts: counts) }
                    let rankSum = Float(n * (n + 1) / 2)
                    let mine = Array(values[offsets[comm.rank]..<offsets[comm.rank] + counts[comm.rank]])
                    XCTAssertEqual(mine, (offsets[comm.rank]..<offsets[comm.rank] + counts[comm.rank]).map { rankSum * Float($0 + 1) },
                                   "n=\(n) counts=\(counts) rank \(comm.rank)")
                }
            }
        }
    }

    func testAllgatherFillsEverySegment() throws {
        for n in worldSizes {
            for counts in segmentLayouts(size: n) {
                let total = counts.reduce(0, +), offsets = shardOffsets(counts: counts)
                let expected = (0..<n).flatMap { r in (0..<counts[r]).map { Float(r * 1000 + $0) } }
                try LoopbackWorld.run(size: n) { comm in
                    var values = [Float](repeating: -1, count: total)
                    for j in 0..<counts[comm.rank] { values[offsets[comm.rank] + j] = Float(comm.rank * 1000 + j) }
                    try values.withUnsafeMutableBufferPointer { try comm.allgather($0, counts: counts) }
                    XCTAssertEqual(values, expected, "n=\(n) counts=\(counts) rank \(comm.rank)")
                }
            }
        }
    }

    func testAllgatherBytesInRankOrder() throws {
        for n in worldSizes {
            try LoopbackWorld.run(size: n) { comm in
                let gathered = try comm.allgatherBytes(Array(repeating: UInt8(comm.rank), count: comm.rank))
                XCTAssertEqual(gathered, (0..<n).map { Array(repeating: UInt8($0), count: $0) })
            }
        }
    }

    func testSplitByColorOrdersByKeyAndNests() throws {
        for n in worldSizes {
            try LoopbackWorld.run(size: n) { comm in
                // Two colors by parity, reversed order within each (key = -rank).
                guard let sub = try comm.split(color: comm.rank % 2, key: -comm.rank) else {
                    return XCTFail("rank \(comm.rank) got no sub-communicator")
                }
                let members = (0..<n).filter { $0 % 2 == comm.rank % 2 }.reversed().map { $0 }
                XCTAssertEqual(sub.size, members.count)
                XCTAssertEqual(sub.rank, members.firstIndex(of: comm.rank))
                let sum = try sub.allreduceSum([Double(comm.rank + 1)])
                XCTAssertEqual(sum, [Double(members.reduce(0) { $0 + $1 + 1 })])
                // Point-to-point inside the sub-world uses sub ranks.
                if sub.size > 1 {
                    try sub.send([UInt8(comm.rank)], to: (sub.rank + 1) % sub.size, tag: 3)
                    let got = try sub.receive(from: nil, tag: 3)
                    XCTAssertEqual(got.source, (sub.rank + sub.size - 1) % sub.size)
                    XCTAssertEqual(got.bytes, [UInt8(members[got.source])])
                }
                // A nil color opts out; the others still get a world of everyone else.
                let rest = try comm.split(color: comm.rank == 0 ? nil : 7, key: 0)
                XCTAssertEqual(rest == nil, comm.rank == 0)
                if let rest {
                    XCTAssertEqual(rest.size, n - 1)
                    XCTAssertEqual(rest.rank, comm.rank - 1)
                    try rest.barrier()
                }
                try comm.barrier()
            }
        }
    }

    func testPointToPointTagsOrderAndAnySource() throws {
        for n in worldSizes where n >= 2 {
            try LoopbackWorld.run(size: n) { comm in
                if comm.rank == 0 {
                    try comm.send([1], to: 1, tag: 1)
                    try comm.send([2], to: 1, tag: 2)
                    try comm.send([3], to: 1, tag: 1)
                } else if comm.rank == 1 {
                    // Tag selection skips over the earlier tag-1 message; same-tag order is kept.
                    XCTAssertEqual(try comm.receive(from: 0, tag: 2).bytes, [2])
                    XCTAssertEqual(try comm.receive(from: 0, tag: 1).bytes, [1])
                    let any = try comm.receive(from: nil, tag: nil)
                    XCTAssertEqual(any.bytes, [3]); XCTAssertEqual(any.source, 0); XCTAssertEqual(any.tag, 1)
                }
                // Everyone reports to rank 0 with its own tag; rank 0 takes them in any order.
                if comm.rank != 0 {
                    try comm.send(Array(repeating: UInt8(comm.rank), count: comm.rank), to: 0, tag: 100 + comm.rank)
                } else {
                    var sources = Set<Int>()
                    for _ in 1..<n {
                        let m = try comm.receive(from: nil, tag: nil)
                        XCTAssertEqual(m.tag, 100 + m.source)
                        XCTAssertEqual(m.bytes, Array(repeating: UInt8(m.source), count: m.source))
                        sources.insert(m.source)
                    }
                    XCTAssertEqual(sources, Set(1..<n))
                }
                // Ring, including an empty message (after the barrier, so rank 0's wildcard
                // receives above cannot take a ring message).
                try comm.barrier()
                try comm.send([], to: (comm.rank + 1) % n, tag: 9)
                let ring = try comm.receive(from: (comm.rank + n - 1) % n, tag: 9)
                XCTAssertEqual(ring.bytes, [])
            }
        }
    }

    func testSendToSelfWithOneRank() throws {
        try LoopbackWorld.run(size: 1) { comm in
            try comm.send([42], to: 0, tag: 0)
            XCTAssertEqual(try comm.receive(from: 0, tag: 0).bytes, [42])
            XCTAssertThrowsError(try comm.receive(from: 0, tag: nil)) {
                XCTAssertTrue(String(describing: $0).contains("waits for a message from itself"), "\($0)")
            }
        }
    }
}
