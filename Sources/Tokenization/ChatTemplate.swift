/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable, Codable {
    /// Who speaks: "system", "user", "assistant", …
    public var role: String
    /// What is said.
    public var content: String

    /// Creates a message.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Renders conversations in a fixed `start + role + separator + content + end`
/// format (ChatML). A model's own Jinja chat template is rendered by
/// `ModelChatTemplate`, which falls back to `ChatTemplate.chatML`.
public struct ChatTemplate: Sendable {
    /// Text before each message's role.
    public let messageStart: String
    /// Text between the role and the content.
    public let roleSeparator: String
    /// Text after each message's content.
    public let messageEnd: String

    /// Creates a template of the form `start + role + separator + content + end`.
    public init(messageStart: String, roleSeparator: String, messageEnd: String) {
        self.messageStart = messageStart
        self.roleSeparator = roleSeparator
        self.messageEnd = messageEnd
    }

    /// ChatML, as used by SmolLM: `<|im_start|>role\ncontent<|im_end|>\n`
    /// (no BOS token is added).
    public static let chatML = ChatTemplate(messageStart: "<|im_start|>", roleSeparator: "\n",
                                            messageEnd: "<|im_end|>\n")

    /// The rendered conversation; with `addGenerationPrompt`, it ends with an
    /// opened assistant turn for the model to complete.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var text = ""
        for message in messages {
            text += messageStart + message.role + roleSeparator + message.content + messageEnd
        }
        if addGenerationPrompt {
            text += messageStart + "assistant" + roleSeparator
        }
        return text
    }
}
