/// Thrown by every collective; carries MPI's own error string for MPI failures.
///
/// `call` names the operation that failed (`"MPI_Allreduce"`, `"allgather"`, …) and
/// `code` is MPI's error code when the failure came from the MPI library itself.
public struct CommError: Error, CustomStringConvertible {
    /// The operation that failed (an MPI function name or a Communicator method).
    public let call: String
    /// MPI's error code, or nil when the failure was detected in Swift (loopback, protocol checks).
    public let code: Int32?
    /// What went wrong; for MPI failures this is MPI_Error_string's text.
    public let message: String

    /// A failure of `call` with a human-readable message and, for MPI failures, MPI's code.
    public init(call: String, code: Int32? = nil, message: String) {
        self.call = call
        self.code = code
        self.message = message
    }

    /// `"<call> failed (MPI error <code>): <message>"`.
    public var description: String {
        if let code { return "\(call) failed (MPI error \(code)): \(message)" }
        return "\(call) failed: \(message)"
    }
}

/// A group of ranks that exchange data: real MPI processes (`MPICommunicator`) or
/// threads in one process (`LoopbackCommunicator`, for tests).
///
/// Collectives must be called by every rank of the communicator in the same order with
/// matching sizes. A communicator is used by one thread at a time.
public protocol Communicator: AnyObject {
    /// This process's (or thread's) index in the communicator, `0..<size`.
    var rank: Int { get }
    /// The number of ranks in the communicator.
    var size: Int { get }
    /// Returns once every rank has entered the barrier.
    func barrier() throws
    /// In place: root's values land in every rank's buffer.
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws
    /// Variable length bytes from root (length sent first); other ranks' input ignored.
    func broadcastBytes(_ bytes: [UInt8], root: Int) throws -> [UInt8]
    /// In place elementwise sum over all ranks.
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Elementwise sum over all ranks (every rank passes the same number of values).
    func allreduceSum(_ values: [Double]) throws -> [Double]
    /// Elementwise maximum over all ranks (every rank passes the same number of values).
    func allreduceMax(_ values: [Double]) throws -> [Double]
    /// In place: the buffer is split into consecutive segments of `counts` (one per rank,
    /// sum = buffer.count); afterwards rank r's segment holds the sum over ranks of that
    /// segment (other segments are unspecified).
    func reduceScatterSum(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws
    /// In place: rank r contributes its segment (same `counts` convention); afterwards every
    /// rank holds all segments.
    func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws
    /// Gathers one variable-length byte message from every rank at every rank (order = rank).
    func allgatherBytes(_ bytes: [UInt8]) throws -> [[UInt8]]
    /// Point-to-point, blocking, byte messages with a tag (0...32767). Under MPI a large
    /// message may block until the receiver posts its receive, so exchanges must not rely on
    /// buffering (in a ring, alternate send/receive order by rank parity); messages to the
    /// sender itself never block.
    func send(_ bytes: [UInt8], to rank: Int, tag: Int) throws
    /// Receives the next message matching `rank` and `tag` (nil = any source / any tag).
    /// Messages from one sender with one tag arrive in the order they were sent.
    func receive(from rank: Int?, tag: Int?) throws -> (bytes: [UInt8], source: Int, tag: Int)
    /// MPI_Comm_split semantics; ranks passing color nil get nil.
    /// Ranks with the same color form a new communicator, ordered by (key, old rank).
    func split(color: Int?, key: Int) throws -> Communicator?
    /// Abort the whole job (MPI_Abort); for fatal errors on one rank so others don't hang.
    func abort(code: Int32) -> Never
    /// Limits every later wait of this rank (on this communicator and on the ones split
    /// from the same world) to `deadline`; nil = wait forever. On expiry the job is
    /// aborted with a message naming the ranks that did not respond.
    func setDeadline(_ deadline: Deadline?)
}

extension Communicator {
    /// Ignores deadlines (the loopback world: threads of one process cannot freeze apart).
    public func setDeadline(_ deadline: Deadline?) {}
}

/// Balanced split of `total` elements into `parts` consecutive shards: every shard has
/// `total / parts` elements and the first `total % parts` shards one more (ZeRO-1 sharding).
public func shardCounts(total: Int, parts: Int) -> [Int] {
    precondition(total >= 0, "shardCounts: total must be >= 0, got \(total)")
    precondition(parts > 0, "shardCounts: parts must be > 0, got \(parts)")
    let base = total / parts, extra = total % parts
    return (0..<parts).map { $0 < extra ? base + 1 : base }
}

/// Start offsets of consecutive segments with the given counts (`offsets[r] = sum(counts[..<r])`).
public func shardOffsets(counts: [Int]) -> [Int] {
    var offsets = [Int](), running = 0
    offsets.reserveCapacity(counts.count)
    for c in counts { offsets.append(running); running += c }
    return offsets
}

/// Checks the `counts` convention of `reduceScatterSum` / `allgather` (programmer errors).
func validateSegments(_ counts: [Int], size: Int, bufferCount: Int, _ call: String) {
    precondition(counts.count == size, "\(call): \(counts.count) counts for \(size) ranks")
    precondition(counts.allSatisfy { $0 >= 0 }, "\(call): negative count in \(counts)")
    precondition(counts.reduce(0, +) == bufferCount,
                 "\(call): counts sum to \(counts.reduce(0, +)) but the buffer has \(bufferCount) elements")
}
