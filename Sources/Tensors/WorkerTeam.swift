import Foundation

#if os(Linux) && canImport(Synchronization)
import Synchronization

/// A fixed team of persistent threads for many short parallel sections in a
/// row (a decode step runs ~30 of them, 10–500 µs each).
///
/// A section is cut into pieces that the participants claim from a shared
/// counter: the caller always works, and a worker joins as soon as it sees the
/// section. So a worker that is descheduled (a shared, oversubscribed machine)
/// or still waking up costs at most the piece it holds, instead of the whole
/// section waiting for it, and `DispatchQueue.concurrentPerform`'s habit of
/// running everything on the caller before a parked pool thread wakes cannot
/// happen either. Workers poll for `spinNanoseconds` after a section, then
/// sleep on a condition variable, so an idle team costs nothing.
public final class WorkerTeam: @unchecked Sendable {
    /// Participants including the calling thread.
    public let size: Int
    /// How long an idle worker polls for the next section before sleeping.
    public static let spinNanoseconds: UInt64 = 200_000

    private let generation = Atomic<Int>(0)
    private let nextPiece = Atomic<Int>(0)
    private let donePieces = Atomic<Int>(0)
    /// Workers between "I saw a section" and "I am done with it".
    private let active = Atomic<Int>(0)
    private let open = Atomic<Bool>(false)
    private let busy = Atomic<Bool>(false)
    private let condition = NSCondition()
    /// The current section's pieces; valid while `open` (or while a worker is `active`).
    private var job: ((Int, Int) -> Void)?
    private var pieces = 0

    private init(size: Int) {
        self.size = size
        for index in 1..<max(size, 1) {
            let t = Thread { [self] in self.workerLoop(index) }
            t.name = "worker-team-\(index)"
            t.start()
        }
    }

    nonisolated(unsafe) private static var teams: [Int: WorkerTeam] = [:]
    private static let teamsLock = NSLock()

    /// The process-wide team with `Parallel.workers` participants.
    public static var current: WorkerTeam { shared(size: Parallel.workers) }

    /// The process-wide team of `size` participants (created on first use, never torn down).
    public static func shared(size: Int) -> WorkerTeam {
        teamsLock.lock(); defer { teamsLock.unlock() }
        if let t = teams[size] { return t }
        let t = WorkerTeam(size: size)
        teams[size] = t
        return t
    }

    /// Runs `body(participant, piece)` for every piece in 0..<pieces, spread
    /// over the team (participant 0 is the caller; participant ids are < size
    /// and a participant runs one piece at a time, so they can index scratch).
    /// Returns when all pieces are done. Runs inline when the team is already
    /// busy (nested or concurrent use) or has one member.
    public func run(pieces n: Int, _ body: (Int, Int) -> Void) {
        if n <= 1 || size <= 1 { for p in 0..<max(n, 0) { body(0, p) }; return }
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for p in 0..<n { body(0, p) }
            return
        }
        withoutActuallyEscaping(body) { b in
            job = b; pieces = n
            nextPiece.store(0, ordering: .relaxed)
            donePieces.store(0, ordering: .relaxed)
            open.store(true, ordering: .sequentiallyConsistent)
            generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
            condition.lock(); condition.broadcast(); condition.unlock()
            var finished = 0
            while true {
                let p = nextPiece.wrappingAdd(1, ordering: .relaxed).oldValue
                if p >= n { break }
                b(0, p); finished += 1
            }
            if finished < n {
                var spins = 0
                while donePieces.load(ordering: .acquiring) + finished < n {
                    spins += 1
                    if spins > 1000 { sched_yield() }
                }
            }
            // Close the section; wait out workers that may still be looking at it.
            open.store(false, ordering: .sequentiallyConsistent)
            while active.load(ordering: .sequentiallyConsistent) != 0 { sched_yield() }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// `Parallel.forChunks` on the team: `body(participant, range)` over
    /// pieces of 0..<count of at least `grain` items each (about four per
    /// participant); inline when `count < 2 · grain`.
    @inline(__always)
    public func forChunks(_ count: Int, grain: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        let g = Swift.max(grain, 1)
        let n = Swift.min(Swift.max(1, count / g), 4 * size)
        if n <= 1 || size <= 1 { body(0, 0..<count); return }
        run(pieces: n) { who, j in
            let lo = count * j / n, hi = count * (j + 1) / n
            if lo < hi { body(who, lo..<hi) }
        }
    }

    private func workerLoop(_ index: Int) {
        var seen = 0
        while true {
            var g = generation.load(ordering: .sequentiallyConsistent)
            if g == seen {
                let start = DispatchTime.now().uptimeNanoseconds
                var spins = 0
                while g == seen {
                    spins &+= 1
                    if spins & 255 == 0 && DispatchTime.now().uptimeNanoseconds - start > Self.spinNanoseconds {
                        condition.lock()
                        g = generation.load(ordering: .sequentiallyConsistent)
                        while g == seen {
                            condition.wait()
                            g = generation.load(ordering: .sequentiallyConsistent)
                        }
                        condition.unlock()
                        break
                    }
                    g = generation.load(ordering: .sequentiallyConsistent)
                }
            }
            seen = g
            active.wrappingAdd(1, ordering: .sequentiallyConsistent)
            if open.load(ordering: .sequentiallyConsistent), let b = job {
                let n = pieces
                var finished = 0
                while true {
                    let p = nextPiece.wrappingAdd(1, ordering: .relaxed).oldValue
                    if p >= n { break }
                    b(index, p); finished += 1
                }
                if finished > 0 { donePieces.wrappingAdd(finished, ordering: .releasing) }
            }
            active.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        }
    }
}

#else

/// Fallback where the Synchronization module is unavailable: the same API on
/// `Parallel` (Dispatch).
public final class WorkerTeam: @unchecked Sendable {
    public let size: Int
    private init(size: Int) { self.size = size }
    public static var current: WorkerTeam { WorkerTeam(size: Parallel.workers) }
    public static func shared(size: Int) -> WorkerTeam { WorkerTeam(size: size) }

    public func run(pieces n: Int, _ body: (Int, Int) -> Void) {
        if n <= 1 || size <= 1 { for p in 0..<max(n, 0) { body(0, p) }; return }
        Parallel.forChunks(n) { who, range in for p in range { body(who, p) } }
    }

    @inline(__always)
    public func forChunks(_ count: Int, grain: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        Parallel.forChunks(count, minPerWorker: grain, body)
    }
}

#endif
