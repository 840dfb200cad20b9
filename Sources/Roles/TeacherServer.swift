import Comm
import Foundation
import Layers
import Tensors
import Transformer

/// What MOTAB (and any other method needing a teacher) asks of a teacher,
/// whether it lives on this rank (`LocalTeacher`), on another rank
/// (`TeacherClient`) or in a test (a scripted teacher).
public protocol Teacher: AnyObject {
    /// Teacher-forced scores, one result per query.
    func score(_ queries: [ScoreQuery]) throws -> [ScoreResult]
    /// Greedy continuations to the next step boundary, one result per query.
    func continueSequences(_ queries: [ContinueQuery], boundaryTokens: Set<Int32>,
                           stopTokens: Set<Int32>) throws -> [ContinueResult]
}

/// A request a teacher cannot serve: expected, found, what to do.
public struct TeacherError: Error, CustomStringConvertible {
    /// The message.
    public let description: String
    /// Wraps a message.
    public init(_ s: String) { description = s }
}

/// A teacher holding its own `Model` on this rank; also what `TeacherServer`
/// runs for requests from other ranks. Requests are validated first, so a
/// bad request throws `TeacherError` instead of tripping a model precondition.
///
/// Keyed queries (`ScoreQuery.cacheKey`, MOTAB's teacher-side trigger) go
/// through a `TeacherPrefixCache` made at the first one and kept for the
/// teacher's lifetime (a distill step makes a new `LocalTeacher`).
public final class LocalTeacher: Teacher {
    /// The teacher network (frozen: nothing here changes its parameters).
    public let model: Model
    private let prefixCapacity: Int
    private var prefixCache: TeacherPrefixCache?

    /// Keyed sequences whose keys and values are kept at most, unless `init` says otherwise.
    public static let defaultPrefixCapacity = 1024

    /// Wraps a loaded model (`ModelSource.load` or `.randomTiny`); `prefixCapacity`
    /// = keyed sequences whose keys and values are kept at most.
    public init(model: Model, prefixCapacity: Int = LocalTeacher.defaultPrefixCapacity) {
        precondition(prefixCapacity >= 1, "LocalTeacher: prefixCapacity must be ≥ 1")
        self.model = model; self.prefixCapacity = prefixCapacity
    }

    /// Keyed scoring so far: tokens run through the model, and tokens whose
    /// cached keys and values were reused.
    public var prefixCacheTokens: (computed: Int, reused: Int) {
        (prefixCache?.computedTokens ?? 0, prefixCache?.reusedTokens ?? 0)
    }

    public func score(_ queries: [ScoreQuery]) throws -> [ScoreResult] {
        let V = model.config.vocabSize, maxLen = model.config.maxSeqLen
        for (i, q) in queries.enumerated() {
            try checkTokens(q.tokens, "score query \(i)")
            guard q.tokens.count >= 2, q.tokens.count <= maxLen else {
                throw TeacherError("score query \(i): expected 2...\(maxLen) tokens (the teacher's context), found \(q.tokens.count); shorten the sequence or load the teacher with a longer max_seq_len")
            }
            guard q.from >= 1, q.from <= q.tokens.count else {
                throw TeacherError("score query \(i): expected from in 1...\(q.tokens.count), found \(q.from); pass the index of the first response token")
            }
            guard q.topK >= 0, q.topK <= V else {
                throw TeacherError("score query \(i): expected top_k in 0...\(V) (the vocabulary), found \(q.topK)")
            }
            guard (q.cacheKey ?? 0) >= 0 else {
                throw TeacherError("score query \(i): expected a cache key ≥ 0 or none, found \(q.cacheKey!)")
            }
        }
        let keys = queries.compactMap(\.cacheKey)
        if let dup = Dictionary(grouping: keys, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw TeacherError("score request: cache key \(dup) appears in several queries; expected one query per key "
                               + "and request (a key names one growing sequence)")
        }
        var out = [ScoreResult](repeating: ScoreResult(logProbs: []), count: queries.count)
        let work = queries.indices.filter { queries[$0].from < queries[$0].tokens.count }
        // Stateless queries teacher-forced in groups; keyed ones through the prefix cache, `capacity` at a time.
        let plain = work.filter { queries[$0].cacheKey == nil }, keyed = work.filter { queries[$0].cacheKey != nil }
        let seqs = plain.map { queries[$0].tokens }, from = plain.map { queries[$0].from }
        for group in Model.teacherForcedGroups(lengths: seqs.map(\.count), from: from, vocab: V) {
            let logits = model.teacherForcedLogits(sequences: seqs, members: group, from: from)
            read(logits, queries: queries, members: group.map { plain[$0] }, into: &out)
        }
        if !keyed.isEmpty {
            let cache = prefixCache ?? TeacherPrefixCache(model: model, capacity: prefixCapacity)
            prefixCache = cache
            for group in Model.teacherForcedGroups(lengths: keyed.map { queries[$0].tokens.count }, from: keyed.map { queries[$0].from },
                                                   vocab: V, maxSlots: prefixCapacity) {
                let members = group.map { keyed[$0] }
                read(cache.logits(queries, members: members), queries: queries, members: members, into: &out)
            }
        }
        return out
    }

