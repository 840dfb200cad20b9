/// An error raised while parsing or rendering a Jinja chat template.
///
/// The message says where (line of the template), what was expected, what was
/// found, and what to do about it. `raise_exception(msg)` in a template becomes
/// a `.raised` error carrying the template's own message.
public struct JinjaError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The broad class of failure, for callers that branch on it.
    public enum Kind: String, Sendable {
        /// The template text is not valid in the supported Jinja subset.
        case syntax
        /// Rendering failed: an undefined name, a wrong type, an unknown filter…
        case runtime
        /// The template called `raise_exception(message)`.
        case raised
        /// A safety bound (loop iterations, output size, nesting) was exceeded.
        case limit
    }

    /// The broad class of failure.
    public let kind: Kind
    /// The complete human-readable explanation.
    public let message: String
    /// The 1-based template line the error refers to, when known.
    public let line: Int?

    /// Creates an error; `description` combines the parts.
    public init(_ kind: Kind, _ message: String, line: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
    }

    /// One line: kind, template line and message.
    public var description: String {
        let place = line.map { " (template line \($0))" } ?? ""
        switch kind {
        case .raised: return "chat template raised an exception\(place): \(message)"
        case .syntax: return "chat template syntax error\(place): \(message)"
        case .runtime: return "chat template error\(place): \(message)"
        case .limit: return "chat template exceeded a safety limit\(place): \(message)"
        }
    }
}
