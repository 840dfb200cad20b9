import Tokenization

/// Text ↔ token ids for a policy, whatever the tokenizer.
public protocol TextCodec {
    /// Token ids of `text`.
    func encode(_ text: String) throws -> [Int32]
    /// Text of `ids` (special tokens dropped).
    func decode(_ ids: [Int32]) -> String
    /// Text of `ids` with special tokens spelled out (`<|im_start|>`): what
    /// the model was given, so another implementation can encode the same ids.
    func decodeVerbatim(_ ids: [Int32]) -> String
    /// Vocabulary size.
    var vocabSize: Int { get }
    /// End-of-sequence id (generation stops after it).
    var eos: Int32 { get }
    /// Padding id (never trained on).
    var pad: Int32 { get }
    /// The text actually given to the model for a task prompt (a chat
    /// template for instruction-tuned models; unchanged for char-level tasks).
    func formatPrompt(_ text: String) throws -> String
}

extension TextCodec {
    /// Unchanged by default.
    public func formatPrompt(_ text: String) throws -> String { text }
}

/// The char-level codec of the synthetic tasks: `<pad>`, `<eos>`, then the alphabet.
public struct CharCodec: TextCodec {
    /// The underlying tokenizer.
    public let tokenizer: CharTokenizer
    /// The `<eos>` id.
    public let eos: Int32
    /// The `<pad>` id.
    public let pad: Int32

    /// A codec over `alphabet`.
    public init(alphabet: [Character]) throws {
        tokenizer = try CharTokenizer(alphabet: alphabet, specials: ["<pad>", "<eos>"])
        pad = tokenizer.specialID("<pad>")!
        eos = tokenizer.specialID("<eos>")!
    }
    /// Ids of `text`; throws for a character outside the alphabet.
    public func encode(_ text: String) throws -> [Int32] { try tokenizer.encode(text) }
    /// Text of `ids` without `<pad>` and `<eos>`.
    public func decode(_ ids: [Int32]) -> String { tokenizer.decode(ids, skipSpecials: true) }
    /// Text of `ids` with `<pad>` and `<eos>` spelled out.
    public func decodeVerbatim(_ ids: [Int32]) -> String { tokenizer.decode(ids, skipSpecials: false) }
    /// Alphabet plus the two specials.
    public var vocabSize: Int { tokenizer.vocabSize }
}

/// Byte-level BPE (real models): EOS is `<|im_end|>` when the vocabulary has it, else `<|endoftext|>`.
public struct BPECodec: TextCodec {
    /// The underlying tokenizer.
    public let tokenizer: ByteLevelBPE
    /// `<|im_end|>`, else `<|endoftext|>`, else 0.
    public let eos: Int32
    /// `<|endoftext|>`, else 0.
    public let pad: Int32

    /// The model's chat template (nil: ChatML when the vocabulary has its tokens).
    public let chatTemplate: ModelChatTemplate?
    /// What wraps a task prompt (`data.prompt.chat_template`).
    public let wrapping: PromptWrapping
    /// The system message before the user turn (`data.prompt.system`); nil = none.
    public let system: String?

    /// Wraps `tokenizer`, rendering prompts with `wrapping` (nil: the model's
    /// `chatTemplate`; without one, ChatML when the vocabulary has ChatML's
    /// special tokens, else the raw text) and `system`.
    public init(tokenizer: ByteLevelBPE, chatTemplate: ModelChatTemplate? = nil, wrapping: PromptWrapping? = nil,
                system: String? = nil) {
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.system = system
        if let wrapping {
            self.wrapping = wrapping
        } else if let chatTemplate, chatTemplate.source != nil {
            self.wrapping = .jinja(chatTemplate)
        } else {
            self.wrapping = tokenizer.id(of: "<|im_start|>") != nil ? .chatML : .raw
        }
        eos = tokenizer.id(of: "<|im_end|>") ?? tokenizer.id(of: "<|endoftext|>") ?? 0
        pad = tokenizer.id(of: "<|endoftext|>") ?? 0
    }
    /// Ids of `text`; special-token spellings in it become their ids.
    public func encode(_ text: String) throws -> [Int32] { tokenizer.encode(text, allowSpecial: true) }
    /// Text of `ids` with special tokens dropped.
    public func decode(_ ids: [Int32]) -> String {
        tokenizer.decode(ids.filter { !tokenizer.isSpecial($0) })
    }
    /// Text of `ids` with special tokens spelled out; `encode` gives `ids` back.
    public func decodeVerbatim(_ ids: [Int32]) -> String { tokenizer.decode(ids) }
    /// The tokenizer's vocabulary size.
    public var vocabSize: Int { tokenizer.vocabSize }

    /// One user turn (after the system message, when there is one) rendered
    /// as `wrapping` says: a Jinja chat template as transformers'
    /// `apply_chat_template` with the generation prompt, ChatML, or the raw text.
    public func formatPrompt(_ text: String) throws -> String {
        let turns = (system.map { [ChatMessage(role: "system", content: $0)] } ?? []) + [ChatMessage(role: "user", content: text)]
        switch wrapping {
        case .jinja(let template): return try template.render(turns, addGenerationPrompt: true)
        case .chatML: return ChatTemplate.chatML.render(turns, addGenerationPrompt: true)
        case .raw: return text
        }
    }
}

/// What wraps a task prompt before tokenization (`data.prompt.chat_template`).
public enum PromptWrapping: Sendable {
    /// A Jinja chat template: the model's own or one read from a file.
    case jinja(ModelChatTemplate)
    /// ChatML (`<|im_start|>role\ncontent<|im_end|>`), built in.
    case chatML
    /// The user message alone.
    case raw
}
