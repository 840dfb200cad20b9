/// One prompt of a dataset, with what the verifier needs.
public struct PromptItem: Equatable, Sendable {
    /// Text given to the model.
    public var prompt: String
    /// Reference answer.
    public var groundTruth: String
    /// Benchmark or family name (metrics are reported per source).
    public var dataSource: String

    /// Creates an item.
    public init(prompt: String, groundTruth: String, dataSource: String) {
        self.prompt = prompt; self.groundTruth = groundTruth; self.dataSource = dataSource
    }
}
