import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A request to checkpoint and stop at the next step boundary: SIGUSR1
/// (Slurm's `--signal=B:USR1@300` before the time limit, `scancel --signal=USR1`),
/// SIGTERM (preemption, `scancel`) or SIGINT (Ctrl-C).
///
/// The handler only stores into memory allocated before it is installed (the
/// signal number and the time, async-signal-safe stores); the job reads them at
/// step boundaries and allreduces them, so every rank stops after the same step.
/// A second signal ends the process at once from the handler (`_exit(128 + signal)`),
/// with no clean-up that could hang. A watcher thread ends the process when the
/// step has not reached its boundary within the grace time (`trainer.signal_grace_s`).
public enum StopRequest {
    /// Exit code of a job that stopped on SIGUSR1 or SIGTERM at a step boundary, after its
    /// checkpoint (EX_TEMPFAIL: "try again later"); the sbatch scripts requeue on it.
    public static let exitCode: Int32 = 75
    /// Exit code of a job that stopped on SIGINT at a step boundary, after its checkpoint (128 + SIGINT).
    public static let interruptExitCode: Int32 = 130
    /// Exit code of a job that was signalled but whose step did not end (or whose checkpoint
    /// would not fit) within `trainer.signal_grace_s`: it exited without a new checkpoint; the
    /// previous one stands. The sbatch scripts requeue on it too.
    public static let graceExceededExitCode: Int32 = 76

    /// The first signal's number (0: none), set by the handler.
    static let flag: UnsafeMutablePointer<sig_atomic_t> = {
        let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()
    /// When the first signal arrived (CLOCK_MONOTONIC), set by the handler.
    static let signalTime: UnsafeMutablePointer<timespec> = {
        let p = UnsafeMutablePointer<timespec>.allocate(capacity: 1)
        p.initialize(to: timespec())
        return p
    }()
    /// Set once the job has agreed to stop and the watcher must let the checkpoint finish.
    static let disarmed: UnsafeMutablePointer<sig_atomic_t> = {
        let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// The signals that request a stop.
    public static let signals: [Int32] = [SIGUSR1, SIGTERM, SIGINT]

    /// Installs the handler of SIGUSR1, SIGTERM and SIGINT (idempotent) and starts the
    /// watcher that ends a signalled process whose step overruns `graceSeconds`.
    public static func installSignalHandler(graceSeconds: Double = 120) {
        _ = (flag, signalTime, disarmed)  // allocate before the handler can run
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signo in
            if StopRequest.flag.pointee != 0 { _exit(128 + signo) }  // the second signal: at once
            clock_gettime(CLOCK_MONOTONIC, StopRequest.signalTime)
            StopRequest.flag.pointee = signo
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        for s in signals { sigaction(s, &action, nil) }
        let grace = graceSeconds
        let watcher = Thread {
            while true {
                Thread.sleep(forTimeInterval: 0.1)
                guard isRequested, disarmed.pointee == 0, secondsSinceSignal > grace else { continue }
                let message = "ispo-cluster: \(signalName(Int32(flag.pointee))): the current step did not end within "
                    + "trainer.signal_grace_s=\(grace) s; exiting without a new checkpoint (exit code \(graceExceededExitCode)); "
                    + "the last complete checkpoint stays valid and a rerun resumes from it. Raise trainer.signal_grace_s "
                    + "(and Slurm's --signal lead time) if steps are longer.\n"
                FileHandle.standardError.write(Data(message.utf8))
                _exit(graceExceededExitCode)
            }
        }
        watcher.start()
    }

    /// Whether a stop was requested on this process.
    public static var isRequested: Bool { flag.pointee != 0 }

    /// The signal that requested the stop (0: none; SIGUSR1 for `set(true)`).
    public static var signal: Int32 { Int32(flag.pointee) }

    /// Seconds since the first signal (0 when none).
    public static var secondsSinceSignal: Double {
        guard isRequested else { return 0 }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let t = signalTime.pointee
        return Double(now.tv_sec - t.tv_sec) + Double(now.tv_nsec - t.tv_nsec) * 1e-9
    }

    /// Requests a stop without a signal (tests: as SIGUSR1) or clears the request.
    public static func set(_ requested: Bool) {
        clock_gettime(CLOCK_MONOTONIC, signalTime)
        disarmed.pointee = 0
        flag.pointee = requested ? sig_atomic_t(SIGUSR1) : 0
    }

    /// The job agreed to stop and checkpoint within the grace time: the watcher stands down.
    static func disarmGrace() { disarmed.pointee = 1 }

    /// `"SIGTERM"`.
    public static func signalName(_ signo: Int32) -> String {
        switch signo {
        case SIGUSR1: return "SIGUSR1"
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        default: return "signal \(signo)"
        }
    }
}

/// The stop every rank agreed on at a step boundary (one allreduce): the
/// strongest signal any rank got (SIGINT > SIGTERM > SIGUSR1), the longest time
/// since it, and the last checkpoint's duration (identical on every rank, so
/// every rank takes the same decision).
struct AgreedStop {
    /// SIGUSR1, SIGTERM or SIGINT.
    let signal: Int32
    /// Seconds since the signal, the maximum over ranks.
    let elapsed: Double
    /// Seconds the last checkpoint took (0 before the first), the maximum over ranks.
    let lastSave: Double

    /// Rank of a signal in the allreduce (0: none).
    static func code(_ signal: Int32) -> Double {
        switch signal {
        case SIGINT: return 3
        case SIGTERM: return 2
        case 0: return 0
        default: return 1
        }
    }

    /// The signal of a code.
    static func signal(code: Double) -> Int32 { code >= 3 ? SIGINT : code >= 2 ? SIGTERM : SIGUSR1 }

    /// Why no checkpoint is written, when the save would end past `grace` seconds after the signal.
    func overrun(grace: Double) -> String? {
        guard elapsed + lastSave > grace else { return nil }
        return String(format: "the step ended %.1f s after %@ and a checkpoint takes about %.1f s, beyond "
                      + "trainer.signal_grace_s=%g s", elapsed, StopRequest.signalName(signal), lastSave, grace)
    }

    /// The process exit code after this stop: 75 (SIGUSR1, SIGTERM) or 130 (SIGINT), or 76 when
    /// the checkpoint was skipped for lack of time.
    func exitCode(skipped: Bool) -> Int32 {
        if skipped { return StopRequest.graceExceededExitCode }
        return signal == SIGINT ? StopRequest.interruptExitCode : StopRequest.exitCode
    }
}
