import Foundation

/// Launcher detection needs only the environment, so it lives outside the file that
/// imports MPI (and is testable without MPI).
extension MPIRuntime {
    /// Environment variables that launchers set on every rank (OpenMPI's mpirun, PMIx,
    /// MPICH/Hydra's PMI). Slurm's `SLURM_PROCID` counts only together with `SLURM_NTASKS`.
    static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK",
                                    "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"]

    /// Whether `environment` looks like a process started by mpirun/mpiexec/srun.
    public static func isLaunchedUnderMPI(environment: [String: String]) -> Bool {
        if launcherVariables.contains(where: { environment[$0] != nil }) { return true }
        return environment["SLURM_PROCID"] != nil && environment["SLURM_NTASKS"] != nil
    }

    /// Whether this process was started by an MPI launcher (see `isLaunchedUnderMPI(environment:)`).
    public static var isLaunchedUnderMPI: Bool {
        isLaunchedUnderMPI(environment: ProcessInfo.processInfo.environment)
    }
}
