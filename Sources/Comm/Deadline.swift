import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A time limit on waiting for the other ranks during one phase of a job (a
/// step, a checkpoint write). The job sets it on its world communicator at the
/// start of each phase; every collective and point-to-point wait of
/// `MPICommunicator` checks it while it polls. When it expires the job is
/// aborted with a message naming the phase, the wait and the ranks that did
/// not respond, instead of hanging forever on a frozen rank or a dead link.
public struct Deadline: Sendable, CustomStringConvertible {
    /// What the job is doing (`"step 5"`, `"checkpoint of step 4"`), for the message.
    public let phase: String
    /// The budget in seconds (from the start of the phase).
    public let seconds: Double
    /// The config key that sets the budget (`trainer.step_timeout_s`), for the message.
    public let key: String
    /// When the budget runs out, in `Deadline.now()` seconds.
    public let expiresAt: Double

    /// A budget of `seconds` from now for `phase`, set by config key `key`; nil when
    /// `seconds` is 0 or less (no limit).
    public init?(phase: String, seconds: Double, key: String) {
        guard seconds > 0, seconds.isFinite else { return nil }
        self.phase = phase
        self.seconds = seconds
        self.key = key
        expiresAt = Deadline.now() + seconds
    }

    private init(phase: String, seconds: Double, key: String, expiresAt: Double) {
        self.phase = phase
        self.seconds = seconds
        self.key = key
        self.expiresAt = expiresAt
    }

    /// The same deadline `seconds` later: a phase that was paused while a nested one
    /// (an evaluation) ran under its own budget.
    public func extended(by seconds: Double) -> Deadline {
        Deadline(phase: phase, seconds: self.seconds, key: key, expiresAt: expiresAt + max(0, seconds))
    }

    /// Seconds on the monotonic clock (unaffected by changes of the wall clock).
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Whether the budget has run out.
    public var isExpired: Bool { Deadline.now() >= expiresAt }

    /// `"step 5 (trainer.step_timeout_s=1800)"`.
    public var description: String { "\(phase) (\(key)=\(Deadline.format(seconds)))" }

    /// Seconds without a trailing `.0`.
    static func format(_ s: Double) -> String { s == s.rounded() && abs(s) < 1e15 ? String(Int(s)) : String(s) }
}

/// The one message printed when a deadline expires: which phase, where this
/// rank waited, who answered the liveness check and who did not (with hosts).
/// Pure, so it is tested without MPI.
public struct DeadlineReport: Sendable {
    /// The deadline that expired.
    public let deadline: Deadline
    /// World ranks that answered, with the wait each was in (`"MPI_Iallreduce"`).
    public let responders: [Int: String]
    /// Host of each world rank.
    public let hosts: [String]

    /// A report of `deadline` given who answered the liveness check.
    public init(deadline: Deadline, responders: [Int: String], hosts: [String]) {
        self.deadline = deadline
        self.responders = responders
        self.hosts = hosts
    }

    /// World ranks that did not answer: frozen, cut off, or still busy past the deadline.
    public var silent: [Int] { (0..<hosts.count).filter { responders[$0] == nil } }

    /// The message: expected / found / what to do.
    public var message: String {
        let name = { (r: Int) in "rank \(r) (host \(hosts[r]))" }
        let waiting = responders.keys.sorted().map { "\(name($0)) in \(responders[$0] ?? "?")" }.joined(separator: ", ")
        let missing = silent.map(name).joined(separator: ", ")
        let secs = Deadline.format(deadline.seconds)
        return "ispo-cluster: \(deadline.phase): expected every rank to reach the next collective within \(secs) s "
            + "(\(deadline.key)=\(secs)); found \(missing.isEmpty ? "no rank silent" : "no answer from \(missing)")"
            + " — waiting: \(waiting.isEmpty ? "none" : waiting). Aborting the job (the last complete checkpoint on disk stays valid). "
            + "Check the named host(s) (a stopped process, a dropped link), then rerun the same command to resume; "
            + "if the phase is legitimately slower, raise \(deadline.key) (0 = no limit)."
    }
}
