/// One prompt of a dataset, with what the verifier needs.
public struct PromptItem: Equatable, Sendable {
    /// Text given to the model.
    public var prompt: String
    /// Reference answer.
    public var groundTruth: String
    /// Benchmark or family name (metrics are reported per source).
    public var dataSource: String
    /// The system message of a chat prompt (verl files), for the model's chat
    /// template; nil when the data gives none.
    public var system: String?

    /// Creates an item.
    public init(prompt: String, groundTruth: String, dataSource: String, system: String? = nil) {
        self.prompt = prompt; self.groundTruth = groundTruth; self.dataSource = dataSource; self.system = system
    }
}