    /// Fills `out[i]` for each member i from `logits` (the rows predicting
    /// tokens `from..<count` of each member in order).
    private func read(_ logits: LogitsBlock, queries: [ScoreQuery], members: [Int], into out: inout [ScoreResult]) {
        let V = model.config.vocabSize
        var r = 0
        for i in members {
            let q = queries[i]
            var res = ScoreResult(logProbs: [])
            for t in q.from..<q.tokens.count {
                let row = logits.row(r)
                r += 1
                let st = LogitsMath.stats(row, V)
                res.logProbs.append(Float(Double(row[Int(q.tokens[t])]) - st.logZ))
                if q.entropies { res.entropies.append(Float(st.logZ - st.meanLogit)) }
                if q.topK > 0 {
                    for j in Self.topK(row, V, q.topK) {
                        res.topIds.append(Int32(j)); res.topLogProbs.append(Float(Double(row[j]) - st.logZ))
                    }
                }
            }
            out[i] = res
        }
    }

    public func continueSequences(_ queries: [ContinueQuery], boundaryTokens: Set<Int32>,
                                  stopTokens: Set<Int32>) throws -> [ContinueResult] {
        let maxLen = model.config.maxSeqLen
        for (i, q) in queries.enumerated() {
            try checkTokens(q.prefix, "continue query \(i)")
            guard !q.prefix.isEmpty, q.prefix.count < maxLen else {
                throw TeacherError("continue query \(i): expected a prefix of 1...\(maxLen - 1) tokens (room to continue in the teacher's context), found \(q.prefix.count); shorten the rollout or load the teacher with a longer max_seq_len")
            }
            guard q.maxTokens >= 0 else {
                throw TeacherError("continue query \(i): expected max_tokens ≥ 0, found \(q.maxTokens)")
            }
        }
        try checkTokens(Array(boundaryTokens) + Array(stopTokens), "boundary/stop tokens")
        var out = [ContinueResult](repeating: ContinueResult(tokens: [], logProbs: []), count: queries.count)
        let work = queries.indices.filter { queries[$0].maxTokens > 0 }
        if work.isEmpty { return out }
        // Greedy decoding is deterministic, so one batched run to the largest
        // budget, cut per query, equals per-query runs.
        let budget = work.map { queries[$0].maxTokens }.max()!
        let options = SamplingOptions(greedy: true, maxNewTokens: budget, stopTokens: boundaryTokens.union(stopTokens))
        let done = model.generate(prompts: work.map { queries[$0].prefix }, options: options,
                                  seeds: [UInt64](repeating: 0, count: work.count))
        for (k, i) in work.enumerated() {
            let n = min(done[k].tokens.count, queries[i].maxTokens)
            out[i] = ContinueResult(tokens: Array(done[k].tokens.prefix(n)), logProbs: Array(done[k].logProbs.prefix(n)))
        }
        return out
    }

