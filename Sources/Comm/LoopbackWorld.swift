import Foundation

/// State shared by a loopback world and every sub-world split from it. One lock and one
/// condition for all of them, so that a failure anywhere wakes every waiting rank.
final class LoopbackShared {
    let condition = NSCondition()
    /// The first failure: world rank and what it threw. Set once.
    var failure: (rank: Int, description: String)?
    /// What the first failing rank threw, rethrown by `LoopbackWorld.run`.
    var firstError: Error?
    /// World ranks whose body has returned or thrown.
    var exited: Set<Int> = []
}

/// N in-process "ranks" (threads) that communicate through shared memory with the same
/// semantics as `MPICommunicator`; for tests and single-process runs.
///
/// Collectives are deterministic: every rank receives all contributions and sums them in
/// rank order, so results are bitwise reproducible and identical on every rank. `send`
/// never blocks (messages are buffered). When a rank fails (`markFailed`, or a throwing
/// body under `run`) every pending and later operation on every rank throws
/// `CommError("rank k failed: …")`; a rank waiting for a rank that has already returned
/// throws instead of hanging.
public final class LoopbackWorld {
    /// Number of ranks.
    public let size: Int
    let shared: LoopbackShared
    /// World rank of each local rank (the identity for a world made by `init(size:)`).
    let members: [Int]

    /// One collective in flight: the contributions of the ranks that have arrived.
    private struct Round {
        let operation: String
        var values: [Any?]
        var arrived = 0
        var departed = 0
        var common: Any?
    }
    private var rounds: [Int: Round] = [:]

    private struct Message {
        let source: Int, destination: Int, tag: Int
        let bytes: [UInt8]
    }
    private var mailbox: [Message] = []

    /// A world of `size` ranks; get each rank's communicator with `communicator(rank:)`.
    public convenience init(size: Int) {
        precondition(size > 0, "LoopbackWorld: size must be > 0, got \(size)")
        self.init(shared: LoopbackShared(), members: Array(0..<size))
    }

    init(shared: LoopbackShared, members: [Int]) {
        self.size = members.count
        self.shared = shared
        self.members = members
    }

    /// The communicator of `rank`; call once per rank and use it from that rank's thread.
    public func communicator(rank: Int) -> LoopbackCommunicator {
        precondition((0..<size).contains(rank), "LoopbackWorld: rank \(rank) not in 0..<\(size)")
        return LoopbackCommunicator(world: self, rank: rank)
    }

    /// Records that `rank` failed with `error`: every rank's pending and later operations
    /// throw. Only the first failure is kept.
    public func markFailed(rank: Int, error: Error) {
        shared.condition.lock()
        defer { shared.condition.unlock() }
        if shared.failure == nil {
            shared.failure = (members[rank], String(describing: error))
            shared.firstError = error
        }
        shared.exited.insert(members[rank])
        shared.condition.broadcast()
    }

    /// Records that `rank` has returned: ranks that wait for it from now on throw.
    public func markFinished(rank: Int) {
        shared.condition.lock()
        defer { shared.condition.unlock() }
        shared.exited.insert(members[rank])
        shared.condition.broadcast()
    }

    /// Runs `body` on `size` threads, one communicator each, and waits for all of them.
    /// Rethrows the error of the first rank that failed (the others then fail with
    /// "rank k failed: …" instead of hanging).
    public static func run(size: Int, _ body: @escaping (Communicator) throws -> Void) throws {
        let world = LoopbackWorld(size: size)
        let done = DispatchSemaphore(value: 0)
        for r in 0..<size {
            let comm = world.communicator(rank: r)
            let thread = Thread {
                do {
                    try body(comm)
                    world.markFinished(rank: r)
                } catch {
                    world.markFailed(rank: r, error: error)
                }
                done.signal()
            }
            thread.name = "loopback-rank-\(r)"
            thread.stackSize = 8 << 20
            thread.start()
        }
        for _ in 0..<size { done.wait() }
        world.shared.condition.lock()
        let error = world.shared.firstError
        world.shared.condition.unlock()
        if let error { throw error }
    }

