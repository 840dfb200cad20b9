import Tokenization
import Transformer

/// Text ↔ token ids for a policy, whatever the tokenizer.
public protocol TextCodec {
    /// Token ids of `text`.
    func encode(_ text: String) throws -> [Int32]
    /// Text of `ids` (special tokens dropped).
    func decode(_ ids: [Int32]) -> String
    /// Vocabulary size.
    var vocabSize: Int { get }
    /// End-of-sequence id (generation stops after it).
    var eos: Int32 { get }
    /// Padding id (never trained on).
    var pad: Int32 { get }
    /// The text actually given to the model for a task prompt (a chat
    /// template for instruction-tuned models; unchanged for char-level tasks).
    func formatPrompt(_ text: String) -> String
}

extension TextCodec {
    /// Unchanged by default.
    public func formatPrompt(_ text: String) -> String { text }
}

/// The char-level codec of the synthetic tasks: `<pad>`, `<eos>`, then the alphabet.
public struct CharCodec: TextCodec {
    /// The underlying tokenizer.
    public let tokenizer: CharTokenizer
    public let eos: Int32
    public let pad: Int32

    /// A codec over `alphabet`.
    public init(alphabet: [Character]) throws {
        tokenizer = try CharTokenizer(alphabet: alphabet, specials: ["<pad>", "<eos>"])
        pad = tokenizer.specialID("<pad>")!
        eos = tokenizer.specialID("<eos>")!
    }
    public func encode(_ text: String) throws -> [Int32] { try tokenizer.encode(text) }
    public func decode(_ ids: [Int32]) -> String { tokenizer.decode(ids, skipSpecials: true) }
    public var vocabSize: Int { tokenizer.vocabSize }
}

/// Byte-level BPE (real models): EOS is `<|im_end|>` when the vocabulary has it, else `<|endoftext|>`.
public struct BPECodec: TextCodec {
    /// The underlying tokenizer.
    public let tokenizer: ByteLevelBPE
    public let eos: Int32
    public let pad: Int32

    /// Wraps `tokenizer`.
    public init(tokenizer: ByteLevelBPE) {
        self.tokenizer = tokenizer
        eos = tokenizer.id(of: "<|im_end|>") ?? tokenizer.id(of: "<|endoftext|>") ?? 0
        pad = tokenizer.id(of: "<|endoftext|>") ?? 0
    }
    public func encode(_ text: String) throws -> [Int32] { tokenizer.encode(text, allowSpecial: true) }
    public func decode(_ ids: [Int32]) -> String {
        tokenizer.decode(ids.filter { !tokenizer.isSpecial($0) })
    }
    public var vocabSize: Int { tokenizer.vocabSize }

    /// A ChatML user turn plus the assistant header when the vocabulary has
    /// ChatML's special tokens (SmolLM2-Instruct, Qwen2), else the raw text.
    public func formatPrompt(_ text: String) -> String {
        guard tokenizer.id(of: "<|im_start|>") != nil else { return text }
        return ChatTemplate.chatML.render([ChatMessage(role: "user", content: text)], addGenerationPrompt: true)
    }
}

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

/// Outcome of checking one response.
public struct Verdict: Sendable {
    /// The extracted answer matched.
    public var correct: Bool
    /// The check ran out of time (counted, scored as wrong).
    public var timedOut: Bool

    /// Creates a verdict.
    public init(correct: Bool, timedOut: Bool = false) { self.correct = correct; self.timedOut = timedOut }
}

/// Checks a response against an item.
public typealias VerifyFunction = (_ response: String, _ item: PromptItem) -> Verdict
