/// A model's prompt format: its own Jinja chat template (GGUF
/// `tokenizer.chat_template` or `tokenizer_config.json`'s `chat_template`),
/// rendered as transformers' `apply_chat_template(tokenize=False)` renders it,
/// or ChatML when the model has none.
///
/// Parse once, render many times; the value is immutable and `Sendable`.
public struct ModelChatTemplate: Sendable {
    /// The Jinja source, or nil when this is the ChatML fallback.
    public let source: String?
    /// The text of the model's BOS token (`bos_token` in the template), if it has one.
    public let bosToken: String?
    /// The text of the model's EOS token (`eos_token` in the template), if it has one.
    public let eosToken: String?
    private let template: JinjaTemplate?
    private let now: @Sendable () -> JinjaDateTime

    /// The fallback for models without a template: ChatML, as `ChatTemplate.chatML`.
    public static let chatML = ModelChatTemplate(fallback: ())

    private init(fallback: Void) {
        source = nil
        bosToken = nil
        eosToken = nil
        template = nil
        now = { JinjaDateTime.now() }
    }

    /// Parses `source` (nil or empty selects ChatML). `now` is the clock behind
    /// `strftime_now` (Llama 3.2 prints today's date); inject a fixed one in tests.
    /// Throws `JinjaError` when the template uses syntax outside the supported subset.
    public init(source: String?, bosToken: String? = nil, eosToken: String? = nil,
                now: @escaping @Sendable () -> JinjaDateTime = { JinjaDateTime.now() }) throws {
        let text = source.flatMap { $0.isEmpty ? nil : $0 }
        self.source = text
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.template = try text.map { try JinjaTemplate($0) }
        self.now = now
    }

    /// The conversation as the model was trained to see it; with
    /// `addGenerationPrompt` it ends with an opened assistant turn.
    ///
    /// Template variables are those transformers passes: `messages` (dicts
    /// with `role` and `content`), `add_generation_prompt`, `bos_token`,
    /// `eos_token`, `tools` = none, `documents` = none, plus `extraVariables`
    /// (e.g. `["enable_thinking": .bool(false)]`). Throws `JinjaError`; a
    /// template's `raise_exception(msg)` arrives as kind `.raised` with `msg`.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool,
                       extraVariables: [String: JinjaValue] = [:]) throws -> String {
        guard let template else {
            return ChatTemplate.chatML.render(messages, addGenerationPrompt: addGenerationPrompt)
        }
        var variables = extraVariables
        variables["messages"] = .array(messages.map {
            .object(JinjaObject([("role", .string($0.role)), ("content", .string($0.content))]))
        })
        variables["add_generation_prompt"] = .bool(addGenerationPrompt)
        variables["tools"] = JinjaValue.none
        variables["documents"] = JinjaValue.none
        if let bosToken { variables["bos_token"] = .string(bosToken) }
        if let eosToken { variables["eos_token"] = .string(eosToken) }
        return try template.render(variables, now: now)
    }
}
