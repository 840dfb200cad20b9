import ArgumentParser
import Tensors

/// `ispo-cluster info`: what this binary will run with on this machine.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the BLAS kernels and threads this binary uses here.")

    @Flag(help: "Print only the OpenBLAS kernel family (for scripts).") var blasCore = false

    func run() {
        if blasCore { print(Blas.coreName); return }
        print("OpenBLAS kernels: \(Blas.coreName), threads: \(Blas.threads)")
    }
}
