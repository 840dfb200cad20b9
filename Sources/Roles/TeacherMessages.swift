/// Tags of the teacher protocol on the world communicator (point-to-point;
/// no other message in the job uses them).
public enum TeacherTags {
    /// Client → teacher: a `TeacherRequest`.
    public static let request = 7100
    /// Teacher → client: a `TeacherReply`.
    public static let reply = 7101
}

/// Score one sequence teacher-forced: log π_T(tokens[t] | tokens[<t]) for
/// t in `from..<tokens.count`, optionally with entropies and the top-k per position.
public struct ScoreQuery: Equatable, Sendable {
    /// The whole sequence (prompt and response).
    public var tokens: [Int32]
    /// First position scored (≥ 1): the response start, usually.
    public var from: Int
    /// Top-k ids and log-probs per scored position; 0 = none, the vocabulary size = the full row.
    public var topK: Int
    /// Also return the entropy of each scored position's distribution.
    public var entropies: Bool
    /// A sequence that will be scored again as it grows (MOTAB's teacher-side
    /// trigger): the teacher keeps the keys and values of `tokens` under this
    /// key, and the next query with the same key runs only the tokens past
    /// their common prefix (`TeacherPrefixCache`). Results equal an unkeyed
    /// query's up to rounding. Keys are per client rank (the server adds the
    /// rank), in 0..<2³²; nil = stateless.
    public var cacheKey: Int?

    /// Creates a query.
    public init(tokens: [Int32], from: Int, topK: Int = 0, entropies: Bool = false, cacheKey: Int? = nil) {
        self.tokens = tokens; self.from = from; self.topK = topK; self.entropies = entropies; self.cacheKey = cacheKey
    }
}

/// The teacher's answer to a `ScoreQuery` (n = scored positions).
public struct ScoreResult: Equatable, Sendable {
    /// (n) log π_T of each scored token.
    public var logProbs: [Float]
    /// (n) entropies, or empty when not asked for.
    public var entropies: [Float]
    /// (n·k) top-k ids per position, most probable first (ties: lower id), or empty.
    public var topIds: [Int32]
    /// (n·k) their log-probs.
    public var topLogProbs: [Float]

    /// Creates a result.
    public init(logProbs: [Float], entropies: [Float] = [], topIds: [Int32] = [], topLogProbs: [Float] = []) {
        self.logProbs = logProbs; self.entropies = entropies; self.topIds = topIds; self.topLogProbs = topLogProbs
    }
}

/// Continue one sequence greedily from `prefix` until the teacher emits a
/// boundary or stop token (kept), or has written `maxTokens` tokens.
public struct ContinueQuery: Equatable, Sendable {
    /// Prompt plus the kept response prefix.
    public var prefix: [Int32]
    /// L_T for this request (≥ 0; the server also stops at its context length).
    public var maxTokens: Int

    /// Creates a query.
    public init(prefix: [Int32], maxTokens: Int) { self.prefix = prefix; self.maxTokens = maxTokens }
}

/// The teacher's continuation.
public struct ContinueResult: Equatable, Sendable {
    /// The new tokens (ending with the boundary or stop token when one was emitted).
    public var tokens: [Int32]
    /// log π_T of each (temperature 1).
    public var logProbs: [Float]

    /// Creates a result.
    public init(tokens: [Int32], logProbs: [Float]) { self.tokens = tokens; self.logProbs = logProbs }
}

/// A request to a teacher rank. Typed and versioned like `RolloutBatch`.
public enum TeacherRequest: Equatable, Sendable {
    /// Teacher-forced scoring of several sequences.
    case score(id: Int, queries: [ScoreQuery])
    /// Greedy continuation of several prefixes to their next step boundary;
    /// `boundaryTokens` end a step (`;` and newline for synthetic traces),
    /// `stopTokens` end the sequence (EOS).
    case continuation(id: Int, queries: [ContinueQuery], boundaryTokens: [Int32], stopTokens: [Int32])
    /// The sender will send nothing more; the server stops once every client has said so.
    case shutdown

    /// Wire-format version; bump when the encoding changes (2: `ScoreQuery.cacheKey`).
    public static let formatVersion = 2