    /// Every id inside the teacher's vocabulary.
    func checkTokens(_ tokens: [Int32], _ what: String) throws {
        let V = model.config.vocabSize
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= V }) {
            throw TeacherError("\(what): expected token ids in 0..<\(V) (the teacher's vocabulary), found \(bad); student and teacher must share a tokenizer")
        }
    }

    /// Indices of the k largest entries, largest first, ties to the lower index.
    static func topK(_ row: UnsafePointer<Float>, _ n: Int, _ k: Int) -> [Int] {
        var idx = Array(0..<n)
        idx.sort { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
        return Array(idx.prefix(k))
    }
}

/// The teacher rank's loop: answers `TeacherRequest`s from any rank with the
/// wrapped `Teacher` until every client rank has sent `.shutdown`. A request
/// that fails (undecodable, invalid, or throwing in the teacher) is answered
/// with `.failure` and the loop goes on; only communication errors end it.
public final class TeacherServer {
    /// What serves the requests (a `LocalTeacher`, or a scripted one in tests).
    public let teacher: Teacher
    /// The world (or any communicator holding this rank and the clients).
    public let comm: Communicator
    /// Ranks that will send `.shutdown`.
    public let clients: Set<Int>

    /// Counts of what the loop did.
    public struct Stats: Equatable, Sendable {
        /// Requests answered with results, with failures, and shutdowns received.
        public var served = 0, failed = 0, shutdowns = 0
        /// Sequences scored and continued, and teacher tokens written.
        public var scoredSequences = 0, continuedSequences = 0, tokensWritten = 0
    }

    /// A server for `clients` (ranks of `comm`, possibly including this one).
    public init(teacher: Teacher, comm: Communicator, clients: [Int]) {
        self.teacher = teacher; self.comm = comm; self.clients = Set(clients)
    }

    /// Serves until every client has shut down; returns the counts.
    public func serve() throws -> Stats {
        var stats = Stats()
        var open = clients
        while !open.isEmpty {
            let msg = try comm.receive(from: nil, tag: TeacherTags.request)
            let request: TeacherRequest
            do { request = try TeacherRequest(decoding: msg.bytes) } catch {
                stats.failed += 1
                try reply(.failure(id: -1, message: "teacher rank \(comm.rank): \(error)"), to: msg.source)
                continue
            }
            let answer: TeacherReply
            switch request {
            case .shutdown:
                stats.shutdowns += 1
                open.remove(msg.source)
                continue
            case let .score(id, queries):
                do {
                    answer = .scores(id: id, results: try teacher.score(try Self.clientKeys(queries, client: msg.source)))
                    stats.served += 1; stats.scoredSequences += queries.count
                } catch {
                    answer = .failure(id: id, message: "teacher rank \(comm.rank): \(error)"); stats.failed += 1
                }
            case let .continuation(id, queries, boundary, stop):
                do {
                    let results = try teacher.continueSequences(queries, boundaryTokens: Set(boundary), stopTokens: Set(stop))
                    answer = .continuations(id: id, results: results)
                    stats.served += 1; stats.continuedSequences += queries.count
                    stats.tokensWritten += results.map(\.tokens.count).reduce(0, +)
                } catch {
                    answer = .failure(id: id, message: "teacher rank \(comm.rank): \(error)"); stats.failed += 1
                }
            }
            try reply(answer, to: msg.source)
        }
        return stats
    }

    /// Cache keys are per client: key k of rank r becomes r·2³² + k, so two
    /// clients' sequence indices never share a slot.
    static func clientKeys(_ queries: [ScoreQuery], client: Int) throws -> [ScoreQuery] {
        try queries.enumerated().map { i, q in
            guard let k = q.cacheKey else { return q }
            guard (0..<clientKeySpan).contains(k) else {
                throw TeacherError("score query \(i): expected a cache key in 0..<\(clientKeySpan), found \(k); key sequences by their index")
            }
            var keyed = q
            keyed.cacheKey = client * clientKeySpan + k
            return keyed
        }
    }

    /// Cache keys one client may use.
    static let clientKeySpan = 1 << 32

    private func reply(_ r: TeacherReply, to rank: Int) throws {
        try comm.send(r.encoded(), to: rank, tag: TeacherTags.reply)
    }
}
