import Comm
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who holds a run directory: the JSON content of `<run>/run.lock`.
public struct RunLockHolder: Codable, Equatable, Sendable {
    /// Host name of the leader rank.
    public var host: String
    /// Process id of the leader rank on that host.
    public var pid: Int32
    /// `SLURM_JOB_ID` of the job, when it ran under Slurm.
    public var slurmJobId: String?
    /// When the job started (ISO 8601, UTC).
    public var started: String

    /// This process, now.
    public static func current() -> RunLockHolder {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count - 1) == 0 ? String(cString: name) : "unknown"
        return RunLockHolder(host: host, pid: getpid(),
                      slurmJobId: ProcessInfo.processInfo.environment["SLURM_JOB_ID"].flatMap { $0.isEmpty ? nil : $0 },
                      started: ISO8601DateFormatter().string(from: Date()))
    }

    /// `"host h, pid 12, Slurm job 345, started 2026-…"`.
    public var description: String {
        "host \(host), pid \(pid)\(slurmJobId.map { ", Slurm job \($0)" } ?? ""), started \(started)"
    }
}

/// One job per run directory: the leader creates `<run>/run.lock` atomically
/// (O_CREAT|O_EXCL) before it writes anything there and removes it when the job
/// ends cleanly (also after a checkpoint-and-stop on a signal). A lock whose
/// holder is gone (its pid dead on this host, or its Slurm job no longer listed
/// by `squeue`) is taken over with a message; a live one is refused.
public struct RunLock {
    /// The lock file's path.
    public let path: String

    /// Collective: the leader takes the lock of `runDirectory`, every rank learns
    /// the outcome (one broadcast), and all throw the same error when it is refused.
    /// Returns the lock on the leader, nil elsewhere.
    public static func acquire(world: Communicator, leader: Int, runDirectory: String) throws -> RunLock? {
        var lock: RunLock?
        var refusal = ""
        if world.rank == leader {
            do { lock = try take(runDirectory: runDirectory) } catch { refusal = "\(error)" }
        }
        let outcome = try world.broadcastBytes(Array(refusal.utf8), root: leader)
        if !outcome.isEmpty { throw JobError(String(decoding: outcome, as: UTF8.self)) }
        return lock
    }

    /// Leader: creates the lock file, or takes over a stale one; throws naming a live holder.
    public static func take(runDirectory: String, me: RunLockHolder = .current()) throws -> RunLock {
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        let path = runDirectory + "/run.lock"
        let body = Array((String(decoding: try JSONEncoder().encode(me), as: UTF8.self) + "\n").utf8)
        if try create(path, body) { return RunLock(path: path) }
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        guard let holder = try? JSONDecoder().decode(RunLockHolder.self, from: Data(text.utf8)) else {
            throw JobError("\(path): expected a run lock (JSON with host, pid, started), found \(text.isEmpty ? "an empty file" : "'\(text.prefix(80))'"). "
                           + "If no job runs on \(runDirectory), delete \(path) and run again.")
        }
        if let why = staleness(holder, me: me) {
            print("ispo-cluster: taking over the run lock \(path) of a job that is gone (\(holder.description); \(why))")
            try? FileManager.default.removeItem(atPath: path)
            if try create(path, body) { return RunLock(path: path) }
            throw JobError("\(path): another job took the run lock while this one replaced a stale lock; one job per run directory.")
        }
        throw JobError("\(runDirectory) is in use by another job (\(holder.description)): expected no run.lock, found \(path). "
                       + "Wait for that job to end or stop it (scancel, or SIGUSR1/SIGTERM to checkpoint and stop), or use another "
                       + "run directory (trainer.experiment_name / trainer.default_local_dir). If that job is gone without "
                       + "removing its lock (a crash on another host), delete \(path).")
    }

    /// Removes the lock (at a clean end of the job).
    public func release() {
        unlink(path)
    }

    /// O_CREAT|O_EXCL: true when this call created the file (with `body`), false when it exists.
    private static func create(_ path: String, _ body: [UInt8]) throws -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw JobError("\(path): cannot create the run lock: \(String(cString: strerror(errno))). Check that the run directory is writable.")
        }
        defer { close(fd) }
        let written = body.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == body.count, fsync(fd) == 0 else {
            unlink(path)
            throw JobError("\(path): cannot write the run lock: \(String(cString: strerror(errno)))")
        }
        return true
    }

    /// Why `holder` no longer runs, or nil when it may (or cannot be shown not to).
    static func staleness(_ holder: RunLockHolder, me: RunLockHolder) -> String? {
        if let job = holder.slurmJobId, let listed = squeueLists(job: job), !listed {
            return "Slurm job \(job) is no longer listed by squeue"
        }
        guard holder.host == me.host else { return nil }
        if holder.pid == me.pid { return "it is this process's own pid, left by an earlier run" }
        if kill(holder.pid, 0) != 0 && errno == ESRCH { return "no process \(holder.pid) on this host" }
        // A pid reused by an unrelated program.
        if let cmd = try? String(contentsOfFile: "/proc/\(holder.pid)/cmdline", encoding: .utf8), !cmd.contains("ispo-cluster") {
            return "process \(holder.pid) is not ispo-cluster"
        }
        return nil
    }

    /// Whether `squeue -h -j JOB` lists the job; nil when squeue is missing or does not answer in 10 s.
    static func squeueLists(job: String) -> Bool? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        guard let squeue = paths.map({ "\($0)/squeue" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return nil
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: squeue)
        p.arguments = ["-h", "-j", job, "-o", "%i"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return nil }
        let end = Date().addingTimeInterval(10)
        while p.isRunning && Date() < end { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning { p.terminate(); return nil }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let error = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if p.terminationStatus == 0 { return !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        // A job squeue has forgotten: "Invalid job id specified". Any other failure (no
        // controller reachable) says nothing about the job.
        return error.contains("Invalid job id") ? false : nil
    }
}
