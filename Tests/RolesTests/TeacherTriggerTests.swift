import Comm
import Configs
import Foundation
import Objectives
@testable import Roles
import Tensors
import Transformer
import XCTest

/// A teacher whose entropy on a sequence's prefix is a script of the response
/// position: 1.1 at even and 1.0 at odd positions (so at most one token in a
/// row is above the mean and m = 2 never fires on them), and `spike` at
/// positions `spikeAt[seq] ..< spikeAt[seq] + 2`. Its log-prob of each token
/// is minus that script (or `flatLogProb` when set), so on a student with a
/// constant log-prob the log-ratio log π_S − log π_T follows the same script
/// shifted by a constant. Continuations write `script`. It records what it was asked.
final class EntropyScriptTeacher: Teacher {
    static let spike: Float = 4
    let promptLengths: [Int], spikeAt: [Int]
    let script: [Int32] = [4, 6, 8]
    /// When set, the log-prob of every token (no spike in the log-ratio).
    var flatLogProb: Float?
    private(set) var scoreQueries: [ScoreQuery] = []
    private(set) var continueQueries: [ContinueQuery] = []

    init(promptLengths: [Int], spikeAt: [Int]) { self.promptLengths = promptLengths; self.spikeAt = spikeAt }

    func entropy(seq: Int, position t: Int) -> Float {
        (spikeAt[seq]..<(spikeAt[seq] + 2)).contains(t) ? Self.spike : (t % 2 == 0 ? 1.1 : 1.0)
    }

    func score(_ queries: [ScoreQuery]) throws -> [ScoreResult] {
        scoreQueries += queries
        return try queries.map { q in
            guard let seq = q.cacheKey else { throw TeacherError("entropy script: expected keyed queries") }
            let p = promptLengths[seq]
            // Entry t − from is the entropy of the distribution predicting tokens[t], response position t − p.
            let h = (q.from..<q.tokens.count).map { entropy(seq: seq, position: $0 - p) }
            return ScoreResult(logProbs: h.map { flatLogProb ?? -$0 }, entropies: q.entropies ? h : [])
        }
    }

    func continueSequences(_ queries: [ContinueQuery], boundaryTokens: Set<Int32>, stopTokens: Set<Int32>) throws -> [ContinueResult] {
        continueQueries += queries
        return queries.map { q in
            let n = min(script.count, q.maxTokens)
            return ContinueResult(tokens: Array(script.prefix(n)), logProbs: [Float](repeating: -0.5, count: n))
        }
    }
}

/// MOTAB's teacher-side trigger (`distillation.trigger=teacher|either`): the
/// monitor is fed the teacher's entropies on the student's prefix, sent in
/// increments; it fires where the teacher's entropy spikes and backtracks to
/// the step boundary before it, as the student trigger does with its own.
final class TeacherTriggerTests: XCTestCase {
    static let config = MotabRolloutTests.config
    static let boundary = MotabRolloutTests.boundary
    static let prompts: [[Int32]] = [[2, 3, 5], [7, 11], [13, 17, 19, 23]]
    static let seeds: [UInt64] = [21, 22, 23]
    /// Even spike positions: the position before each is a 1.0, never above the boundary.
    static let spikeAt = [10, 12, 14]
    static let options = SamplingOptions(temperature: 1, maxNewTokens: 30)

    /// w = 1, m = 2 (the two spike tokens), warm-up 4, N_max = 1; tokens go
    /// to the teacher at each boundary or 4 at a time.
    static func settings(_ trigger: DistillationTrigger, maxInterventions: Int = 1) -> MotabSettings {
        MotabSettings(monitor: EntropyMonitorSettings(window: 1, emaDecay: 0.9, k: 2, consecutive: 2, warmupTokens: 4),
                      maxInterventions: maxInterventions, teacherMaxTokens: 8, boundaryTokens: boundary, trigger: trigger,
                      teacherScoreEvery: 4)
    }

    /// A student with zero weights: uniform next-token distributions, so its
    /// entropy is log V at every token, σ = 0, and the student monitor never fires.
    static func flatStudent() throws -> Model { try Model(config: config) }

