import ArgumentParser
import Platform
import Tensors

/// `ispo-cluster`: one binary for every rank and every pipeline.
struct ISPOCluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ispo-cluster",
        abstract: "Post-training of reasoning language models on a CPU cluster (ISPO, MOTAB, MoT, …).",
        subcommands: [Run.self, Bench.self, Info.self, CommSelfTest.self, Generate.self, Export.self, Inspect.self, MergeModels.self, Ledger.self, Detect.self, MotabPremise.self],
        defaultSubcommand: Run.self)
}

// The hardware probes run here, once, before any command: the numeric targets get their results as values.
BlasKernelSelection.reexecWithFastKernelsIfNeeded(loadedCore: Blas.coreName)
KernelChoice.probe().apply()
ISPOCluster.main()
