// The only Swift file that touches MPI. Every call's return code is checked and
// turned into a CommError carrying MPI_Error_string's text (COMM_WORLD and every
// split communicator use MPI_ERRORS_RETURN, so failures come back as codes
// instead of aborting inside the library).
//
// Every transfer is non-blocking (MPI_Ibcast, MPI_Iallreduce, MPI_Isend, …) and
// completed by polling MPI_Test with a pause that backs off to `maxPause`: a
// rank waiting for a slow or frozen peer sleeps instead of spinning on a core,
// and checks the job's `Deadline` between polls (see `MPILiveness`).
import CMPI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide MPI set-up: initialise once before `MPICommunicator.world()`, finalise
/// once at the end of `main`.
public enum MPIRuntime {
    /// MPI_Init has run and MPI_Finalize has not.
    public static var isInitialized: Bool {
        var initialized: Int32 = 0, finalized: Int32 = 0
        MPI_Initialized(&initialized)
        MPI_Finalized(&finalized)
        return initialized != 0 && finalized == 0
    }

    static var isFinalized: Bool {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        return finalized != 0
    }

    /// Initialises MPI (MPI_Init_thread asking for MPI_THREAD_SERIALIZED: any thread may
    /// call MPI, one at a time) and sets MPI_ERRORS_RETURN on COMM_WORLD. Idempotent.
    /// Works without a launcher too (an MPI singleton of size 1).
    public static func initialize() throws {
        if isFinalized {
            throw CommError(call: "MPIRuntime.initialize", message: "MPI was already finalized in this process; it cannot be restarted")
        }
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            var provided: Int32 = 0
            try check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided), "MPI_Init_thread")
            if provided < Int32(MPI_THREAD_FUNNELED) {
                throw CommError(call: "MPI_Init_thread",
                                message: "MPI provides thread level \(provided), need at least MPI_THREAD_FUNNELED; use an MPI built with thread support")
            }
        }
        try check(MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return()), "MPI_Comm_set_errhandler")
    }

    /// Finalises MPI if it is initialised (no-op otherwise). Every rank must call it.
    public static func finalize() throws {
        guard isInitialized else { return }
        try check(MPI_Finalize(), "MPI_Finalize")
    }
}

/// Throws a CommError naming `call` with MPI's own text when `code` is not MPI_SUCCESS.
@inline(__always)
private func check(_ code: Int32, _ call: String) throws {
    if code != cmpi_success() { throw mpiError(code, call) }
}

private func mpiError(_ code: Int32, _ call: String) -> CommError {
    var text = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
    var length: Int32 = 0
    guard MPI_Error_string(code, &text, &length) == cmpi_success(), length > 0 else {
        return CommError(call: call, code: code, message: "unknown MPI error")
    }
    let bytes = text[..<min(Int(length), text.count)].map { UInt8(bitPattern: $0) }
    return CommError(call: call, code: code, message: String(decoding: bytes, as: UTF8.self))
}

/// A `Communicator` over an MPI communicator (COMM_WORLD or one made by `split`).
///
/// MPI counts are Int32: transfers longer than `maxElementsPerCall` elements are split
/// into several calls (collectives in rounds through a packed staging buffer).
public final class MPICommunicator: Communicator {
    private let comm: MPI_Comm
    private let ownsComm: Bool
    /// Shared by every communicator of this world: the deadline and the liveness check.
    private let liveness: MPILiveness
    /// The longest pause between two polls of a pending transfer (seconds).
    static let maxPause = 0.002
    /// The world's liveness state, made by the first `world()` call.
    nonisolated(unsafe) private static var worldLiveness: MPILiveness?
    /// This process's rank in the communicator.
    public let rank: Int
    /// The number of processes in the communicator.
    public let size: Int
    /// Largest element count handed to one MPI call. The default (2^28: 1 GiB of floats)
    /// stays well below Int32.max; tests lower it to exercise the chunked paths.
    /// Must be the same on every rank for collectives.
    public var maxElementsPerCall: Int = 1 << 28 {
        didSet { precondition(maxElementsPerCall >= 16, "maxElementsPerCall must be >= 16") }
    }
    /// Messages this rank sent to itself: queued here, since a blocking MPI_Send to self
    /// would wait forever for a receive that the same thread has yet to post.
    private var messagesToSelf: [(tag: Int, bytes: [UInt8])] = []

