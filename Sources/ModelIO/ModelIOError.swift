/// A model, tokenizer or config file that cannot be read or written.
///
/// Every error names the file, what was expected there, what was found instead
/// and what to do about it, so that the message alone is enough to act on.
public struct ModelIOError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The broad class of failure, for callers that branch on it.
    public enum Kind: String, Sendable {
        /// The file does not exist or cannot be opened.
        case unreadable
        /// The file is not of the expected format (wrong magic, not JSON, ...).
        case wrongFormat
        /// The format version is not supported.
        case unsupportedVersion
        /// The file ends before a structure it announces.
        case truncated
        /// A length, count, offset or value is inconsistent or out of range.
        case malformed
        /// The data type of a tensor or value is not supported by this reader.
        case unsupportedType
        /// A tensor or metadata key the model needs is absent.
        case missing
        /// A tensor has a different shape than the model config implies.
        case shapeMismatch
        /// Writing the file failed.
        case writeFailed
    }

    /// The broad class of failure.
    public let kind: Kind
    /// Path (or descriptive name) of the file concerned.
    public let file: String
    /// What the reader expected to find.
    public let expected: String
    /// What it found instead.
    public let found: String
    /// What the user can do about it.
    public let remedy: String

    /// Creates an error; every part ends up in `description`.
    public init(_ kind: Kind, file: String, expected: String, found: String, remedy: String) {
        self.kind = kind
        self.file = file
        self.expected = expected
        self.found = found
        self.remedy = remedy
    }

    /// One line: file, expectation, finding and remedy.
    public var description: String {
        "\(file): expected \(expected), found \(found). \(remedy)"
    }
}

/// Remedy texts shared by the readers.
enum Remedy {
    static let redownload =
        "The file is corrupt or incomplete: download or export it again (for the bundled data run Launch/fetch-data.sh)."
    static let reconvert =
        "Convert the model again with a supported tool (llama.cpp's convert_hf_to_gguf.py or Hugging Face safetensors)."
    static let quantization =
        "Re-export the model as F32, F16, BF16, Q8_0, Q4_0 or Q4_1 (e.g. llama-quantize --allow-requantize ... Q8_0)."
}
