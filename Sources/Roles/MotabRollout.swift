import Configs
import Foundation
import Layers
import Objectives
import Tensors
import Transformer

/// Batched student generation with MOTAB's monitor and teacher backtracking.
///
/// All sequences share one KV cache (one slot each) and decode together, as
/// `Model.generate` does; sequence i samples from its own `Rng(seed: seeds[i])`
/// and has its own `EntropyMonitor`s. `settings.trigger` picks what they watch:
/// - `student`: the sampling entropy of each student token, as it is drawn.
/// - `teacher`: the teacher's entropy at the same positions, on the student's
///   prefix (`teacher_logratio`: log π_S − log π_T of each student token
///   instead, from the teacher's log-probs; all else as for `teacher`). A
///   sequence's tokens not yet scored go to the teacher at each step
///   boundary, every `teacherScoreInterval` tokens and before it ends; the
///   decode step's batches go as one score request (`ScoreQuery.cacheKey` =
///   the sequence index, so the teacher runs only the new tokens), and the
///   returned entropies are fed to the monitor in order. A stray found there
///   may lie a few tokens back: everything from the backtrack point is discarded.
/// - `either`: both monitors, each with its own statistics; the first stray fires.
/// - `random` (control): no monitor; each student token (not a stop token)
///   declares a stray starting at itself with probability `settings.randomRate`,
///   drawn from a stream of its own (`coins`).
///
/// When a monitor reports a stray (m consecutive tokens with Ĥ_t > τ, starting at token s):
///
/// 1. Backtrack point b = one past the last boundary token at index j with
///    floor ≤ j < s, or b = floor when there is none; floor is the end of
///    the last intervention (0 before the first), so teacher text is never
///    discarded. Tokens [b, …) are discarded (recorded, no loss).
/// 2. The sequence's tokens and its KV-cache slot are truncated to the
///    prompt plus b tokens (the slot one further, see 4); the monitors are
///    restored to their copies taken at b, so their statistics hold only kept tokens.
/// 3. The teacher continues prompt + response[0, b) greedily to its next
///    boundary, stop token, or min(L_T, room left) tokens.
/// 4. The last kept token and the teacher's tokens are appended to the slot
///    with `Model.extend` (one call with every other sequence's next token);
///    their logit rows give the student's log-probs and entropies of the
///    teacher tokens and the distribution of the next student token.
/// 5. The windows restart (teacher tokens are not monitored) and sampling
///    resumes; the rollout's generator is not rewound (the resumed tokens are fresh draws).
///
/// After N_max interventions the sequence is no longer monitored. A sampled
/// stop token ends the sequence without being monitored; a teacher stop token
/// ends it too. Interventions of one decode step go to the teacher as one request.
public final class MotabRollout {
    /// The student.
    public let model: Model
    /// Where interventions come from (`TeacherClient`, `LocalTeacher`, or a test's script).
    public let teacher: Teacher
    /// Monitor and intervention settings.
    public let settings: MotabSettings
    private var cache: KVCache?

    /// A generator for `model` asking `teacher`.
    public init(model: Model, teacher: Teacher, settings: MotabSettings) {
        self.model = model; self.teacher = teacher; self.settings = settings
    }

    /// A detected stray: sequence, first violating token s, the monitor that fired.
    private struct Stray {
        let seq: Int, s: Int, by: MotabTriggerSource
    }

    /// What a sequence does after its decode step unless a stray intervenes.
    private enum NextMove {
        case resume(Int32)
        case finish(FinishReason)
    }

    /// Generates one spliced completion per prompt. `prior` seeds every
    /// sequence's student-entropy statistics (e.g. carried over from earlier
    /// rollouts); the teacher-entropy statistics start empty.
    /// Throws what the teacher throws.
    public func generate(prompts: [[Int32]], options: SamplingOptions, seeds: [UInt64],
                         prior: EntropyStatistics = EntropyStatistics()) throws -> [MotabCompletion] {
        try generate(prompts: prompts, options: options, seeds: seeds,
                     studentPriors: [EntropyStatistics](repeating: prior, count: prompts.count),
                     teacherPriors: [EntropyStatistics](repeating: EntropyStatistics(), count: prompts.count))
    }

