import Foundation

/// A request to checkpoint and stop at the next step boundary (Slurm's
/// `--signal=B:USR1@300` before the time limit, or `scancel --signal=USR1`).
///
/// The signal handler only stores into a flag allocated before the handler is
/// installed (an async-signal-safe store); the job reads it at step
/// boundaries and allreduces it, so every rank stops after the same step.
public enum StopRequest {
    /// Process exit code of a job that checkpointed and stopped on request
    /// (EX_TEMPFAIL: "try again later"); the sbatch scripts requeue on it.
    public static let exitCode: Int32 = 75

    /// The flag the handler sets (allocated once, never freed).
    static let flag: UnsafeMutablePointer<sig_atomic_t> = {
        let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// Installs the SIGUSR1 handler (idempotent).
    public static func installSignalHandler() {
        _ = flag  // allocate before the handler can run
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in StopRequest.flag.pointee = 1 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGUSR1, &action, nil)
    }

    /// Whether a stop was requested on this process.
    public static var isRequested: Bool { flag.pointee != 0 }

    /// Requests a stop without a signal (tests) or clears the request.
    public static func set(_ requested: Bool) { flag.pointee = requested ? 1 : 0 }
}