    /// MPI_COMM_WORLD. Call `MPIRuntime.initialize()` first.
    public static func world() throws -> MPICommunicator {
        guard MPIRuntime.isInitialized else {
            throw CommError(call: "MPICommunicator.world", message: "MPI is not initialised; call MPIRuntime.initialize() first")
        }
        let liveness = try worldLiveness ?? MPILiveness.make()
        worldLiveness = liveness
        return try MPICommunicator(comm: cmpi_comm_world(), ownsComm: false, liveness: liveness)
    }

    private init(comm: MPI_Comm, ownsComm: Bool, liveness: MPILiveness) throws {
        self.comm = comm
        self.ownsComm = ownsComm
        self.liveness = liveness
        try check(MPI_Comm_set_errhandler(comm, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        var r: Int32 = 0, s: Int32 = 0
        try check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank")
        try check(MPI_Comm_size(comm, &s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
    }

    deinit {
        // OpenMPI frees communicators locally; after MPI_Finalize there is nothing to free.
        if ownsComm && !MPIRuntime.isFinalized {
            var handle: MPI_Comm? = comm
            MPI_Comm_free(&handle)
        }
    }

    /// MPI_Ibarrier, polled.
    public func barrier() throws {
        var request: MPI_Request? = nil
        try check(MPI_Ibarrier(comm, &request), "MPI_Ibarrier")
        try complete(&request, "MPI_Ibarrier", bytes: 0)
    }

    /// Sets the deadline of every communicator of this world (see `Deadline`).
    public func setDeadline(_ deadline: Deadline?) {
        liveness.deadline = deadline
    }

    /// MPI_Bcast in chunks of at most `maxElementsPerCall`.
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try broadcastElements(buffer, type: cmpi_float(), root: root)
    }

    /// Length (Int64) first, then the bytes, both from `root`.
    public func broadcastBytes(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        precondition((0..<size).contains(root), "broadcastBytes: root \(root) not in 0..<\(size)")
        var length = Int64(rank == root ? bytes.count : 0)
        try withUnsafeMutablePointer(to: &length) {
            try broadcastElements(UnsafeMutableBufferPointer(start: $0, count: 1), type: cmpi_int64(), root: root)
        }
        guard length >= 0 else { throw CommError(call: "broadcastBytes", message: "root sent a negative length \(length)") }
        var out = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length))
        try out.withUnsafeMutableBufferPointer { try broadcastElements($0, type: cmpi_uint8(), root: root) }
        return out
    }

    /// MPI_Allreduce(MPI_IN_PLACE, MPI_SUM) in chunks.
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try allreduceElements(buffer, type: cmpi_float(), op: cmpi_sum())
    }

    /// MPI_Allreduce(MPI_SUM) on a copy of `values`.
    public func allreduceSum(_ values: [Double]) throws -> [Double] {
        var out = values
        try out.withUnsafeMutableBufferPointer { try allreduceElements($0, type: cmpi_double(), op: cmpi_sum()) }
        return out
    }

    /// MPI_Allreduce(MPI_MAX) on a copy of `values`.
    public func allreduceMax(_ values: [Double]) throws -> [Double] {
        var out = values
        try out.withUnsafeMutableBufferPointer { try allreduceElements($0, type: cmpi_double(), op: cmpi_max()) }
        return out
    }

