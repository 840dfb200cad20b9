import Comm
import Foundation
import Objectives
@testable import Roles
import Tensors
import Transformer
import XCTest

/// A teacher that always writes the same step (cut to the request's budget)
/// and records what it was asked.
final class ScriptedTeacher: Teacher {
    let script: [Int32]
    private(set) var received: [ContinueQuery] = []
    init(script: [Int32]) { self.script = script }
    static func logProb(_ i: Int) -> Float { -0.125 * Float(i + 1) }
    func score(_ queries: [ScoreQuery]) throws -> [ScoreResult] { throw TeacherError("scripted teacher: no scores") }
    func continueSequences(_ queries: [ContinueQuery], boundaryTokens: Set<Int32>, stopTokens: Set<Int32>) throws -> [ContinueResult] {
        received += queries
        return queries.map { q in
            let n = min(script.count, q.maxTokens)
            return ContinueResult(tokens: Array(script.prefix(n)), logProbs: (0..<n).map(Self.logProb))
        }
    }
}

/// MOTAB generation: a student rank with a `TeacherClient` and a teacher rank
/// running `TeacherServer` over a loopback world; the spliced sequences are
/// replayed token by token with fresh forwards and the same generators.
final class MotabRolloutTests: XCTestCase {
    static let config = ModelConfig(vocabSize: 31, dim: 32, layers: 2, heads: 4, kvHeads: 2, ffnDim: 48, maxSeqLen: 48)
    /// Student log-probs recorded during MOTAB (cached decoding across backtracks
    /// and splices) vs teacher-forced log-probs of the final sequence from a
    /// fresh forward (logits of magnitude ~10 with the ×5 weights). Measured
    /// ≤ 1.9e-5 (printed by the test).
    static let spliceTolerance: Float = 1e-4

    static func student(seed: UInt64 = 3) throws -> Model {
        let m = try ModelSource.randomTiny(config: config, seed: seed)
        // Larger weights than the default init so the distributions are not near-uniform.
        VectorMath.scale(m.parameters.pointer, m.parameters.count, by: 5)
        return m
    }

    /// Half the vocabulary ends a step, so backtracks to a boundary happen often.
    static let boundary: Set<Int32> = Set((0..<31).filter { $0 % 2 == 1 }.map(Int32.init))
    static let script: [Int32] = [4, 6, 8]

    /// k = −10⁶ puts τ far below every entropy once σ > 0, so after the warm-up
    /// (2 accepted tokens) every token violates and the 3rd makes a stray.
    static let alwaysStray = MotabSettings(monitor: EntropyMonitorSettings(window: 1, emaDecay: 0.5, k: -1e6, consecutive: 3, warmupTokens: 2),
                                           maxInterventions: 2, teacherMaxTokens: 8, boundaryTokens: boundary)

