import Foundation

/// One rank of a `LoopbackWorld`: the in-process twin of `MPICommunicator`.
///
/// Each collective hands this rank's contribution to the world, waits for every rank's,
/// and computes the result locally in rank order (so every rank gets bitwise the same
/// sums). Used by one thread at a time.
public final class LoopbackCommunicator: Communicator {
    /// This rank's index in its world.
    public let rank: Int
    /// The world's number of ranks.
    public var size: Int { world.size }
    /// The world this rank belongs to (kept alive by its communicators).
    public let world: LoopbackWorld
    /// Number of collectives this rank has started (all ranks call them in the same order).
    private var sequence = 0

    init(world: LoopbackWorld, rank: Int) {
        self.world = world
        self.rank = rank
    }

    private func collective(_ operation: String, _ value: Any,
                            makeCommon: (([Any]) throws -> Any)? = nil) throws -> (values: [Any], common: Any?) {
        sequence += 1
        return try world.exchange(rank: rank, sequence: sequence, operation: operation, value: value, makeCommon: makeCommon)
    }

    /// Casts contributions back to their type (a mismatch means ranks disagree on the call).
    private func cast<T>(_ values: [Any], _ operation: String) throws -> [T] {
        try values.map {
            guard let v = $0 as? T else {
                throw CommError(call: operation, message: "ranks passed different argument types")
            }
            return v
        }
    }

    /// Throws unless every rank passed the same element count (as MPI requires).
    private func requireSameCount(_ counts: [Int], _ operation: String) throws {
        if let c = counts.first(where: { $0 != counts[0] }) {
            throw CommError(call: operation, message: "ranks passed different lengths (\(counts[0]) vs \(c)); every rank must pass the same count")
        }
    }

    /// Returns once every rank has arrived.
    public func barrier() throws {
        _ = try collective("barrier", ())
    }