    /// MPI_Reduce_scatter_block (equal counts) or MPI_Reduce_scatter (unequal), in place;
    /// MPI leaves the in-place result at the start of the buffer, so it is moved to this
    /// rank's segment afterwards.
    public func reduceScatterSum(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        validateSegments(counts, size: size, bufferCount: buffer.count, "reduceScatterSum")
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let offsets = shardOffsets(counts: counts)
        if buffer.count <= maxElementsPerCall {
            try reduceScatterPacked(base, counts: counts)
            if offsets[rank] > 0 && counts[rank] > 0 {
                memmove(base + offsets[rank], base, counts[rank] * MemoryLayout<Float>.stride)
            }
            return
        }
        // Rounds: slice k of every segment is packed into `staging`, reduce-scattered there,
        // and this rank's reduced slice copied back into its segment.
        let slice = max(1, maxElementsPerCall / size)
        let staging = UnsafeMutablePointer<Float>.allocate(capacity: slice * size)
        defer { staging.deallocate() }
        for lo in stride(from: 0, to: counts.max() ?? 0, by: slice) {
            let parts = counts.map { max(0, min($0 - lo, slice)) }
            var packed = 0
            for r in 0..<size where parts[r] > 0 {
                (staging + packed).update(from: base + offsets[r] + lo, count: parts[r])
                packed += parts[r]
            }
            try reduceScatterPacked(staging, counts: parts)
            if parts[rank] > 0 { (base + offsets[rank] + lo).update(from: staging, count: parts[rank]) }
        }
    }