    func run(_ model: Model, _ trigger: DistillationTrigger, maxInterventions: Int = 1, flatLogProb: Float? = nil)
        throws -> (out: [MotabCompletion], teacher: EntropyScriptTeacher) {
        let teacher = EntropyScriptTeacher(promptLengths: Self.prompts.map(\.count), spikeAt: Self.spikeAt)
        teacher.flatLogProb = flatLogProb
        let out = try MotabRollout(model: model, teacher: teacher, settings: Self.settings(trigger, maxInterventions: maxInterventions))
            .generate(prompts: Self.prompts, options: Self.options, seeds: Self.seeds)
        return (out, teacher)
    }

    func testTeacherTriggerFiresAtTheTeachersSpikeAndTheStudentTriggerDoesNot() throws {
        let flat = try Self.flatStudent()
        // Student trigger, same script: the flat student never strays, and the teacher is never asked for entropies.
        let (byStudent, asked) = try run(flat, .student)
        XCTAssertTrue(byStudent.allSatisfy { $0.interventions.isEmpty && $0.teacherMonitorTokens == 0 })
        XCTAssertTrue(asked.scoreQueries.isEmpty && asked.continueQueries.isEmpty)

        // Teacher trigger: one intervention per sequence, at the spike.
        let (byTeacher, script) = try run(flat, .teacher)
        try checkFiredAtSpike(byTeacher, script, prompts: Self.prompts)
        // `either` on the flat student: only the teacher monitor can fire, so the rollout is the teacher trigger's.
        let (byEither, _) = try run(flat, .either)
        for (e, t) in zip(byEither, byTeacher) {  // (teacherLogProbs hold NaNs, so not the whole value)
            XCTAssertEqual(e.tokens, t.tokens); XCTAssertEqual(e.provenance, t.provenance)
            XCTAssertEqual(e.interventions, t.interventions); XCTAssertEqual(e.teacherMonitorTokens, t.teacherMonitorTokens)
        }

        // The same on a student with peaked distributions; its log-probs of the
        // spliced sequence match a fresh forward (the KV cache followed the backtrack).
        let peaked = try MotabRolloutTests.student(seed: 3)
        let (out, script2) = try run(peaked, .teacher)
        try checkFiredAtSpike(out, script2, prompts: Self.prompts)
        var worst: Float = 0
        let fresh = peaked.score(sequences: zip(Self.prompts, out).map { $0 + $1.tokens })
        for (c, f) in zip(out, fresh) {
            for (a, b) in zip(c.logProbs, f.logProbs.suffix(c.tokens.count)) { worst = max(worst, abs(a - b)) }
        }
        XCTAssertLessThan(worst, MotabRolloutTests.spliceTolerance)
        let m = MotabMetrics.batch(out)
        XCTAssertEqual(m["motab/interventions_per_rollout"], 1)
        XCTAssertEqual(m["motab/teacher_triggered_frac"], 1)
        XCTAssertEqual(m["motab/teacher_monitor_tokens_per_rollout"],
                       Double(out.map(\.teacherMonitorTokens).reduce(0, +)) / 3)
        XCTAssertEqual(MotabMetrics.batch(byStudent)["motab/teacher_monitor_tokens_per_rollout"], 0)
    }

    /// `teacher_logratio` on the flat student (log π_S = −log V at every token):
    /// the log-ratio is the teacher's script plus a constant, so it fires where
    /// `teacher` fires, with the same rollouts, from queries that ask for no
    /// entropies. When the teacher's log-prob is flat too, the ratio is constant
    /// (σ = 0) and it never fires.
    func testLogRatioTriggerFiresWhereTheTeacherIsSurprised() throws {
        let flat = try Self.flatStudent()
        let (byRatio, script) = try run(flat, .teacherLogRatio)
        try checkFiredAtSpike(byRatio, script, prompts: Self.prompts, entropies: false)
        let (byEntropy, _) = try run(flat, .teacher)
        for (r, e) in zip(byRatio, byEntropy) {
            XCTAssertEqual(r.tokens, e.tokens); XCTAssertEqual(r.provenance, e.provenance)
            XCTAssertEqual(r.interventions, e.interventions); XCTAssertEqual(r.teacherMonitorTokens, e.teacherMonitorTokens)
        }
        let logV = -log(Float(Self.config.vocabSize))
        let (calm, asked) = try run(flat, .teacherLogRatio, flatLogProb: logV)
        XCTAssertTrue(calm.allSatisfy { $0.interventions.isEmpty && $0.teacherMonitorTokens == 30 }, "scored every token, never fired")
        XCTAssertTrue(asked.continueQueries.isEmpty)
        XCTAssertFalse(asked.scoreQueries.isEmpty)
    }