    /// Generates with per-sequence starting statistics for each monitor
    /// (`distillation.boundary` `family` / `global`: the persistent statistics of
    /// each prompt's key, with `settings.monitor.frozen` set).
    public func generate(prompts: [[Int32]], options: SamplingOptions, seeds: [UInt64],
                         studentPriors: [EntropyStatistics], teacherPriors: [EntropyStatistics]) throws -> [MotabCompletion] {
        precondition(studentPriors.count == prompts.count && teacherPriors.count == prompts.count,
                     "MOTAB: \(prompts.count) prompts but \(studentPriors.count) student and \(teacherPriors.count) teacher priors")
        // The student decodes on packed weights, as `Model.generate` does (same bits when no one intervenes).
        return try model.withPackedDecodeWeights(rows: prompts.count) {
            try generateOnPackedWeights(prompts: prompts, options: options, seeds: seeds,
                                        studentPriors: studentPriors, teacherPriors: teacherPriors)
        }
    }

    private func generateOnPackedWeights(prompts: [[Int32]], options: SamplingOptions, seeds: [UInt64],
                                         studentPriors: [EntropyStatistics], teacherPriors: [EntropyStatistics]) throws -> [MotabCompletion] {
        precondition(prompts.count == seeds.count, "MOTAB: \(prompts.count) prompts but \(seeds.count) seeds")
        precondition(prompts.allSatisfy { !$0.isEmpty }, "MOTAB: empty prompt")
        let B = prompts.count, V = model.config.vocabSize
        if B == 0 { return [] }
        let cache = slotCache(B)
        for s in 0..<cache.slots { cache.reset(slot: s) }
        var rngs = seeds.map { Rng(seed: $0) }
        let trigger = settings.trigger, boundary = settings.boundaryTokens
        var seqs = prompts.indices.map { i in
            MotabSequence(prompt: prompts[i],
                          student: trigger.watchesStudent ? EntropyMonitor(settings: settings.monitor, prior: studentPriors[i]) : nil,
                          teacher: trigger.watchesTeacher ? EntropyMonitor(settings: settings.monitor, prior: teacherPriors[i]) : nil)
        }
        // The random trigger's coins: their own streams, so the sampled tokens equal an unmonitored rollout's until the first stray.
        var coins = seeds.map { Rng(seed: SeedMixer.derive(run: $0, purpose: 0x5241_4E44)) }
        let temperature = options.greedy ? 1 : options.temperature
        let scratch = FlatBuffer(count: Parallel.workers * 2 * V)
        // Prefill; rowOf[i] = the logits row predicting sequence i's next token.
        var slots: [Int] = [], tokens: [Int32] = [], rowOf = [Int](repeating: -1, count: B)
        for (i, p) in prompts.enumerated() {
            precondition(p.count < cache.maxLen, "MOTAB: prompt \(i) has \(p.count) tokens; the model holds \(cache.maxLen)")
            slots += [Int](repeating: i, count: p.count); tokens += p; rowOf[i] = tokens.count - 1
        }
        var logits = model.extend(cache: cache, slots: slots, tokens: tokens, logitRows: rowOf)
        rowOf = Array(0..<B)
        var active = Array(0..<B)
        var drawn = [SampledToken?](repeating: nil, count: B)
        while !active.isEmpty {
            let rowsNow = active, block = logits, rowIndex = rowOf
            drawn.withUnsafeMutableBufferPointer { out in
                rngs.withUnsafeMutableBufferPointer { gens in
                    Parallel.forChunks(rowsNow.count, minPerWorker: 4) { chunk, range in
                        let sc = scratch.pointer + chunk * 2 * V
                        for k in range {
                            let i = rowsNow[k]
                            out[k] = Sampler.sample(row: block.row(rowIndex[i]), count: V, options: options, rng: &gens[i], scratch: sc)
                        }
                    }
                }
            }
            // Decide per sequence: continue, finish, intervene, or (teacher
            // trigger) wait for the teacher's entropies first.
            var next: [(seq: Int, token: Int32)] = []
            var strays: [Stray] = []
            var waiting: [(seq: Int, end: Int, then: NextMove)] = []
            func move(_ i: Int, _ m: NextMove) {
                switch m {
                case let .resume(t): next.append((i, t))
                case let .finish(reason): seqs[i].finish(reason)
                }
            }
            for (k, i) in rowsNow.enumerated() {
                let d = drawn[k]!
                seqs[i].append(d.token, logProb: d.logProb, entropy: d.entropy, provenance: 0, teacherLogProb: .nan)
                let n = seqs[i].out.tokens.count
                let stop = options.stopTokens.contains(d.token), isBoundary = boundary.contains(d.token)
                let monitored = settings.monitorEnabled && seqs[i].out.interventions.count < settings.maxInterventions
                if monitored && !stop, let s = seqs[i].observeStudent(d.entropy, isBoundary: isBoundary) {
                    strays.append(Stray(seq: i, s: s, by: .student))
                    continue
                }
                if monitored && !stop && trigger == .random && coins[i].uniform() < settings.randomRate {
                    strays.append(Stray(seq: i, s: n - 1, by: .random))
                    continue
                }
                let full = n >= options.maxNewTokens || seqs[i].prompt.count + n >= cache.maxLen
                let then: NextMove = stop ? .finish(.stop) : full ? .finish(.length) : .resume(d.token)
                // The stop token itself is not monitored; the tokens before it are, before the sequence ends.
                let end = stop ? n - 1 : n, pending = end - seqs[i].teacherScored
                if monitored && seqs[i].teacher != nil && pending > 0
                    && (stop || full || isBoundary || pending >= settings.teacherScoreInterval) {
                    waiting.append((i, end, then))
                    continue
                }
                move(i, then)
            }
            // Teacher trigger: one score request for every sequence with tokens waiting.
            if !waiting.isEmpty {
                let logRatio = trigger.teacherSignalIsLogRatio
                let queries = waiting.map { seqs[$0.seq].teacherQuery(end: $0.end, key: $0.seq, entropies: !logRatio) }
                let results = try teacher.score(queries)
                guard results.count == queries.count else {
                    throw TeacherError("MOTAB: expected \(queries.count) teacher scores, found \(results.count)")
                }
                for (w, (q, r)) in zip(waiting, zip(queries, results)) {
                    let n = q.tokens.count - q.from, got = logRatio ? r.logProbs : r.entropies
                    guard got.count == n, got.allSatisfy(\.isFinite) else {
                        let what = logRatio ? "log-probs" : "entropies"
                        throw TeacherError("MOTAB: teacher \(what) for sequence \(w.seq) are \(got.count) values"
                                           + "\(got.allSatisfy(\.isFinite) ? "" : " (some not finite)"); expected \(n) finite "
                                           + "ones, one per token sent; the teacher must answer the score query's \(what)")
                    }
                    let values = logRatio ? seqs[w.seq].logRatios(teacherLogProbs: got) : got
                    if let s = seqs[w.seq].observeTeacher(values, boundaryTokens: boundary) {
                        strays.append(Stray(seq: w.seq, s: s, by: .teacher))
                    } else {
                        move(w.seq, w.then)
                    }
                }
                next.sort { $0.seq < $1.seq }
            }
            // Backtrack the strays and ask the teacher for their next step.
            var queries: [ContinueQuery] = [], points: [Int] = []
            for stray in strays {
                let i = stray.seq, b = seqs[i].backtrackPoint(stray: stray.s, boundaryTokens: boundary)
                let discarded = seqs[i].backtrack(to: b)
                seqs[i].out.interventions.append(MotabIntervention(position: b, firstViolation: stray.s, discarded: discarded,
                                                                   teacherTokens: 0, trigger: stray.by))
                points.append(b)
                let room = min(options.maxNewTokens - b, cache.maxLen - seqs[i].prompt.count - b)
                queries.append(ContinueQuery(prefix: seqs[i].prompt + seqs[i].out.tokens, maxTokens: max(0, min(settings.teacherMaxTokens, room))))
            }
            let replies = queries.isEmpty ? [] : try teacher.continueSequences(queries, boundaryTokens: settings.boundaryTokens,
                                                                               stopTokens: options.stopTokens)
            guard replies.count == queries.count else {
                throw TeacherError("MOTAB: expected \(queries.count) teacher continuations, found \(replies.count)")
            }
            // One extend: a token per continuing sequence; for each intervened
            // one its last kept token plus the teacher's tokens, every row a logit row.
            slots = []; tokens = []
            var spans: [(seq: Int, first: Int, count: Int)] = []
            for (i, t) in next { rowOf[i] = slots.count; slots.append(i); tokens.append(t) }
            for ((stray, b), r) in zip(zip(strays, points), replies) {
                let i = stray.seq
                guard r.tokens.count <= queries[spans.count].maxTokens, r.logProbs.count == r.tokens.count,
                      r.tokens.allSatisfy({ $0 >= 0 && Int($0) < V }) else {
                    throw TeacherError("MOTAB: teacher continuation for sequence \(i) has \(r.tokens.count) tokens and \(r.logProbs.count) log-probs; expected at most \(queries[spans.count].maxTokens) ids below \(V) with one log-prob each")
                }
                let keep = seqs[i].prompt.count + b
                let lastKept = b > 0 ? seqs[i].out.tokens[b - 1] : seqs[i].prompt[keep - 1]
                cache.truncate(slot: i, to: keep - 1)
                spans.append((i, slots.count, r.tokens.count + 1))
                slots += [Int](repeating: i, count: r.tokens.count + 1); tokens += [lastKept] + r.tokens
                for (t, lp) in zip(r.tokens, r.logProbs) {
                    seqs[i].append(t, logProb: 0, entropy: 0, provenance: 1, teacherLogProb: lp)  // student values below
                }
                seqs[i].out.interventions[seqs[i].out.interventions.count - 1].teacherTokens = r.tokens.count
                seqs[i].startAfterIntervention()
                let n = seqs[i].out.tokens.count
                if let last = r.tokens.last, options.stopTokens.contains(last) { seqs[i].finish(.stop) }
                else if n >= options.maxNewTokens || seqs[i].prompt.count + n >= cache.maxLen { seqs[i].finish(.length) }
            }
            if slots.isEmpty { break }
            logits = model.extend(cache: cache, slots: slots, tokens: tokens, logitRows: Array(0..<slots.count))
            for (i, first, count) in spans {
                let n = seqs[i].out.tokens.count, teacherCount = count - 1
                for q in 0..<teacherCount {
                    let e = studentLogProb(logits.row(first + q), V, index: Int(seqs[i].out.tokens[n - teacherCount + q]),
                                           temperature: temperature, scratch: scratch.pointer)
                    seqs[i].out.logProbs[n - teacherCount + q] = e.logProb
                    seqs[i].out.entropies[n - teacherCount + q] = e.entropy
                }
                rowOf[i] = first + count - 1
            }
            active = (next.map(\.seq) + spans.map(\.seq)).filter { !seqs[$0].finished }.sorted()
        }
        return seqs.map(\.out)
    }