    /// MPI_Allgatherv(MPI_IN_PLACE), in rounds when the buffer exceeds `maxElementsPerCall`.
    public func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        validateSegments(counts, size: size, bufferCount: buffer.count, "allgather")
        try allgatherSegments(buffer, counts: counts, type: cmpi_float())
    }

    /// Lengths (Int64) by MPI_Allgather, then the bytes by MPI_Allgatherv.
    public func allgatherBytes(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var lengths = [Int64](repeating: 0, count: size)
        lengths[rank] = Int64(bytes.count)
        try lengths.withUnsafeMutableBufferPointer { all in
            var request: MPI_Request? = nil
            try check(MPI_Iallgather(cmpi_in_place(), 0, cmpi_int64(), all.baseAddress, 1, cmpi_int64(), comm, &request),
                      "MPI_Iallgather")
            try complete(&request, "MPI_Iallgather", bytes: 8 * size)
        }
        guard lengths.allSatisfy({ $0 >= 0 }) else {
            throw CommError(call: "allgatherBytes", message: "negative lengths received: \(lengths)")
        }
        let counts = lengths.map { Int($0) }, offsets = shardOffsets(counts: counts)
        var all = [UInt8](repeating: 0, count: counts.reduce(0, +))
        all.replaceSubrange(offsets[rank]..<offsets[rank] + bytes.count, with: bytes)
        try all.withUnsafeMutableBufferPointer { try allgatherSegments($0, counts: counts, type: cmpi_uint8()) }
        return (0..<size).map { Array(all[offsets[$0]..<offsets[$0] + counts[$0]]) }
    }

    /// MPI_Send of one message: an 8-byte little-endian total length followed by the first
    /// bytes; longer payloads continue in further messages with the same tag. Like MPI_Send
    /// it may block until the receiver posts a matching receive (large messages), except
    /// for messages to this rank itself, which are queued.
    public func send(_ bytes: [UInt8], to rank: Int, tag: Int) throws {
        precondition((0..<size).contains(rank), "send: destination \(rank) not in 0..<\(size)")
        precondition((0...32767).contains(tag), "send: tag \(tag) outside 0...32767 (MPI's guaranteed range)")
        if rank == self.rank {
            messagesToSelf.append((tag, bytes))
            return
        }
        let firstCount = min(bytes.count, maxElementsPerCall - 8)
        var first = [UInt8]()
        first.reserveCapacity(8 + firstCount)
        withUnsafeBytes(of: Int64(bytes.count).littleEndian) { first.append(contentsOf: $0) }
        first.append(contentsOf: bytes[0..<firstCount])
        try first.withUnsafeBufferPointer { try sendPart($0.baseAddress, first.count, to: rank, tag: tag) }
        try bytes.withUnsafeBufferPointer { all in
            var offset = firstCount
            while offset < bytes.count, let base = all.baseAddress {
                let n = min(maxElementsPerCall, bytes.count - offset)
                try sendPart(base + offset, n, to: rank, tag: tag)
                offset += n
            }
        }
    }

    /// MPI_Iprobe (polled) + MPI_Irecv of the first message, then the continuation messages (if any)
    /// from the same source and tag.
    public func receive(from rank: Int?, tag: Int?) throws -> (bytes: [UInt8], source: Int, tag: Int) {
        if let rank { precondition((0..<size).contains(rank), "receive: source \(rank) not in 0..<\(size)") }
        if let tag { precondition((0...32767).contains(tag), "receive: tag \(tag) outside 0...32767") }
        if rank == nil || rank == self.rank {
            if let i = messagesToSelf.firstIndex(where: { tag == nil || $0.tag == tag }) {
                let message = messagesToSelf.remove(at: i)
                return (message.bytes, self.rank, message.tag)
            }
            if rank == self.rank {
                throw CommError(call: "receive", message: "rank \(self.rank) waits for a message from itself (tag \(tag.map(String.init) ?? "any")) that it has not sent")
            }
        }
        let (first, source, matchedTag) = try receiveOne(source: Int32(rank ?? Int(cmpi_any_source())),
                                                         tag: Int32(tag ?? Int(cmpi_any_tag())))
        guard first.count >= 8 else {
            throw CommError(call: "receive", message: "a \(first.count)-byte message from rank \(source) (tag \(matchedTag)) has no 8-byte length header; was it sent with Communicator.send?")
        }
        let total = Int(Int64(littleEndian: first.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }))
        guard total >= first.count - 8 else {
            throw CommError(call: "receive", message: "header announces \(total) bytes but the first message holds \(first.count - 8)")
        }
        var out = [UInt8]()
        out.reserveCapacity(total)
        out.append(contentsOf: first[8...])
        while out.count < total {
            let (part, _, _) = try receiveOne(source: source, tag: matchedTag)
            guard out.count + part.count <= total else {
                throw CommError(call: "receive", message: "continuation overruns the announced \(total) bytes from rank \(source)")
            }
            out.append(contentsOf: part)
        }
        return (out, Int(source), Int(matchedTag))
    }

    /// MPI_Comm_split (MPI_UNDEFINED for a nil color); the new communicator returns errors too.
    public func split(color: Int?, key: Int) throws -> Communicator? {
        if let color { precondition(color >= 0 && color <= Int(Int32.max), "split: color \(color) must be >= 0") }
        precondition(Int32(exactly: key) != nil, "split: key \(key) does not fit in Int32")
        var newComm: MPI_Comm? = nil
        try check(MPI_Comm_split(comm, color.map { Int32($0) } ?? MPI_UNDEFINED, Int32(key), &newComm), "MPI_Comm_split")
        guard let newComm, newComm != cmpi_comm_null() else { return nil }
        return try MPICommunicator(comm: newComm, ownsComm: true, liveness: liveness)
    }

    /// MPI_Abort on this communicator (the launcher then ends every rank).
    public func abort(code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)  // MPI_Abort does not return; this only guards against a broken MPI.
    }

    // MARK: Helpers (element counts are chunked to maxElementsPerCall)

    private func forEachChunk(_ count: Int, _ body: (_ offset: Int, _ length: Int32) throws -> Void) rethrows {
        var offset = 0
        while offset < count {
            let n = min(maxElementsPerCall, count - offset)
            try body(offset, Int32(n))
            offset += n
        }
    }

    /// Polls `request` until it completes, pausing between polls (see `idle`).
    /// `bytes` (the transfer's size) lengthens the initial busy phase so large
    /// transfers, which advance only while MPI is called, are not slowed by pauses.
    private func complete(_ request: inout MPI_Request?, _ call: String, bytes: Int) throws {
        var done: Int32 = 0, pause = 0.0
        let start = Deadline.now(), busy = max(0.005, Double(bytes) / 1e9)
        while true {
            try check(MPI_Test(&request, &done, cmpi_status_ignore()), call)
            if done != 0 { return }
            idle(call, since: start, busy: busy, pause: &pause)
        }
    }

    /// Between two polls: aborts the job when the deadline has expired; yields the
    /// core during the first `busy` seconds, then sleeps, doubling the pause from
    /// 50 µs up to `maxPause`.
    private func idle(_ call: String, since start: Double, busy: Double, pause: inout Double) {
        if let deadline = liveness.deadline, deadline.isExpired { liveness.expire(deadline, waitingIn: call) }
        if Deadline.now() - start < busy { sched_yield(); return }
        pause = min(max(pause * 2, 50e-6), Self.maxPause)
        var ts = timespec(tv_sec: 0, tv_nsec: Int(pause * 1e9))
        nanosleep(&ts, nil)
    }

    private func sendPart(_ base: UnsafePointer<UInt8>?, _ count: Int, to rank: Int, tag: Int) throws {
        var request: MPI_Request? = nil
        try check(MPI_Isend(base, Int32(count), cmpi_uint8(), Int32(rank), Int32(tag), comm, &request), "MPI_Isend")
        try complete(&request, "MPI_Isend to rank \(rank)", bytes: count)
    }

    private func broadcastElements<T>(_ buffer: UnsafeMutableBufferPointer<T>, type: MPI_Datatype, root: Int) throws {
        precondition((0..<size).contains(root), "broadcast: root \(root) not in 0..<\(size)")
        guard let base = buffer.baseAddress else { return }
        try forEachChunk(buffer.count) { offset, n in
            var request: MPI_Request? = nil
            try check(MPI_Ibcast(base + offset, n, type, Int32(root), comm, &request), "MPI_Ibcast")
            try complete(&request, "MPI_Ibcast", bytes: Int(n) * MemoryLayout<T>.stride)
        }
    }

    private func allreduceElements<T>(_ buffer: UnsafeMutableBufferPointer<T>, type: MPI_Datatype, op: MPI_Op) throws {
        guard let base = buffer.baseAddress else { return }
        try forEachChunk(buffer.count) { offset, n in
            var request: MPI_Request? = nil
            try check(MPI_Iallreduce(cmpi_in_place(), base + offset, n, type, op, comm, &request), "MPI_Iallreduce")
            try complete(&request, "MPI_Iallreduce", bytes: Int(n) * MemoryLayout<T>.stride)
        }
    }

    /// One in-place reduce-scatter of a packed buffer (sum(counts) <= maxElementsPerCall);
    /// the result lands in the first counts[rank] elements.
    private func reduceScatterPacked(_ base: UnsafeMutablePointer<Float>, counts: [Int]) throws {
        var request: MPI_Request? = nil
        let bytes = counts.reduce(0, +) * MemoryLayout<Float>.stride
        if counts.allSatisfy({ $0 == counts[0] }) {
            try check(MPI_Ireduce_scatter_block(cmpi_in_place(), base, Int32(counts[0]), cmpi_float(), cmpi_sum(), comm, &request),
                      "MPI_Ireduce_scatter_block")
            try complete(&request, "MPI_Ireduce_scatter_block", bytes: bytes)
        } else {
            // The counts must stay valid until the operation completes.
            try counts.map { Int32($0) }.withUnsafeBufferPointer { recvCounts in
                try check(MPI_Ireduce_scatter(cmpi_in_place(), base, recvCounts.baseAddress, cmpi_float(), cmpi_sum(), comm, &request),
                          "MPI_Ireduce_scatter")
                try complete(&request, "MPI_Ireduce_scatter", bytes: bytes)
            }
        }
    }

    /// In-place allgatherv of consecutive segments, in rounds through a staging buffer
    /// when the total exceeds `maxElementsPerCall`.
    private func allgatherSegments<T>(_ buffer: UnsafeMutableBufferPointer<T>, counts: [Int], type: MPI_Datatype) throws {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let offsets = shardOffsets(counts: counts)
        if buffer.count <= maxElementsPerCall {
            try allgathervPacked(base, counts: counts, type: type)
            return
        }
        let slice = max(1, maxElementsPerCall / size)
        let staging = UnsafeMutablePointer<T>.allocate(capacity: slice * size)
        defer { staging.deallocate() }
        let stride = MemoryLayout<T>.stride
        for lo in Swift.stride(from: 0, to: counts.max() ?? 0, by: slice) {
            let parts = counts.map { max(0, min($0 - lo, slice)) }
            let displs = shardOffsets(counts: parts)
            if parts[rank] > 0 {
                UnsafeMutableRawPointer(staging + displs[rank])
                    .copyMemory(from: base + offsets[rank] + lo, byteCount: parts[rank] * stride)
            }
            try allgathervPacked(staging, counts: parts, type: type)
            for r in 0..<size where parts[r] > 0 {
                UnsafeMutableRawPointer(base + offsets[r] + lo)
                    .copyMemory(from: staging + displs[r], byteCount: parts[r] * stride)
            }
        }
    }

    private func allgathervPacked<T>(_ base: UnsafeMutablePointer<T>, counts: [Int], type: MPI_Datatype) throws {
        let recvCounts = counts.map { Int32($0) }
        let displs = shardOffsets(counts: counts).map { Int32($0) }
        // The counts and displacements must stay valid until the operation completes.
        try recvCounts.withUnsafeBufferPointer { c in
            try displs.withUnsafeBufferPointer { d in
                var request: MPI_Request? = nil
                try check(MPI_Iallgatherv(cmpi_in_place(), 0, type, base, c.baseAddress, d.baseAddress, type, comm, &request),
                          "MPI_Iallgatherv")
                try complete(&request, "MPI_Iallgatherv", bytes: counts.reduce(0, +) * MemoryLayout<T>.stride)
            }
        }
    }

    /// Polls for the next matching message (MPI_Iprobe) and receives it whole.
    private func receiveOne(source: Int32, tag: Int32) throws -> ([UInt8], Int32, Int32) {
        var status = MPI_Status()
        var found: Int32 = 0, pause = 0.0
        let call = source == cmpi_any_source() ? "receive from any rank" : "receive from rank \(source)"
        let start = Deadline.now()
        while true {
            try check(MPI_Iprobe(source, tag, comm, &found, &status), "MPI_Iprobe")
            if found != 0 { break }
            idle(call, since: start, busy: 0.005, pause: &pause)
        }
        var count: Int32 = 0
        try check(MPI_Get_count(&status, cmpi_uint8(), &count), "MPI_Get_count")
        guard count >= 0 else {
            throw CommError(call: "MPI_Get_count", message: "message size from rank \(status.MPI_SOURCE) is not a whole number of bytes")
        }
        var bytes = [UInt8](repeating: 0, count: Int(count))
        try bytes.withUnsafeMutableBufferPointer { out in
            var request: MPI_Request? = nil
            try check(MPI_Irecv(out.baseAddress, count, cmpi_uint8(), status.MPI_SOURCE, status.MPI_TAG, comm, &request), "MPI_Irecv")
            try complete(&request, call, bytes: Int(count))
        }
        return (bytes, status.MPI_SOURCE, status.MPI_TAG)
    }
}