    /// Every sequence: one teacher-fired intervention with s = the spike, b =
    /// one past the last boundary before it, the script's tokens spliced at b,
    /// and score queries that sent each token once, in increments (asking for
    /// entropies iff `entropies`).
    func checkFiredAtSpike(_ out: [MotabCompletion], _ teacher: EntropyScriptTeacher, prompts: [[Int32]],
                           entropies: Bool = true) throws {
        var continues = teacher.continueQueries
        for (i, c) in out.enumerated() {
            XCTAssertEqual(c.tokens.count, 30)
            let iv = try XCTUnwrap(c.interventions.first, "seq \(i) did not fire")
            XCTAssertEqual(c.interventions.count, 1, "N_max = 1")
            XCTAssertEqual(iv.trigger, .teacher)
            XCTAssertEqual(iv.firstViolation, Self.spikeAt[i], "seq \(i): the stray starts at the teacher's spike")
            let b = iv.position, s = iv.firstViolation
            XCTAssertTrue(b == 0 || Self.boundary.contains(c.tokens[b - 1]), "seq \(i): backtrack to a step boundary")
            XCTAssertFalse(iv.discarded[0..<(s - b)].contains { Self.boundary.contains($0) }, "seq \(i): the last boundary before s")
            // Found once both spike tokens were scored; the batch may have held more.
            XCTAssertGreaterThanOrEqual(iv.discarded.count, s - b + 2)
            XCTAssertEqual(Array(c.tokens[b..<(b + 3)]), teacher.script)
            XCTAssertEqual(Array(c.provenance[b..<(b + 3)]), [1, 1, 1])
            let asked = ContinueQuery(prefix: prompts[i] + c.tokens[0..<b], maxTokens: 8)
            XCTAssertNotNil(continues.firstIndex(of: asked).map { continues.remove(at: $0) }, "seq \(i): continuation query")
            // Increments: the first query scores from the response start, each
            // next one from where the last ended (no token is sent twice).
            let mine = teacher.scoreQueries.filter { $0.cacheKey == i }
            let p = prompts[i].count
            var expectedFrom = p
            for (k, q) in mine.enumerated() {
                XCTAssertEqual(q.entropies, entropies)
                XCTAssertEqual(q.from, expectedFrom, "seq \(i) query \(k)")
                XCTAssertLessThanOrEqual(q.tokens.count - q.from, Self.settings(.teacher).teacherScoreInterval, "seq \(i) query \(k)")
                expectedFrom = q.tokens.count
            }
            XCTAssertEqual(mine.last.map { $0.tokens.count - p }, b + iv.discarded.count,
                           "seq \(i): the last query ended where the stray was found; nothing scored after N_max")
            XCTAssertEqual(c.teacherMonitorTokens, mine.map { $0.tokens.count - $0.from }.reduce(0, +))
        }
        XCTAssertTrue(continues.isEmpty)
    }

    /// N_max = 0: no monitor, so the teacher is never asked, and the rollout is plain generation.
    func testCapZeroNeverAsksTheTeacher() throws {
        let model = try MotabRolloutTests.student(seed: 8)
        let (out, teacher) = try run(model, .teacher, maxInterventions: 0)
        XCTAssertTrue(teacher.scoreQueries.isEmpty && teacher.continueQueries.isEmpty)
        let plain = model.generate(prompts: Self.prompts, options: Self.options, seeds: Self.seeds)
        XCTAssertEqual(out.map(\.tokens), plain.map(\.tokens))
    }

    /// Teacher-served entropies and log-probs vs `Model.score` on the same
    /// sequences, both fp32. The keyed path runs a growing prefix through the
    /// teacher's KV cache in increments (decode kernels, other batch shapes)
    /// where `Model.score` runs one full forward, so they differ by rounding:
    /// measured max |Δ| = 6.9e-6 (printed), logits of magnitude ~10 (weights ×5).
    static let entropyTolerance: Float = 1e-4