    /// Fills in what the learner's loss needs from the teacher with one score
    /// request: log π_T of every student token (the `sampled` estimator), and
    /// with `fullRows` the teacher's whole log-softmax row at every response
    /// position (the `full` estimator; top-k = V, so for small vocabularies).
    /// Teacher tokens keep the log-probs the teacher wrote them with.
    /// With `entropies`, also the teacher's entropy at every response position (`teacherEntropies`).
    public func scoreWithTeacher(prompts: [[Int32]], completions: inout [MotabCompletion], fullRows: Bool = false,
                                 entropies: Bool = false) throws {
        precondition(prompts.count == completions.count, "MOTAB: \(prompts.count) prompts for \(completions.count) completions")
        let V = model.config.vocabSize
        let work = completions.indices.filter { !completions[$0].tokens.isEmpty }
        let results = try teacher.score(work.map {
            ScoreQuery(tokens: prompts[$0] + completions[$0].tokens, from: prompts[$0].count, topK: fullRows ? V : 0,
                       entropies: entropies)
        })
        guard results.count == work.count else {
            throw TeacherError("MOTAB: expected \(work.count) teacher scores, found \(results.count)")
        }
        for (i, r) in zip(work, results) {
            let n = completions[i].tokens.count
            guard r.logProbs.count == n, !fullRows || r.topIds.count == n * V else {
                throw TeacherError("MOTAB: teacher score of sequence \(i) has \(r.logProbs.count) log-probs and \(r.topIds.count) top ids; expected \(n) and \(fullRows ? n * V : 0)")
            }
            for t in 0..<n where completions[i].provenance[t] == 0 { completions[i].teacherLogProbs[t] = r.logProbs[t] }
            if entropies && r.entropies.count == n { completions[i].teacherEntropies = r.entropies }
            if fullRows {
                var rows = [Float](repeating: 0, count: n * V)
                for (k, (id, lp)) in zip(r.topIds, r.topLogProbs).enumerated() { rows[(k / V) * V + Int(id)] = lp }
                completions[i].teacherRows = rows
            }
        }
    }

    /// log π and entropy of row / temperature (the sampler's convention).
    private func studentLogProb(_ row: UnsafePointer<Float>, _ V: Int, index: Int, temperature: Float,
                                scratch: UnsafeMutablePointer<Float>) -> (logProb: Float, entropy: Float) {
        if temperature == 1 { return LogitsMath.logProbAndEntropy(row, V, index: index) }
        for j in 0..<V { scratch[j] = row[j] / temperature }
        return LogitsMath.logProbAndEntropy(scratch, V, index: index)
    }

    /// A cache with at least `slots` slots, kept across calls.
    private func slotCache(_ slots: Int) -> KVCache {
        if let c = cache, c.slots >= slots { return c }
        cache = nil
        let c = KVCache(config: model.config, slots: slots)
        cache = c
        return c
    }
}