/// What every communicator of one MPI world shares for liveness: the job's
/// current deadline, every world rank's host (exchanged once, when the world
/// is made) and a private duplicate of COMM_WORLD for the check that runs
/// when a deadline expires.
final class MPILiveness {
    /// Exit code of a job aborted on an expired deadline (EX_UNAVAILABLE: a rank stopped answering).
    static let abortCode: Int32 = 69
    private static let tag: Int32 = 1
    /// The current phase's deadline (nil = wait forever).
    var deadline: Deadline?
    /// Host of each world rank (MPI_Get_processor_name).
    let hosts: [String]
    let worldRank: Int
    private let checkComm: MPI_Comm

    private init(hosts: [String], worldRank: Int, checkComm: MPI_Comm) {
        self.hosts = hosts
        self.worldRank = worldRank
        self.checkComm = checkComm
    }

    /// Collective over COMM_WORLD, once per process: duplicates it and exchanges the host names.
    static func make() throws -> MPILiveness {
        let world = cmpi_comm_world()
        var dup: MPI_Comm? = nil
        try check(MPI_Comm_dup(world, &dup), "MPI_Comm_dup")
        guard let dup else { throw CommError(call: "MPI_Comm_dup", message: "returned no communicator") }
        try check(MPI_Comm_set_errhandler(dup, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        var r: Int32 = 0, s: Int32 = 0
        try check(MPI_Comm_rank(world, &r), "MPI_Comm_rank")
        try check(MPI_Comm_size(world, &s), "MPI_Comm_size")
        let width = Int(cmpi_max_processor_name())
        var name = [CChar](repeating: 0, count: width + 1)
        var length: Int32 = 0
        try check(MPI_Get_processor_name(&name, &length), "MPI_Get_processor_name")
        var mine = [UInt8](repeating: 0, count: width)
        for i in 0..<min(Int(length), width) { mine[i] = UInt8(bitPattern: name[i]) }
        var all = [UInt8](repeating: 0, count: width * Int(s))
        try check(MPI_Allgather(mine, Int32(width), cmpi_uint8(), &all, Int32(width), cmpi_uint8(), world), "MPI_Allgather")
        let hosts = (0..<Int(s)).map { k in
            String(decoding: all[k * width..<(k + 1) * width].prefix { $0 != 0 }, as: UTF8.self)
        }
        return MPILiveness(hosts: hosts, worldRank: Int(r), checkComm: dup)
    }

    /// The deadline expired while this rank waited in `call`: every rank that is
    /// waiting too announces itself to all others on the private communicator
    /// (small messages, never waited on) and listens for a short window; the
    /// ranks not heard from are the ones named. The lowest rank heard prints the
    /// one message; every rank then aborts the job.
    func expire(_ deadline: Deadline, waitingIn call: String) -> Never {
        let size = hosts.count
        let note = Array(call.utf8)
        for r in 0..<size where r != worldRank {
            // Leaked on purpose: MPI may read it until the job ends, which is now.
            let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, note.count))
            buffer.initialize(from: note, count: note.count)
            var request: MPI_Request? = nil
            _ = MPI_Isend(buffer, Int32(note.count), cmpi_uint8(), Int32(r), Self.tag, checkComm, &request)
        }
        var heard: [Int: String] = [worldRank: call]
        let end = Deadline.now() + min(5, max(2, deadline.seconds * 0.2))
        while Deadline.now() < end && heard.count < size {
            var found: Int32 = 0
            var status = MPI_Status()
            guard MPI_Iprobe(cmpi_any_source(), Self.tag, checkComm, &found, &status) == cmpi_success(), found != 0 else {
                usleep(2000)
                continue
            }
            var count: Int32 = 0
            MPI_Get_count(&status, cmpi_uint8(), &count)
            var bytes = [UInt8](repeating: 0, count: Int(max(1, count)))
            _ = MPI_Recv(&bytes, count, cmpi_uint8(), status.MPI_SOURCE, Self.tag, checkComm, cmpi_status_ignore())
            heard[Int(status.MPI_SOURCE)] = String(decoding: bytes.prefix(Int(max(0, count))), as: UTF8.self)
        }
        let report = DeadlineReport(deadline: deadline, responders: heard, hosts: hosts)
        if heard.keys.min() == worldRank {
            FileHandle.standardError.write(Data((report.message + "\n").utf8))
        } else {
            sleep(3)  // let the reporting rank print and abort first
        }
        MPI_Abort(cmpi_comm_world(), Self.abortCode)
        exit(Self.abortCode)  // MPI_Abort does not return; this only guards against a broken MPI.
    }
}
