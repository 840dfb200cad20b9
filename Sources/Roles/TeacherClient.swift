import Comm

/// A `Teacher` on another rank, reached through `TeacherServer`'s protocol:
/// one request at a time, blocking until its reply. A `.failure` reply is
/// thrown as `TeacherError` (the server keeps serving).
public final class TeacherClient: Teacher {
    /// The communicator holding this rank and the teacher's.
    public let comm: Communicator
    /// The teacher's rank in `comm`.
    public let teacherRank: Int
    private var nextId = 0
    private var isShutDown = false

    /// A client of the teacher at `teacherRank`.
    public init(comm: Communicator, teacherRank: Int) {
        precondition((0..<comm.size).contains(teacherRank), "TeacherClient: teacher rank \(teacherRank) outside 0..<\(comm.size)")
        self.comm = comm; self.teacherRank = teacherRank
    }

    public func score(_ queries: [ScoreQuery]) throws -> [ScoreResult] {
        let id = takeId()
        switch try exchange(.score(id: id, queries: queries), id: id) {
        case let .scores(_, results) where results.count == queries.count:
            for (i, (q, r)) in zip(queries, results).enumerated() {
                let n = q.tokens.count - q.from
                guard r.logProbs.count == n, r.topIds.count == n * q.topK, r.topLogProbs.count == r.topIds.count,
                      r.entropies.count == (q.entropies ? n : 0) else {
                    throw TeacherError("teacher rank \(teacherRank): score result \(i) has \(r.logProbs.count) log-probs, \(r.topIds.count) top-k ids, \(r.entropies.count) entropies; expected \(n), \(n * q.topK), \(q.entropies ? n : 0)")
                }
            }
            return results
        case let other:
            throw unexpected(other, expected: "\(queries.count) score results")
        }
    }

    public func continueSequences(_ queries: [ContinueQuery], boundaryTokens: Set<Int32>,
                                  stopTokens: Set<Int32>) throws -> [ContinueResult] {
        let id = takeId()
        let request = TeacherRequest.continuation(id: id, queries: queries, boundaryTokens: boundaryTokens.sorted(),
                                                  stopTokens: stopTokens.sorted())
        switch try exchange(request, id: id) {
        case let .continuations(_, results) where results.count == queries.count:
            for (i, (q, r)) in zip(queries, results).enumerated()
            where r.tokens.count > q.maxTokens || r.logProbs.count != r.tokens.count {
                throw TeacherError("teacher rank \(teacherRank): continuation \(i) has \(r.tokens.count) tokens and \(r.logProbs.count) log-probs; expected at most \(q.maxTokens) tokens with one log-prob each")
            }
            return results
        case let other:
            throw unexpected(other, expected: "\(queries.count) continuations")
        }
    }

    /// Tells the server this rank is done (idempotent). Every client rank
    /// must call it once, or the teacher rank never returns from `serve()`.
    public func shutdown() throws {
        if isShutDown { return }
        isShutDown = true
        try comm.send(TeacherRequest.shutdown.encoded(), to: teacherRank, tag: TeacherTags.request)
    }

    private func takeId() -> Int { defer { nextId += 1 }; return nextId }

    private func exchange(_ request: TeacherRequest, id: Int) throws -> TeacherReply {
        precondition(!isShutDown, "TeacherClient: request after shutdown")
        try comm.send(request.encoded(), to: teacherRank, tag: TeacherTags.request)
        let msg = try comm.receive(from: teacherRank, tag: TeacherTags.reply)
        let reply = try TeacherReply(decoding: msg.bytes)
        if case let .failure(_, message) = reply { throw TeacherError(message) }
        guard reply.id == id else {
            throw TeacherError("teacher rank \(teacherRank): reply to request \(reply.id), expected \(id); one client per rank may talk to a teacher at a time")
        }
        return reply
    }

    private func unexpected(_ reply: TeacherReply, expected: String) -> TeacherError {
        TeacherError("teacher rank \(teacherRank): expected \(expected), found \(reply); all ranks must run the same binary")
    }
}