    func testLoopbackMotabSplicesProvenanceAndCap() throws {
        let prompts: [[Int32]] = [[2, 3, 5], [7, 11], [13, 17, 19, 23]]
        let seeds: [UInt64] = [11, 12, 13]
        let options = SamplingOptions(temperature: 1, maxNewTokens: 30)
        let model = try Self.student()
        let script = ScriptedTeacher(script: Self.script)
        var results: [MotabCompletion] = []
        var stats = TeacherServer.Stats()
        try LoopbackWorld.run(size: 2) { comm in
            if comm.rank == 1 {
                stats = try TeacherServer(teacher: script, comm: comm, clients: [0]).serve()
                return
            }
            let client = TeacherClient(comm: comm, teacherRank: 1)
            results = try MotabRollout(model: model, teacher: client, settings: Self.alwaysStray)
                .generate(prompts: prompts, options: options, seeds: seeds)
            try client.shutdown()
        }
        XCTAssertEqual(stats.continuedSequences, 6)
        // The teacher is asked once per decode step for every sequence that
        // strayed in it, so the queries of different sequences interleave.
        var queries = script.received
        var worst: Float = 0
        var backtracksPastFloor = 0
        let scored = model.score(sequences: zip(prompts, results).map { $0 + $1.tokens })
        for (i, c) in results.enumerated() {
            XCTAssertEqual(c.tokens.count, 30); XCTAssertEqual(c.finishReason, .length)
            XCTAssertEqual(c.interventions.count, 2, "N_max caps the interventions")
            XCTAssertEqual(c.provenance.count, c.tokens.count)
            var floor = 0, expectedProvenance = [Int32](repeating: 0, count: c.tokens.count)
            for (k, iv) in c.interventions.enumerated() {
                let b = iv.position, s = iv.firstViolation
                // Backtrack rule: to one past the last boundary in [floor, s), else to the floor.
                XCTAssertTrue(b == floor || (b - 1 >= floor && Self.boundary.contains(c.tokens[b - 1])), "seq \(i) iv \(k)")
                XCTAssertFalse(iv.discarded[0..<(s - b)].contains { Self.boundary.contains($0) }, "seq \(i) iv \(k)")
                XCTAssertEqual(iv.discarded.count, s - b + 3, "the stray is the m = 3 tokens from s on")
                // First stray: 2 warm-up tokens, then 3 violations → s = 2. After the
                // intervention the monitor holds the b (≤ 2) tokens kept before it, so
                // the warm-up needs 2 − b more: s = floor + 2 − b₀.
                XCTAssertEqual(s, k == 0 ? 2 : floor + 2 - c.interventions[0].position, "seq \(i) iv \(k)")
                if b > floor { backtracksPastFloor += 1 }
                // Spliced = kept student prefix + teacher tokens + resumed student tokens.
                XCTAssertEqual(Array(c.tokens[b..<(b + 3)]), Self.script)
                XCTAssertEqual(Array(c.teacherLogProbs[b..<(b + 3)]), (0..<3).map(ScriptedTeacher.logProb))
                for t in b..<(b + 3) { expectedProvenance[t] = 1 }
                XCTAssertEqual(iv.teacherTokens, 3)
                // The teacher saw the prompt and the kept prefix.
                let asked = ContinueQuery(prefix: prompts[i] + c.tokens[0..<b], maxTokens: 8)
                XCTAssertNotNil(queries.firstIndex(of: asked).map { queries.remove(at: $0) }, "seq \(i) iv \(k): teacher query")
                floor = b + 3
            }
            XCTAssertEqual(c.provenance, expectedProvenance)
            XCTAssertTrue(zip(c.teacherLogProbs, c.provenance).allSatisfy { $1 == 1 || $0.isNaN })
            // The cache after backtracks and splices is the spliced sequence's.
            for (a, b) in zip(c.logProbs, scored[i].logProbs.suffix(c.tokens.count)) { worst = max(worst, abs(a - b)) }
            try replay(model: model, prompt: prompts[i], completion: c, seed: seeds[i], options: options)
        }
        XCTAssertTrue(queries.isEmpty)
        XCTAssertGreaterThan(backtracksPastFloor, 0, "some backtrack went to a boundary, not just the floor")
        XCTAssertLessThan(worst, Self.spliceTolerance)
        print("[motab] max |recorded − fresh forward| student log-prob over spliced rollouts: \(worst)")
        let m = MotabMetrics.batch(results)
        XCTAssertEqual(m["motab/interventions_per_rollout"], 2)
        XCTAssertEqual(m["motab/teacher_token_frac"], 18.0 / 90)
    }