    /// Binary encoding.
    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.write(Self.formatVersion)
        switch self {
        case let .score(id, queries):
            w.write(1); w.write(id); w.write(queries.count)
            for q in queries {
                w.write(q.tokens); w.write(q.from); w.write(q.topK); w.write(q.entropies ? 1 : 0); w.write(q.cacheKey ?? -1)
            }
        case let .continuation(id, queries, boundary, stop):
            w.write(2); w.write(id); w.write(boundary); w.write(stop); w.write(queries.count)
            for q in queries { w.write(q.prefix); w.write(q.maxTokens) }
        case .shutdown:
            w.write(3)
        }
        return w.bytes
    }

    /// Decodes `encoded()`; throws on truncation, an unknown kind or a version mismatch.
    public init(decoding bytes: [UInt8]) throws {
        var r = BinaryReader(bytes, what: "TeacherRequest")
        let version = try r.int()
        guard version == Self.formatVersion else {
            throw MessageError("TeacherRequest: format version \(version), expected \(Self.formatVersion); all ranks must run the same binary")
        }
        switch try r.int() {
        case 1:
            let id = try r.int(), n = try r.int()
            guard n >= 0 && n <= bytes.count else { throw MessageError("TeacherRequest: bad query count \(n)") }
            var qs: [ScoreQuery] = []
            for _ in 0..<n {
                let tokens = try r.int32s(), from = try r.int(), topK = try r.int(), entropies = try r.int() != 0, key = try r.int()
                qs.append(ScoreQuery(tokens: tokens, from: from, topK: topK, entropies: entropies, cacheKey: key < 0 ? nil : key))
            }
            self = .score(id: id, queries: qs)
        case 2:
            let id = try r.int(), boundary = try r.int32s(), stop = try r.int32s(), n = try r.int()
            guard n >= 0 && n <= bytes.count else { throw MessageError("TeacherRequest: bad query count \(n)") }
            var qs: [ContinueQuery] = []
            for _ in 0..<n { qs.append(ContinueQuery(prefix: try r.int32s(), maxTokens: try r.int())) }
            self = .continuation(id: id, queries: qs, boundaryTokens: boundary, stopTokens: stop)
        case 3:
            self = .shutdown
        case let k:
            throw MessageError("TeacherRequest: unknown kind \(k), expected 1 (score), 2 (continue) or 3 (shutdown)")
        }
    }
}

/// A teacher rank's answer to one request.
public enum TeacherReply: Equatable, Sendable {
    /// One result per score query, in order.
    case scores(id: Int, results: [ScoreResult])
    /// One result per continue query, in order.
    case continuations(id: Int, results: [ContinueResult])
    /// The request could not be served: what was expected, what was found, what to do.
    case failure(id: Int, message: String)

    /// Wire-format version; bump when the encoding changes.
    public static let formatVersion = 1

    /// The request id this answers.
    public var id: Int {
        switch self {
        case let .scores(id, _), let .continuations(id, _), let .failure(id, _): return id
        }
    }

    /// Binary encoding.
    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.write(Self.formatVersion)
        switch self {
        case let .scores(id, results):
            w.write(1); w.write(id); w.write(results.count)
            for s in results { w.write(s.logProbs); w.write(s.entropies); w.write(s.topIds); w.write(s.topLogProbs) }
        case let .continuations(id, results):
            w.write(2); w.write(id); w.write(results.count)
            for c in results { w.write(c.tokens); w.write(c.logProbs) }
        case let .failure(id, message):
            w.write(3); w.write(id); w.write(message)
        }
        return w.bytes
    }

    /// Decodes `encoded()`; throws on truncation, an unknown kind or a version mismatch.
    public init(decoding bytes: [UInt8]) throws {
        var r = BinaryReader(bytes, what: "TeacherReply")
        let version = try r.int()
        guard version == Self.formatVersion else {
            throw MessageError("TeacherReply: format version \(version), expected \(Self.formatVersion); all ranks must run the same binary")
        }
        let kind = try r.int(), id = try r.int()
        switch kind {
        case 1:
            let n = try r.int()
            guard n >= 0 && n <= bytes.count else { throw MessageError("TeacherReply: bad result count \(n)") }
            var rs: [ScoreResult] = []
            for _ in 0..<n {
                rs.append(ScoreResult(logProbs: try r.floats(), entropies: try r.floats(), topIds: try r.int32s(),
                                      topLogProbs: try r.floats()))
            }
            self = .scores(id: id, results: rs)
        case 2:
            let n = try r.int()
            guard n >= 0 && n <= bytes.count else { throw MessageError("TeacherReply: bad result count \(n)") }
            var rs: [ContinueResult] = []
            for _ in 0..<n { rs.append(ContinueResult(tokens: try r.int32s(), logProbs: try r.floats())) }
            self = .continuations(id: id, results: rs)
        case 3:
            self = .failure(id: id, message: try r.string())
        default:
            throw MessageError("TeacherReply: unknown kind \(kind), expected 1 (scores), 2 (continuations) or 3 (failure)")
        }
    }
}
