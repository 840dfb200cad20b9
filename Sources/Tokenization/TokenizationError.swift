import Foundation

/// An error raised while building, loading or using a tokenizer.
///
/// The message always says what was expected, what was found and what to do
/// about it; errors raised while loading a file name that file.
public struct TokenizationError: Error, CustomStringConvertible, LocalizedError, Sendable {
    /// The complete human-readable explanation of the problem.
    public let message: String

    /// Creates an error carrying `message` verbatim.
    public init(_ message: String) {
        self.message = message
    }

    /// The same text as `message`.
    public var description: String { message }

    /// The same text as `message`, so `localizedDescription` is informative.
    public var errorDescription: String? { message }
}
