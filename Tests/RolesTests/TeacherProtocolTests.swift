import Comm
import Foundation
@testable import Roles
import Transformer
import XCTest

/// The teacher protocol: message round trips and version checks, and a
/// teacher rank serving two client ranks over a loopback world — scores and
/// continuations equal the model's own, a bad request comes back as an error
/// while the server keeps serving, and the loop ends after every shutdown.
final class TeacherProtocolTests: XCTestCase {
    static let config = ModelConfig(vocabSize: 31, dim: 32, layers: 2, heads: 4, kvHeads: 2, ffnDim: 48, maxSeqLen: 40)
    /// Teacher-served log-probs vs `Model.score` on the same sequences (a
    /// different batch shape, so BLAS may round differently). Measured 0 (same code path).
    static let scoreTolerance: Float = 1e-5

    func testMessagesRoundTrip() throws {
        let requests: [TeacherRequest] = [
            .score(id: 3, queries: [ScoreQuery(tokens: [1, 2, 3], from: 1, topK: 2, entropies: true),
                                    ScoreQuery(tokens: [4, 5], from: 2)]),
            .continuation(id: 4, queries: [ContinueQuery(prefix: [7, 8], maxTokens: 5)], boundaryTokens: [17, 28], stopTokens: [1]),
            .shutdown,
        ]
        for r in requests { XCTAssertEqual(try TeacherRequest(decoding: r.encoded()), r) }
        let replies: [TeacherReply] = [
            .scores(id: 3, results: [ScoreResult(logProbs: [-1, -2], entropies: [0.5, 0.25], topIds: [1, 2, 3, 4],
                                                 topLogProbs: [-0.1, -0.2, -0.3, -0.4])]),
            .continuations(id: 4, results: [ContinueResult(tokens: [9, 17], logProbs: [-0.5, -0.01])]),
            .failure(id: 5, message: "expected x, found y"),
        ]
        for r in replies { XCTAssertEqual(try TeacherReply(decoding: r.encoded()), r) }
        var bytes = requests[0].encoded()
        bytes[0] = 9  // format version 9
        XCTAssertThrowsError(try TeacherRequest(decoding: bytes)) { XCTAssertTrue("\($0)".contains("format version 9, expected \(TeacherRequest.formatVersion)")) }
        XCTAssertThrowsError(try TeacherReply(decoding: Array(replies[0].encoded().dropLast(3)))) {
            XCTAssertTrue("\($0)".contains("TeacherReply: array length 4") && "\($0)".contains("exceeds the message size"), "\($0)")
        }
        XCTAssertThrowsError(try TeacherRequest(decoding: Array(requests[1].encoded().prefix(20)))) {
            XCTAssertTrue("\($0)".contains("TeacherRequest: truncated message"), "\($0)")
        }
    }

    func testServerAnswersTwoClientsAndSurvivesBadRequests() throws {
        let teacherModel = try ModelSource.randomTiny(config: Self.config, seed: 5)
        let reference = try ModelSource.randomTiny(config: Self.config, seed: 5)  // same weights, own buffers
        let seqs: [[Int32]] = [[3, 4, 5, 6, 7], [8, 9, 10]]
        let boundary: Set<Int32> = [17, 28]
        var stats = TeacherServer.Stats()
        var scored: [[ScoreResult]] = [[], [], []], continued: [[ContinueResult]] = [[], [], []]
        var errors: [String] = []
        let lock = NSLock()
        try LoopbackWorld.run(size: 3) { comm in
            if comm.rank == 2 {
                let s = try TeacherServer(teacher: LocalTeacher(model: teacherModel), comm: comm, clients: [0, 1]).serve()
                lock.lock(); stats = s; lock.unlock()
                return
            }
            let client = TeacherClient(comm: comm, teacherRank: 2)
            let sc = try client.score([ScoreQuery(tokens: seqs[comm.rank], from: 1, topK: 31, entropies: true)])
            let co = try client.continueSequences([ContinueQuery(prefix: seqs[comm.rank], maxTokens: 6),
                                                   ContinueQuery(prefix: seqs[comm.rank], maxTokens: 0)],
                                                  boundaryTokens: boundary, stopTokens: [1])
            var message = ""
            do { _ = try client.score([ScoreQuery(tokens: [3, 99], from: 1)]) } catch { message = "\(error)" }
            lock.lock(); scored[comm.rank] = sc; continued[comm.rank] = co; errors.append(message); lock.unlock()
            // The server is still serving after the failure.
            _ = try client.continueSequences([ContinueQuery(prefix: [3], maxTokens: 2)], boundaryTokens: [], stopTokens: [])
            try client.shutdown()
        }
        XCTAssertEqual(stats.shutdowns, 2); XCTAssertEqual(stats.failed, 2); XCTAssertEqual(stats.served, 6)
        for e in errors { XCTAssertTrue(e.contains("expected token ids in 0..<31") && e.contains("found 99"), e) }
        for r in 0..<2 {
            let ref = reference.score(sequences: [seqs[r]])[0]
            let got = scored[r][0]
            XCTAssertEqual(got.logProbs.count, seqs[r].count - 1)
            for (a, b) in zip(got.logProbs, ref.logProbs) { XCTAssertEqual(a, b, accuracy: Self.scoreTolerance) }
            for (a, b) in zip(got.entropies, ref.entropies) { XCTAssertEqual(a, b, accuracy: Self.scoreTolerance) }
            // Full top-k: the row is a distribution, sorted, and holds the scored token's log-prob.
            for t in 0..<got.logProbs.count {
                let ids = got.topIds[(t * 31)..<((t + 1) * 31)], lps = Array(got.topLogProbs[(t * 31)..<((t + 1) * 31)])
                XCTAssertEqual(lps.map { exp(Double($0)) }.reduce(0, +), 1, accuracy: 1e-5)
                XCTAssertEqual(lps, lps.sorted(by: >))
                XCTAssertEqual(lps[ids.firstIndex(of: seqs[r][t + 1])! - t * 31], got.logProbs[t])
            }
            // Continuation = greedy decoding to a boundary, stop token or 6 tokens.
            let greedy = reference.generate(prompts: [seqs[r]], options: SamplingOptions(greedy: true, maxNewTokens: 6,
                                                                                           stopTokens: boundary.union([1])), seeds: [0])[0]
            XCTAssertEqual(continued[r][0].tokens, greedy.tokens)
            XCTAssertEqual(continued[r][0].logProbs, greedy.logProbs)
            XCTAssertEqual(continued[r][1], ContinueResult(tokens: [], logProbs: []))
        }
    }

    /// The local teacher validates before touching the model.
    func testLocalTeacherRejectsWhatTheModelCannotHold() throws {
        let t = LocalTeacher(model: try ModelSource.randomTiny(config: Self.config, seed: 1))
        XCTAssertThrowsError(try t.continueSequences([ContinueQuery(prefix: [Int32](repeating: 3, count: 40), maxTokens: 1)],
                                                     boundaryTokens: [], stopTokens: [])) {
            XCTAssertTrue("\($0)".contains("expected a prefix of 1...39 tokens"), "\($0)")
        }
        XCTAssertThrowsError(try t.score([ScoreQuery(tokens: [3, 4], from: 0)])) { XCTAssertTrue("\($0)".contains("from in 1...2")) }
        XCTAssertThrowsError(try t.score([ScoreQuery(tokens: [3, 4], from: 1, topK: 32)])) { XCTAssertTrue("\($0)".contains("top_k in 0...31")) }
    }
}