    // MARK: Internals used by LoopbackCommunicator (all under shared.condition)

    /// Throws the recorded failure, if any, as an error of `operation`. Lock held.
    private func throwIfFailed(_ operation: String) throws {
        if let failure = shared.failure {
            throw CommError(call: operation, message: "rank \(failure.rank) failed: \(failure.description)")
        }
    }

    /// Deposits `rank`'s contribution to collective number `sequence`, waits for all ranks,
    /// and returns every contribution in rank order plus `makeCommon`'s result (computed
    /// once, by the first rank to leave).
    func exchange(rank: Int, sequence: Int, operation: String, value: Any,
                  makeCommon: (([Any]) throws -> Any)? = nil) throws -> (values: [Any], common: Any?) {
        let condition = shared.condition
        condition.lock()
        defer { condition.unlock() }
        try throwIfFailed(operation)
        var round = rounds[sequence] ?? Round(operation: operation, values: Array(repeating: nil, count: size))
        guard round.operation == operation else {
            let error = CommError(call: operation, message: "rank \(members[rank]) called \(operation) while another rank called \(round.operation) (collective #\(sequence)); every rank must call the same collectives in the same order")
            recordFailureLocked(rank: rank, error: error)
            throw error
        }
        round.values[rank] = value
        round.arrived += 1
        rounds[sequence] = round
        if round.arrived == size { condition.broadcast() }
        while let current = rounds[sequence], current.arrived < size {
            try throwIfFailed(operation)
            if let missing = (0..<size).first(where: { current.values[$0] == nil && shared.exited.contains(members[$0]) }) {
                throw CommError(call: operation, message: "rank \(members[missing]) returned without joining \(operation) (collective #\(sequence))")
            }
            condition.wait()
        }
        guard var finished = rounds[sequence] else {
            throw CommError(call: operation, message: "internal: collective #\(sequence) vanished")
        }
        let values = finished.values.compactMap { $0 }
        if finished.common == nil, let makeCommon { finished.common = try makeCommon(values) }
        finished.departed += 1
        rounds[sequence] = finished.departed == size ? nil : finished
        return (values, finished.common)
    }

    private func recordFailureLocked(rank: Int, error: Error) {
        if shared.failure == nil {
            shared.failure = (members[rank], String(describing: error))
            shared.firstError = error
        }
        shared.condition.broadcast()
    }

    /// Queues a message; never blocks.
    func post(source: Int, destination: Int, tag: Int, bytes: [UInt8]) throws {
        shared.condition.lock()
        defer { shared.condition.unlock() }
        try throwIfFailed("send")
        mailbox.append(Message(source: source, destination: destination, tag: tag, bytes: bytes))
        shared.condition.broadcast()
    }

    /// Removes and returns the oldest message for `destination` matching `source` and `tag`
    /// (nil = any), waiting for one to arrive.
    func take(destination: Int, source: Int?, tag: Int?) throws -> (bytes: [UInt8], source: Int, tag: Int) {
        let condition = shared.condition
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let i = mailbox.firstIndex(where: {
                $0.destination == destination && (source == nil || $0.source == source) && (tag == nil || $0.tag == tag)
            }) {
                let message = mailbox.remove(at: i)
                return (message.bytes, message.source, message.tag)
            }
            try throwIfFailed("receive")
            if source == destination {  // only this rank's own thread could send it: it never will
                throw CommError(call: "receive", message: "rank \(members[destination]) waits for a message from itself (tag \(tag.map(String.init) ?? "any")) that it has not sent")
            }
            let senders = source.map { [$0] } ?? (0..<size).filter { $0 != destination }
            if senders.allSatisfy({ shared.exited.contains(members[$0]) }) {
                let who = source.map { "rank \(members[$0]) has" } ?? "all other ranks have"
                throw CommError(call: "receive", message: "\(who) returned and no matching message (tag \(tag.map(String.init) ?? "any")) is queued")
            }
            condition.wait()
        }
    }
}
