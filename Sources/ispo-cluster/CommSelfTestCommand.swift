import ArgumentParser

/// `ispo-cluster selftest-comm`: exercises every collective over real MPI
/// ranks (run under mpirun by Launch/test.sh). Filled in with the Comm target.
struct CommSelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "selftest-comm", abstract: "Check MPI collectives across ranks.",
                                                    shouldDisplay: false)
    func run() throws {}
}
