import Configs
import Foundation
import Layers
import Objectives
import Tensors
import Transformer

/// MOTAB's generation settings (METHODS.md §2; `distillation.*`).
public struct MotabSettings: Equatable, Sendable {
    /// The entropy monitor (w, d, k, m, warm-up).
    public var monitor: EntropyMonitorSettings
    /// N_max, interventions per rollout at most.
    public var maxInterventions: Int
    /// L_T, tokens per intervention at most.
    public var teacherMaxTokens: Int
    /// Tokens that end a reasoning step (`;` and newline for synthetic traces).
    public var boundaryTokens: Set<Int32>
    /// false = pure on-policy baseline: no monitor, no intervention (the
    /// tokens are then exactly `Model.generate`'s for the same seeds).
    public var monitorEnabled: Bool

    /// Creates settings.
    public init(monitor: EntropyMonitorSettings = EntropyMonitorSettings(), maxInterventions: Int = 4,
                teacherMaxTokens: Int = 64, boundaryTokens: Set<Int32>, monitorEnabled: Bool = true) {
        precondition(maxInterventions >= 0 && teacherMaxTokens >= 0, "MotabSettings: N_max and L_T must be ≥ 0")
        self.monitor = monitor; self.maxInterventions = maxInterventions; self.teacherMaxTokens = teacherMaxTokens
        self.boundaryTokens = boundaryTokens; self.monitorEnabled = monitorEnabled
    }

    /// From the `distillation` section; `on_policy` turns the monitor off.
    /// `boundaryTokens`: the ids of the step separators in the job's tokenizer.
    public init(config c: DistillationConfig, boundaryTokens: Set<Int32>) {
        self.init(monitor: EntropyMonitorSettings(window: c.window, emaDecay: c.emaDecay, k: c.k, consecutive: c.consecutive),
                  maxInterventions: c.maxInterventions, teacherMaxTokens: c.teacherMaxTokens,
                  boundaryTokens: boundaryTokens, monitorEnabled: c.mode == .motab)
    }
}

/// One teacher intervention in a rollout.
public struct MotabIntervention: Equatable, Sendable {
    /// Response index of the backtrack point b: the response kept
    /// `[0, b)`, and the teacher's tokens start at b in the final response.
    public var position: Int
    /// Response index (before the backtrack) of the first violating token s.
    public var firstViolation: Int
    /// The strayed student suffix that was discarded (its length is the rollback depth; it gets no loss).
    public var discarded: [Int32]
    /// Tokens the teacher wrote.
    public var teacherTokens: Int
}

/// A spliced MOTAB rollout: student tokens, teacher steps, resumed student tokens.
public struct MotabCompletion: Equatable, Sendable {
    /// Response tokens (the stop token included when one was emitted).
    public var tokens: [Int32]
    /// Per token: the student's log-prob at the sampling temperature (π_old;
    /// for teacher tokens computed from the student's logits, not sampled).
    public var logProbs: [Float]
    /// Per token: the student's entropy at that position.
    public var entropies: [Float]
    /// Per token: 0 = student, 1 = teacher (`RolloutSample.provenance`).
    public var provenance: [Int32]
    /// Per token: the teacher's log-prob; for student tokens NaN unless
    /// `MotabRollout.scoreWithTeacher` filled it in.
    public var teacherLogProbs: [Float]
    /// (tokens · V) the teacher's full log-softmax row at every response
    /// position, when `scoreWithTeacher(fullRows: true)` asked for it; else empty.
    public var teacherRows: [Float] = []
    /// The interventions, in order.
    public var interventions: [MotabIntervention]
    /// Why it ended.
    public var finishReason: FinishReason
}

