import Foundation

/// Per-token log-probabilities of a training set at named checkpoints, keyed
/// by (checkpoint, sample id, position): what T3S compares between θ_0 and
/// the bottleneck θ_b, kept on disk so the restart does not rescore.
///
/// File format (version 1, little-endian; `TokenLedgerFormat` holds the constants):
///
/// ```
/// header, 40 bytes
///   0  magic "ISPOTLDG"                 8 bytes
///   8  version                          u32 (1)
///  12  reserved                         u32 (0; anything else is rejected)
///  16  payload length (decompressed)    u64
///  24  frame length (compressed)        u64; file size = 40 + frame length
///  32  CRC-32C of the payload           u32 (decompressed bytes)
///  36  CRC-32C of bytes 0..<36          u32
/// frame: one zstd frame holding the payload
/// payload
///   checkpoint count                    u32
///   per checkpoint, names in ascending order:
///     name length u16 (1...1024), name UTF-8, sample count u32,
///     per sample, ids ascending: sample id i64, token count u32
///   floats: every sample's log-probs in the order above, fp32 bit patterns,
///     byte-shuffled (all first bytes, then all second bytes, …) for zstd
/// ```
///
/// Writes are atomic (temporary file, fsync, rename, directory fsync); a read
/// checks magic, version, both CRCs, the sizes and every count, and throws a
/// `CheckpointError` naming the file otherwise.
public struct TokenLedger: Equatable, Sendable {
    /// checkpoint → sample id → log-probs by position.
    public private(set) var entries: [String: [Int: [Float]]] = [:]

    /// An empty ledger.
    public init() {}

    /// Stores (replacing) the log-probs of `sampleID`'s tokens at `checkpoint`.
    /// logProbs: (T), log π(y_t) per position. The name must be 1...1024 UTF-8 bytes.
    public mutating func record(checkpoint: String, sampleID: Int, logProbs: [Float]) {
        let n = checkpoint.utf8.count
        precondition(n >= 1 && n <= TokenLedgerFormat.maxNameLength,
                     "TokenLedger: checkpoint name of \(n) bytes; use 1...\(TokenLedgerFormat.maxNameLength)")
        precondition(logProbs.count <= Int(UInt32.max), "TokenLedger: \(logProbs.count) tokens in one sample")
        entries[checkpoint, default: [:]][sampleID] = logProbs
    }

    /// The recorded log-probs, or nil if that sample was not recorded there.
    public func logProbs(checkpoint: String, sampleID: Int) -> [Float]? { entries[checkpoint]?[sampleID] }

    /// Checkpoint names, ascending.
    public var checkpoints: [String] { entries.keys.sorted() }

    /// Sample ids recorded at `checkpoint`, ascending.
    public func sampleIDs(checkpoint: String) -> [Int] { (entries[checkpoint]?.keys).map { $0.sorted() } ?? [] }

    /// Bit-level equality (a NaN equals the same NaN; 0 and −0 differ), which
    /// is what a round trip must preserve.
    public static func == (a: TokenLedger, b: TokenLedger) -> Bool {
        guard a.checkpoints == b.checkpoints else { return false }
        for c in a.checkpoints {
            guard a.sampleIDs(checkpoint: c) == b.sampleIDs(checkpoint: c) else { return false }
            for s in a.sampleIDs(checkpoint: c) {
                guard a.entries[c]![s]!.map(\.bitPattern) == b.entries[c]![s]!.map(\.bitPattern) else { return false }
            }
        }
        return true
    }

    /// Writes the ledger to `path` atomically at zstd `level`.
    public func write(to path: String, level: Int = 3) throws {
        guard Zstd.levels.contains(level) else {
            throw CheckpointError(.invalidArgument, file: path, expected: "a zstd level in \(Zstd.levels)", found: "\(level)",
                                  remedy: "Pass a level libzstd accepts (3 is its default).")
        }
        try FileOps.writeAtomically(try TokenLedgerFormat.encode(self, level: level, file: path), to: path, budget: nil)
    }

    /// Reads and verifies the ledger at `path`.
    public static func read(from path: String) throws -> TokenLedger {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CheckpointError(.unreadable, file: path, expected: "a readable token ledger file", found: errnoDescription(errno),
                                  remedy: "Check the path; a ledger is written by TokenLedger.write(to:).")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(.unreadable, file: path, expected: "a regular file", found: "a directory or special file",
                                  remedy: "Pass a token ledger file.")
        }
        let bytes = try ShardReader.read(fd, path: path, offset: 0, count: Int(st.st_size), what: "the token ledger")
        return try TokenLedgerFormat.decode(bytes, file: path)
    }
}
