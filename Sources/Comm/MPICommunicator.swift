// The only Swift file that touches MPI. Every call's return code is checked and
// turned into a CommError carrying MPI_Error_string's text (COMM_WORLD and every
// split communicator use MPI_ERRORS_RETURN, so failures come back as codes
// instead of aborting inside the library).
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
        return try MPICommunicator(comm: cmpi_comm_world(), ownsComm: false)
    }

    private init(comm: MPI_Comm, ownsComm: Bool) throws {
        self.comm = comm
        self.ownsComm = ownsComm
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

    /// MPI_Barrier.
    public func barrier() throws {
        try check(MPI_Barrier(comm), "MPI_Barrier")
    }

    /// MPI_Bcast in chunks of at most `maxElementsPerCall`.
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try broadcastElements(buffer, type: cmpi_float(), root: root)
    }

    /// Length (Int64) first, then the bytes, both from `root`.
    public func broadcastBytes(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        precondition((0..<size).contains(root), "broadcastBytes: root \(root) not in 0..<\(size)")
        var length = Int64(rank == root ? bytes.count : 0)
        try check(MPI_Bcast(&length, 1, cmpi_int64(), Int32(root), comm), "MPI_Bcast")
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
        var mine = Int64(bytes.count)
        var lengths = [Int64](repeating: 0, count: size)
        try check(MPI_Allgather(&mine, 1, cmpi_int64(), &lengths, 1, cmpi_int64(), comm), "MPI_Allgather")
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
        try check(MPI_Send(first, Int32(first.count), cmpi_uint8(), Int32(rank), Int32(tag), comm), "MPI_Send")
        try bytes.withUnsafeBufferPointer { all in
            var offset = firstCount
            while offset < bytes.count, let base = all.baseAddress {
                let n = min(maxElementsPerCall, bytes.count - offset)
                try check(MPI_Send(base + offset, Int32(n), cmpi_uint8(), Int32(rank), Int32(tag), comm), "MPI_Send")
                offset += n
            }
        }
    }

    /// MPI_Probe + MPI_Recv of the first message, then the continuation messages (if any)
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
        return try MPICommunicator(comm: newComm, ownsComm: true)
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

    private func broadcastElements<T>(_ buffer: UnsafeMutableBufferPointer<T>, type: MPI_Datatype, root: Int) throws {
        precondition((0..<size).contains(root), "broadcast: root \(root) not in 0..<\(size)")
        guard let base = buffer.baseAddress else { return }
        try forEachChunk(buffer.count) { offset, n in
            try check(MPI_Bcast(base + offset, n, type, Int32(root), comm), "MPI_Bcast")
        }
    }

    private func allreduceElements<T>(_ buffer: UnsafeMutableBufferPointer<T>, type: MPI_Datatype, op: MPI_Op) throws {
        guard let base = buffer.baseAddress else { return }
        try forEachChunk(buffer.count) { offset, n in
            try check(MPI_Allreduce(cmpi_in_place(), base + offset, n, type, op, comm), "MPI_Allreduce")
        }
    }

    /// One in-place reduce-scatter of a packed buffer (sum(counts) <= maxElementsPerCall);
    /// the result lands in the first counts[rank] elements.
    private func reduceScatterPacked(_ base: UnsafeMutablePointer<Float>, counts: [Int]) throws {
        if counts.allSatisfy({ $0 == counts[0] }) {
            try check(MPI_Reduce_scatter_block(cmpi_in_place(), base, Int32(counts[0]), cmpi_float(), cmpi_sum(), comm),
                      "MPI_Reduce_scatter_block")
        } else {
            let recvCounts = counts.map { Int32($0) }
            try check(MPI_Reduce_scatter(cmpi_in_place(), base, recvCounts, cmpi_float(), cmpi_sum(), comm),
                      "MPI_Reduce_scatter")
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
        try check(MPI_Allgatherv(cmpi_in_place(), 0, type, base, recvCounts, displs, type, comm), "MPI_Allgatherv")
    }

    /// Probes for the next matching message and receives it whole.
    private func receiveOne(source: Int32, tag: Int32) throws -> ([UInt8], Int32, Int32) {
        var status = MPI_Status()
        try check(MPI_Probe(source, tag, comm, &status), "MPI_Probe")
        var count: Int32 = 0
        try check(MPI_Get_count(&status, cmpi_uint8(), &count), "MPI_Get_count")
        guard count >= 0 else {
            throw CommError(call: "MPI_Get_count", message: "message size from rank \(status.MPI_SOURCE) is not a whole number of bytes")
        }
        var bytes = [UInt8](repeating: 0, count: Int(count))
        try check(MPI_Recv(&bytes, count, cmpi_uint8(), status.MPI_SOURCE, status.MPI_TAG, comm, cmpi_status_ignore()), "MPI_Recv")
        return (bytes, status.MPI_SOURCE, status.MPI_TAG)
    }
}
