import ArgumentParser

/// Placeholder until the demo lands in the next commit.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train the tiny model on a synthetic task and sample from it.")
    func run() throws { print("demo") }
}
