import Foundation

/// Why reading or writing a checkpoint failed: which file, what was expected,
/// what was found, and what to do about it.
public struct CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The broad class of failure, for callers that branch on it.
    public enum Kind: String, Sendable {
        /// The file or directory does not exist or cannot be opened.
        case unreadable
        /// The file is not a checkpoint shard or manifest (wrong magic, not JSON, ...).
        case wrongFormat
        /// The format version is newer than this reader.
        case unsupportedVersion
        /// The file ends before a structure it announces.
        case truncated
        /// A length, count, offset or value is inconsistent or out of range.
        case malformed
        /// Stored bytes do not match their recorded checksum or size.
        case checksumMismatch
        /// A tensor, shard or marker the caller asked for is absent.
        case missing
        /// The checkpoint directory is not complete (no DONE marker, or a staging directory).
        case incomplete
        /// The destination already exists.
        case conflict
        /// The disk is full (ENOSPC or EDQUOT).
        case diskFull
        /// Any other failed write, fsync, rename or removal.
        case writeFailed
        /// The caller passed an unusable option (compression level, name, ...).
        case invalidArgument
    }

    /// The broad class of failure.
    public let kind: Kind
    /// Path of the file or directory concerned.
    public let file: String
    /// What the reader or writer expected.
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
    public var description: String { "\(file): expected \(expected), found \(found). \(remedy)" }
}

/// Remedy texts shared by the readers and writers.
enum CheckpointRemedy {
    static let corrupt = "The checkpoint file is corrupt or incomplete: resume from an earlier checkpoint "
        + "(`checkpoint.resume_mode=<path>`) or delete this one."
    static let diskFull = "Free disk space or point the run directory elsewhere; the partial checkpoint was removed "
        + "and the previous complete checkpoint is untouched."
    static let writeFailed = "Check the permissions and health of the run directory; the partial checkpoint was removed "
        + "and the previous complete checkpoint is untouched."
    static let newerVersion = "This checkpoint was written by a newer ispo-cluster: upgrade to read it."
}

/// Text for `errno`, e.g. `No space left on device (errno 28)`.
func errnoDescription(_ code: Int32) -> String {
    "\(String(cString: strerror(code))) (errno \(code))"
}

/// A write-side error from `errno`: ENOSPC and EDQUOT become `.diskFull`.
func writeError(_ code: Int32, file: String, doing what: String) -> CheckpointError {
    let full = code == ENOSPC || code == EDQUOT
    return CheckpointError(full ? .diskFull : .writeFailed, file: file, expected: "to \(what)",
                           found: errnoDescription(code),
                           remedy: full ? CheckpointRemedy.diskFull : CheckpointRemedy.writeFailed)
}