    func testProtocolEntropiesEqualTeacherForcedScores() throws {
        let teacherModel = try MotabRolloutTests.student(seed: 21)
        let reference = try MotabRolloutTests.student(seed: 21)  // same weights, own buffers
        // Two clients with the same keys (0 and 1): the server keeps them apart.
        // Each grows two sequences, then backtracks one and grows it again.
        func sequences(_ rank: Int) -> [[Int32]] {
            let base = Int32(3 + rank)
            let a = (0..<30).map { Int32((Int($0) * 7 + Int(base)) % 31) }
            let b = (0..<24).map { Int32((Int($0) * 5 + Int(base) + 1) % 31) }
            let a2 = Array(a[0..<12]) + (0..<14).map { Int32((Int($0) * 3 + 2) % 31) }  // diverges at 12
            return [a, b, a2]
        }
        let steps: [(seq: Int, from: Int, to: Int)] = [(0, 2, 9), (1, 2, 6), (0, 9, 17), (1, 6, 24), (0, 17, 30), (2, 13, 20), (2, 20, 26)]
        let teacher = LocalTeacher(model: teacherModel)
        var got: [[(Int, ScoreQuery, ScoreResult)]] = [[], []]
        let lock = NSLock()
        try LoopbackWorld.run(size: 3) { comm in
            if comm.rank == 2 {
                _ = try TeacherServer(teacher: teacher, comm: comm, clients: [0, 1]).serve()
                return
            }
            let client = TeacherClient(comm: comm, teacherRank: 2)
            let seqs = sequences(comm.rank)
            for st in steps {
                // Sequence 2 is sequence 0 after a backtrack: same key.
                let q = ScoreQuery(tokens: Array(seqs[st.seq][0..<st.to]), from: st.from, entropies: true, cacheKey: st.seq == 2 ? 0 : st.seq)
                let r = try client.score([q])[0]
                lock.lock(); got[comm.rank].append((st.seq, q, r)); lock.unlock()
            }
            try client.shutdown()
        }
        var worst: Float = 0
        for rank in 0..<2 {
            let seqs = sequences(rank)
            let ref = reference.score(sequences: seqs)
            XCTAssertEqual(got[rank].count, steps.count)
            for (seq, q, r) in got[rank] {
                XCTAssertEqual(r.entropies.count, q.tokens.count - q.from)
                for t in q.from..<q.tokens.count {
                    worst = max(worst, abs(r.entropies[t - q.from] - ref[seq].entropies[t - 1]),
                                abs(r.logProbs[t - q.from] - ref[seq].logProbs[t - 1]))
                }
            }
        }
        XCTAssertLessThan(worst, Self.entropyTolerance)
        print("[motab] teacher trigger: max |served (KV-cached increments) − Model.score| entropy/log-prob = \(worst)")
        // Cost: each client's tokens ran once, except sequence 0's after the
        // divergence (12 kept of 29 cached): 29 + 23 + (25 − 12) per client, none shared across clients.
        let tokens = teacher.prefixCacheTokens
        XCTAssertEqual(tokens.computed, 2 * (29 + 23 + 25 - 12))
        XCTAssertEqual(tokens.reused, 2 * (8 + 5 + 16 + 12 + 19))
    }

    /// Keys the server or teacher cannot use are rejected with what was expected and found.
    func testBadCacheKeysAreRejected() throws {
        let t = LocalTeacher(model: try ModelSource.randomTiny(config: Self.config, seed: 1))
        XCTAssertThrowsError(try t.score([ScoreQuery(tokens: [3, 4], from: 1, cacheKey: -2)])) {
            XCTAssertTrue("\($0)".contains("expected a cache key ≥ 0 or none, found -2"), "\($0)")
        }
        XCTAssertThrowsError(try t.score([ScoreQuery(tokens: [3, 4], from: 1, cacheKey: 5), ScoreQuery(tokens: [3, 4, 5], from: 1, cacheKey: 5)])) {
            XCTAssertTrue("\($0)".contains("cache key 5 appears in several queries"), "\($0)")
        }
        XCTAssertThrowsError(try TeacherServer.clientKeys([ScoreQuery(tokens: [3, 4], from: 1, cacheKey: 1 << 40)], client: 1)) {
            XCTAssertTrue("\($0)".contains("expected a cache key in 0..<4294967296, found 1099511627776"), "\($0)")
        }
        XCTAssertEqual(try TeacherServer.clientKeys([ScoreQuery(tokens: [3, 4], from: 1, cacheKey: 7)], client: 3)[0].cacheKey, 3 << 32 | 7)
        // The key travels over the wire (absent = nil).
        let r = TeacherRequest.score(id: 1, queries: [ScoreQuery(tokens: [1, 2], from: 1, entropies: true, cacheKey: 9), ScoreQuery(tokens: [1, 2], from: 1)])
        XCTAssertEqual(try TeacherRequest(decoding: r.encoded()), r)
    }
}