    /// Redraws every student token (kept, discarded and resumed, in the order
    /// they were drawn) from a fresh full forward with the sequence's own
    /// generator: the same tokens must come out.
    func replay(model: Model, prompt: [Int32], completion c: MotabCompletion, seed: UInt64, options: SamplingOptions) throws {
        var rng = Rng(seed: seed)
        let V = model.config.vocabSize
        var scratch = [Float](repeating: 0, count: 2 * V)
        var context = prompt
        func draw(_ expected: Int32, _ what: String) {
            let block = model.forward(TokenBatch(batchSize: 1, seqLen: context.count, tokens: context))
            let s = scratch.withUnsafeMutableBufferPointer {
                Sampler.sample(row: block.row(context.count - 1), count: V, options: options, rng: &rng, scratch: $0.baseAddress!)
            }
            XCTAssertEqual(s.token, expected, what)
            context.append(expected)
        }
        var floor = 0
        for iv in c.interventions {
            for t in floor..<iv.position { draw(c.tokens[t], "kept token \(t)") }
            for (q, t) in iv.discarded.enumerated() { draw(t, "discarded token \(q) at \(iv.position)") }
            context.removeLast(iv.discarded.count)
            context += c.tokens[iv.position..<(iv.position + iv.teacherTokens)]
            floor = iv.position + iv.teacherTokens
        }
        for t in floor..<c.tokens.count { draw(c.tokens[t], "resumed token \(t)") }
    }

    /// The pure on-policy baseline (monitor off, or N_max = 0) is `Model.generate`.
    func testOnPolicyBaselineIsPlainGeneration() throws {
        let model = try Self.student(seed: 8)
        let prompts: [[Int32]] = [[2, 3], [5, 7, 9]]
        let options = SamplingOptions(temperature: 0.8, maxNewTokens: 20, stopTokens: [1])
        let plain = model.generate(prompts: prompts, options: options, seeds: [1, 2])
        var off = Self.alwaysStray
        off.monitorEnabled = false
        var capped = Self.alwaysStray
        capped.maxInterventions = 0
        for settings in [off, capped] {
            let script = ScriptedTeacher(script: Self.script)
            let got = try MotabRollout(model: model, teacher: script, settings: settings)
                .generate(prompts: prompts, options: options, seeds: [1, 2])
            XCTAssertTrue(script.received.isEmpty)
            for (g, p) in zip(got, plain) {
                XCTAssertEqual(g.tokens, p.tokens); XCTAssertEqual(g.logProbs, p.logProbs)
                XCTAssertEqual(g.entropies, p.entropies); XCTAssertEqual(g.finishReason, p.finishReason)
                XCTAssertTrue(g.interventions.isEmpty); XCTAssertTrue(g.provenance.allSatisfy { $0 == 0 })
            }
        }
    }

    /// A real teacher network on this rank (`LocalTeacher`): the teacher's
    /// tokens are its greedy step, and a teacher stop token ends the rollout.
    func testLocalTeacherAndTeacherStopToken() throws {
        let model = try Self.student(seed: 4)
        let teacherModel = try Self.student(seed: 21)
        let prompts: [[Int32]] = [[2, 3, 5], [6, 7]]
        let options = SamplingOptions(maxNewTokens: 25)
        let out = try MotabRollout(model: model, teacher: LocalTeacher(model: teacherModel), settings: Self.alwaysStray)
            .generate(prompts: prompts, options: options, seeds: [5, 6])
        for (p, c) in zip(prompts, out) {
            for iv in c.interventions {
                let prefix = p + c.tokens[0..<iv.position]
                let greedy = teacherModel.generate(prompts: [prefix], options: SamplingOptions(greedy: true, maxNewTokens: 8,
                                                                                               stopTokens: Self.boundary), seeds: [0])[0]
                XCTAssertEqual(Array(c.tokens[iv.position..<(iv.position + iv.teacherTokens)]), greedy.tokens)
                for (a, b) in zip(c.teacherLogProbs[iv.position..<(iv.position + iv.teacherTokens)], greedy.logProbs) {
                    XCTAssertEqual(a, b, accuracy: Self.spliceTolerance)  // batched vs single-row decoding
                }
            }
        }
        // A script ending in a stop token ends the sequence right after the teacher's step.
        var stopping = options
        stopping.stopTokens = [8]
        let done = try MotabRollout(model: model, teacher: ScriptedTeacher(script: Self.script), settings: Self.alwaysStray)
            .generate(prompts: [[2, 3, 5]], options: stopping, seeds: [5])[0]
        if let iv = done.interventions.first {
            XCTAssertEqual(done.finishReason, .stop)
            XCTAssertEqual(done.tokens.count, iv.position + 3)
            XCTAssertEqual(done.tokens.last, 8)
        } else {
            XCTAssertTrue(done.tokens.contains(8), "no stray only if the student stopped first")
        }
    }