    /// Copies root's buffer into every rank's buffer (lengths must match).
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        precondition((0..<size).contains(root), "broadcast: root \(root) not in 0..<\(size)")
        let mine = rank == root ? Array(buffer) : []
        let arrays: [[Float]] = try cast(try collective("broadcast", mine).values, "broadcast")
        let source = arrays[root]
        guard source.count == buffer.count else {
            throw CommError(call: "broadcast", message: "rank \(rank) has \(buffer.count) elements but root \(root) has \(source.count)")
        }
        if rank != root { _ = buffer.update(fromContentsOf: source) }
    }

    /// Returns root's bytes on every rank.
    public func broadcastBytes(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        precondition((0..<size).contains(root), "broadcastBytes: root \(root) not in 0..<\(size)")
        let arrays: [[UInt8]] = try cast(try collective("broadcastBytes", rank == root ? bytes : []).values, "broadcastBytes")
        return arrays[root]
    }

    /// Elementwise sum in rank order, written into every rank's buffer.
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        let arrays: [[Float]] = try cast(try collective("allreduceSum(Float)", Array(buffer)).values, "allreduceSum")
        try requireSameCount(arrays.map(\.count), "allreduceSum")
        Self.combineInRankOrder(arrays, range: 0..<buffer.count, into: buffer, at: 0, +)
    }

    /// Elementwise sum in rank order.
    public func allreduceSum(_ values: [Double]) throws -> [Double] {
        try reduceDoubles(values, "allreduceSum(Double)", +)
    }

    /// Elementwise maximum.
    public func allreduceMax(_ values: [Double]) throws -> [Double] {
        try reduceDoubles(values, "allreduceMax(Double)") { Swift.max($0, $1) }
    }

    /// Sums segment `rank` over all ranks (in rank order) into this rank's segment.
    public func reduceScatterSum(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        validateSegments(counts, size: size, bufferCount: buffer.count, "reduceScatterSum")
        let contributions: [([Int], [Float])] = try cast(
            try collective("reduceScatterSum", (counts, Array(buffer))).values, "reduceScatterSum")
        try requireSameCounts(contributions.map(\.0), "reduceScatterSum")
        let offset = shardOffsets(counts: counts)[rank]
        let range = offset..<offset + counts[rank]
        Self.combineInRankOrder(contributions.map(\.1), range: range, into: buffer, at: offset, +)
    }

    /// Every rank's segment lands in every rank's buffer.
    public func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        validateSegments(counts, size: size, bufferCount: buffer.count, "allgather")
        let offsets = shardOffsets(counts: counts)
        let segment = Array(buffer[offsets[rank]..<offsets[rank] + counts[rank]])
        let contributions: [([Int], [Float])] = try cast(try collective("allgather", (counts, segment)).values, "allgather")
        try requireSameCounts(contributions.map(\.0), "allgather")
        for (r, contribution) in contributions.enumerated() where r != rank {
            _ = UnsafeMutableBufferPointer(rebasing: buffer[offsets[r]..<offsets[r] + counts[r]])
                .update(fromContentsOf: contribution.1)
        }
    }

    /// Every rank's bytes, in rank order.
    public func allgatherBytes(_ bytes: [UInt8]) throws -> [[UInt8]] {
        try cast(try collective("allgatherBytes", bytes).values, "allgatherBytes")
    }

    /// Queues the message for `rank` (never blocks).
    public func send(_ bytes: [UInt8], to rank: Int, tag: Int) throws {
        precondition((0..<size).contains(rank), "send: destination \(rank) not in 0..<\(size)")
        precondition((0...32767).contains(tag), "send: tag \(tag) outside 0...32767 (MPI's guaranteed range)")
        try world.post(source: self.rank, destination: rank, tag: tag, bytes: bytes)
    }

    /// The oldest queued message matching `rank` and `tag` (nil = any), waiting for one.
    public func receive(from rank: Int?, tag: Int?) throws -> (bytes: [UInt8], source: Int, tag: Int) {
        if let rank { precondition((0..<size).contains(rank), "receive: source \(rank) not in 0..<\(size)") }
        return try world.take(destination: self.rank, source: rank, tag: tag)
    }

    /// Ranks with the same color get a new world, ordered by (key, old rank); nil color → nil.
    public func split(color: Int?, key: Int) throws -> Communicator? {
        if let color { precondition(color >= 0, "split: color \(color) must be >= 0") }
        let parent = world
        let result = try collective("split", (color, key)) { values in
            // Runs once (under the world's lock): one sub-world per color.
            guard let entries = values as? [(Int?, Int)] else {
                throw CommError(call: "split", message: "ranks passed different argument types")
            }
            var groups: [Int: [Int]] = [:]
            for (r, entry) in entries.enumerated() { if let c = entry.0 { groups[c, default: []].append(r) } }
            return groups.mapValues { ranks -> (LoopbackWorld, [Int]) in
                let ordered = ranks.sorted { (entries[$0].1, $0) < (entries[$1].1, $1) }
                return (LoopbackWorld(shared: parent.shared, members: ordered.map { parent.members[$0] }), ordered)
            }
        }
        guard let color else { return nil }
        guard let worlds = result.common as? [Int: (LoopbackWorld, [Int])], let (sub, order) = worlds[color],
              let newRank = order.firstIndex(of: rank) else {
            throw CommError(call: "split", message: "internal: no sub-world for color \(color)")
        }
        return sub.communicator(rank: newRank)
    }

    /// Marks the world failed (waking every rank), then ends the process like MPI_Abort.
    public func abort(code: Int32) -> Never {
        world.markFailed(rank: rank, error: CommError(call: "abort", message: "aborted with code \(code)"))
        FileHandle.standardError.write(Data("loopback rank \(world.members[rank]) called abort(code: \(code))\n".utf8))
        exit(code)
    }

    // MARK: Helpers

    private func requireSameCounts(_ countLists: [[Int]], _ operation: String) throws {
        if let other = countLists.first(where: { $0 != countLists[0] }) {
            throw CommError(call: operation, message: "ranks passed different counts (\(countLists[0]) vs \(other))")
        }
    }

    private func reduceDoubles(_ values: [Double], _ operation: String, _ op: (Double, Double) -> Double) throws -> [Double] {
        let arrays: [[Double]] = try cast(try collective(operation, values).values, operation)
        try requireSameCount(arrays.map(\.count), operation)
        var out = values
        out.withUnsafeMutableBufferPointer { Self.combineInRankOrder(arrays, range: 0..<values.count, into: $0, at: 0, op) }
        return out
    }

    /// `out[at + i - range.lowerBound] = ((a0 ⊕ a1) ⊕ a2) ⊕ …` over `range` — always the same
    /// order, so every rank computes bitwise the same result.
    private static func combineInRankOrder<T>(_ arrays: [[T]], range: Range<Int>, into out: UnsafeMutableBufferPointer<T>,
                                              at start: Int, _ op: (T, T) -> T) {
        guard let first = arrays.first else { return }
        for i in range { out[start + i - range.lowerBound] = first[i] }
        for array in arrays.dropFirst() {
            for i in range { out[start + i - range.lowerBound] = op(out[start + i - range.lowerBound], array[i]) }
        }
    }
}