/// Batched student generation with MOTAB's monitor and teacher backtracking.
///
/// All sequences share one KV cache (one slot each) and decode together, as
/// `Model.generate` does; sequence i samples from its own `Rng(seed: seeds[i])`
/// and has its own `EntropyMonitor`. When the monitor reports a stray
/// (m consecutive tokens with Ĥ_t > τ, starting at token s):
///
/// 1. Backtrack point b = one past the last boundary token at index j with
///    floor ≤ j < s, or b = floor when there is none; floor is the end of
///    the last intervention (0 before the first), so teacher text is never
///    discarded. Tokens [b, …) are discarded (recorded, no loss).
/// 2. The sequence's tokens and its KV-cache slot are truncated to the
///    prompt plus b tokens (the slot one further, see 4); the monitor is
///    restored to its copy taken at b, so its statistics hold only kept tokens.
/// 3. The teacher continues prompt + response[0, b) greedily to its next
///    boundary, stop token, or min(L_T, room left) tokens.
/// 4. The last kept token and the teacher's tokens are appended to the slot
///    with `Model.extend` (one call with every other sequence's next token);
///    their logit rows give the student's log-probs and entropies of the
///    teacher tokens and the distribution of the next student token.
/// 5. The window restarts and sampling resumes; the rollout's generator is
///    not rewound (the resumed tokens are fresh draws).
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

    /// Per-sequence state during generation.
    fileprivate struct SequenceState {
        let prompt: [Int32]
        var out: MotabCompletion
        var monitor: EntropyMonitor
        /// Monitor copies keyed by response length (the floor and every boundary since).
        var snapshots: [Int: EntropyMonitor]
        var floor = 0
        var finished = false
    }

    /// Generates one spliced completion per prompt. `prior` seeds every
    /// sequence's entropy statistics (e.g. carried over from earlier rollouts).
    /// Throws what the teacher throws.
    public func generate(prompts: [[Int32]], options: SamplingOptions, seeds: [UInt64],
                         prior: EntropyStatistics = EntropyStatistics()) throws -> [MotabCompletion] {
        precondition(prompts.count == seeds.count, "MOTAB: \(prompts.count) prompts but \(seeds.count) seeds")
        precondition(prompts.allSatisfy { !$0.isEmpty }, "MOTAB: empty prompt")
        let B = prompts.count, V = model.config.vocabSize
        if B == 0 { return [] }
        let cache = slotCache(B)
        for s in 0..<cache.slots { cache.reset(slot: s) }
        var rngs = seeds.map { Rng(seed: $0) }
        let monitor0 = EntropyMonitor(settings: settings.monitor, prior: prior)
        var seqs = prompts.map {
            SequenceState(prompt: $0, out: MotabCompletion(tokens: [], logProbs: [], entropies: [], provenance: [], teacherLogProbs: [],
                                                       interventions: [], finishReason: .length),
                     monitor: monitor0, snapshots: [0: monitor0])
        }
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
            // Decide per sequence: continue, finish, or intervene.
            var next: [(seq: Int, token: Int32)] = []
            var strays: [(seq: Int, b: Int, s: Int)] = []
            for (k, i) in rowsNow.enumerated() {
                let d = drawn[k]!
                seqs[i].append(d.token, logProb: d.logProb, entropy: d.entropy, provenance: 0, teacherLogProb: .nan)
                let n = seqs[i].out.tokens.count
                if options.stopTokens.contains(d.token) { seqs[i].finish(.stop); continue }
                if settings.monitorEnabled && seqs[i].out.interventions.count < settings.maxInterventions,
                   case let .stray(run) = seqs[i].monitor.observe(Double(d.entropy)) {
                    let s = n - run
                    let tokensNow = seqs[i].out.tokens, floor = seqs[i].floor
                    let j = (floor..<s).last { settings.boundaryTokens.contains(tokensNow[$0]) }
                    strays.append((i, j.map { $0 + 1 } ?? floor, s))
                    continue
                }
                if settings.boundaryTokens.contains(d.token) { seqs[i].snapshots[n] = seqs[i].monitor }
                if n >= options.maxNewTokens || seqs[i].prompt.count + n >= cache.maxLen { seqs[i].finish(.length); continue }
                next.append((i, d.token))
            }
            // Backtrack the strays and ask the teacher for their next step.
            var queries: [ContinueQuery] = []
            for (i, b, s) in strays {
                let discarded = seqs[i].backtrack(to: b)
                seqs[i].out.interventions.append(MotabIntervention(position: b, firstViolation: s, discarded: discarded, teacherTokens: 0))
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
            for ((i, b, _), r) in zip(strays, replies) {
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
    public func scoreWithTeacher(prompts: [[Int32]], completions: inout [MotabCompletion], fullRows: Bool = false) throws {
        precondition(prompts.count == completions.count, "MOTAB: \(prompts.count) prompts for \(completions.count) completions")
        let V = model.config.vocabSize
        let work = completions.indices.filter { !completions[$0].tokens.isEmpty }
        let results = try teacher.score(work.map {
            ScoreQuery(tokens: prompts[$0] + completions[$0].tokens, from: prompts[$0].count, topK: fullRows ? V : 0)
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

extension MotabRollout.SequenceState {
    mutating func append(_ t: Int32, logProb: Float, entropy: Float, provenance: Int32, teacherLogProb: Float) {
        out.tokens.append(t); out.logProbs.append(logProb); out.entropies.append(entropy)
        out.provenance.append(provenance); out.teacherLogProbs.append(teacherLogProb)
    }

    mutating func finish(_ reason: FinishReason) { finished = true; out.finishReason = reason }

    /// Cuts the response to `b` tokens, restores the monitor copy taken there
    /// and returns the discarded suffix.
    mutating func backtrack(to b: Int) -> [Int32] {
        let discarded = Array(out.tokens[b...])
        out.tokens.removeSubrange(b...); out.logProbs.removeSubrange(b...); out.entropies.removeSubrange(b...)
        out.provenance.removeSubrange(b...); out.teacherLogProbs.removeSubrange(b...)
        guard let m = snapshots[b] else { preconditionFailure("MOTAB: no monitor copy at backtrack point \(b)") }
        monitor = m
        return discarded
    }

    /// After the teacher's tokens: a new window, and a new floor below which no backtrack goes.
    mutating func startAfterIntervention() {
        monitor.restartWindow()
        floor = out.tokens.count
        snapshots = [floor: monitor]
    }
}