    /// After generation one score request fills in the teacher's view of the
    /// student tokens; the learner's loss inputs line up with `PackedBatch`'s
    /// rows, and both estimators run through `forwardBackward`.
    func testTeacherScoresAndLearnerInputs() throws {
        let model = try Self.student(seed: 4)
        let teacherModel = try Self.student(seed: 21)
        let prompts: [[Int32]] = [[2, 3, 5], [6, 7]]
        let rollout = MotabRollout(model: model, teacher: LocalTeacher(model: teacherModel), settings: Self.alwaysStray)
        var out = try rollout.generate(prompts: prompts, options: SamplingOptions(maxNewTokens: 16), seeds: [5, 6])
        try rollout.scoreWithTeacher(prompts: prompts, completions: &out, fullRows: true)
        let V = model.config.vocabSize
        let ref = teacherModel.score(sequences: zip(prompts, out).map { $0 + $1.tokens })
        for (c, r) in zip(out, ref) {
            XCTAssertTrue(c.teacherLogProbs.allSatisfy(\.isFinite))
            for (t, lp) in r.logProbs.suffix(c.tokens.count).enumerated() {
                XCTAssertEqual(c.teacherLogProbs[t], lp, accuracy: Self.spliceTolerance)
                XCTAssertEqual(c.teacherRows[t * V + Int(c.tokens[t])], lp, accuracy: Self.spliceTolerance)
            }
        }
        let samples = zip(prompts, out).map { p, c in
            RolloutSample(promptTokens: p, responseTokens: c.tokens, logProbs: c.logProbs, entropies: c.entropies,
                          provenance: c.provenance, outcome: 0, reward: 0, groupId: 0, dataSource: "test",
                          prompt: "", response: "", groundTruth: "")
        }
        let packed = PackedBatch(samples: samples, advantages: [0, 0], pad: 0)
        let inputs = MotabLossBatch.inputs(packed: packed, samples: samples, teacherLogProbs: out.map(\.teacherLogProbs),
                                           teacherRows: out.map(\.teacherRows), vocab: V)
        // Student rows: the token log-prob and the full row come from the same score pass.
        // (Teacher tokens keep the log-probs the teacher wrote them with; the loss reads neither.)
        for r in packed.targets.indices where packed.targets[r] >= 0 && packed.provenance[r] == 0 {
            XCTAssertEqual(inputs.teacherLogProbRows![r * V + Int(packed.targets[r])], inputs.teacherTokenLogProbs![r])
        }
        XCTAssertEqual(packed.provenance.filter { $0 == 1 }.count, out.map { $0.provenance.filter { $0 == 1 }.count }.reduce(0, +))
        for estimator in DistillationEstimator.allCases {
            let metrics = DistillationLossMetrics()
            model.zeroGradients()
            let value = model.forwardBackward(batch: packed.batch,
                                              loss: DistillationLoss.loss(inputs, estimator: estimator, alpha: 1, metrics: metrics))
            XCTAssertTrue(value.isFinite, "\(estimator)")
            XCTAssertEqual(metrics.studentTokens + metrics.teacherTokens, Double(packed.responseTokens))
            XCTAssertEqual(metrics.teacherTokens, Double(out.map { $0.interventions.map(\.teacherTokens).reduce(0, +) }.reduce(0, +)))
        }
    }
}
