import Objectives
import Transformer

/// An entropy monitor with the copies MOTAB restores when it backtracks.
struct TrackedMonitor {
    /// The live monitor.
    var now: EntropyMonitor
    /// Copies keyed by response length: the floor and every step boundary since.
    var copies: [Int: EntropyMonitor]

    /// A monitor whose copy at response length 0 is itself.
    init(_ m: EntropyMonitor) { now = m; copies = [0: m] }

    /// Feeds the entropy of response token `index`; returns the first token of
    /// the stray when it completes one, else keeps a copy after a boundary token.
    mutating func observe(_ entropy: Float, index: Int, isBoundary: Bool) -> Int? {
        if case let .stray(run) = now.observe(Double(entropy)) { return index + 1 - run }
        if isBoundary { copies[index + 1] = now }
        return nil
    }

    /// Back to the copy taken at response length `b`.
    mutating func restore(_ b: Int) {
        guard let m = copies[b] else { preconditionFailure("MOTAB: no monitor copy at backtrack point \(b)") }
        now = m
    }

    /// After the teacher's tokens: a new window, and the only copy at the new floor.
    mutating func restart(floor: Int) {
        now.restartWindow()
        copies = [floor: now]
    }
}

/// One sequence of a `MotabRollout.generate` call: its spliced completion so
/// far and its monitors.
///
/// The student monitor sees each student token's sampling entropy as it is
/// drawn. The teacher monitor sees the teacher's entropy at the same
/// positions (of the distribution predicting the token, given the student's
/// prefix), which arrive in batches: response tokens `[teacherScored, n)`
/// wait until the rollout sends them. Because a batch is sent at every step
/// boundary, the teacher monitor's copy at each boundary exists before any
/// later token can fire either monitor.
struct MotabSequence {
    let prompt: [Int32]
    var out = MotabCompletion(tokens: [], logProbs: [], entropies: [], provenance: [], teacherLogProbs: [],
                              interventions: [], finishReason: .length)
    /// The student-entropy monitor (nil when the trigger does not watch it).
    var student: TrackedMonitor?
    /// The teacher-entropy monitor (nil when the trigger does not watch it).
    var teacher: TrackedMonitor?
    /// Response tokens the teacher monitor has been fed (or that are teacher tokens).
    var teacherScored = 0
    /// End of the last intervention: no backtrack goes below it.
    var floor = 0
    var finished = false

    init(prompt: [Int32], student: EntropyMonitor?, teacher: EntropyMonitor?) {
        self.prompt = prompt
        self.student = student.map(TrackedMonitor.init)
        self.teacher = teacher.map(TrackedMonitor.init)
    }

    mutating func append(_ t: Int32, logProb: Float, entropy: Float, provenance: Int32, teacherLogProb: Float) {
        out.tokens.append(t); out.logProbs.append(logProb); out.entropies.append(entropy)
        out.provenance.append(provenance); out.teacherLogProbs.append(teacherLogProb)
    }

    mutating func finish(_ reason: FinishReason) { finished = true; out.finishReason = reason }

    /// Feeds the student monitor the entropy of the newest token; returns the
    /// stray's first token when one completes.
    mutating func observeStudent(_ entropy: Float, isBoundary: Bool) -> Int? {
        student?.observe(entropy, index: out.tokens.count - 1, isBoundary: isBoundary)
    }

    /// The score request that sends response tokens `[teacherScored, end)` to
    /// the teacher (keyed by `key`, so the teacher runs only what is new);
    /// `entropies` asks for the teacher's entropies (the log-ratio signal needs only log-probs).
    func teacherQuery(end: Int, key: Int, entropies: Bool = true) -> ScoreQuery {
        ScoreQuery(tokens: prompt + out.tokens[0..<end], from: prompt.count + teacherScored, entropies: entropies, cacheKey: key)
    }

    /// The log-ratio signal of the tokens a score request sent, from the
    /// teacher's log-probs of them: log π_S − log π_T per token, from `teacherScored` on.
    func logRatios(teacherLogProbs lp: [Float]) -> [Float] {
        lp.indices.map { out.logProbs[teacherScored + $0] - lp[$0] }
    }

    /// Feeds the teacher-side monitor its signal (the teacher's entropies, or
    /// the log-ratios) of the tokens from `teacherScored` on, in order; returns
    /// the stray's first token when one completes (the rest of the batch is
    /// then not fed: it is discarded by the backtrack).
    mutating func observeTeacher(_ values: [Float], boundaryTokens: Set<Int32>) -> Int? {
        guard var m = teacher else { return nil }
        defer { teacher = m }
        out.teacherMonitorTokens += values.count
        for h in values {
            let t = teacherScored
            teacherScored += 1
            if let s = m.observe(h, index: t, isBoundary: boundaryTokens.contains(out.tokens[t])) { return s }
        }
        return nil
    }

    /// The backtrack point for a stray starting at response index `s`: one
    /// past the last boundary token at j with floor ≤ j < s, else the floor.
    func backtrackPoint(stray s: Int, boundaryTokens: Set<Int32>) -> Int {
        (floor..<s).last { boundaryTokens.contains(out.tokens[$0]) }.map { $0 + 1 } ?? floor
    }

    /// Cuts the response to `b` tokens, restores the monitors' copies taken
    /// there and returns the discarded suffix.
    mutating func backtrack(to b: Int) -> [Int32] {
        let discarded = Array(out.tokens[b...])
        out.tokens.removeSubrange(b...); out.logProbs.removeSubrange(b...); out.entropies.removeSubrange(b...)
        out.provenance.removeSubrange(b...); out.teacherLogProbs.removeSubrange(b...)
        student?.restore(b)
        teacher?.restore(b)
        teacherScored = b
        return discarded
    }

    /// After the teacher's tokens: new windows, and a new floor below which no
    /// backtrack goes. The teacher's own tokens are not monitored.
    mutating func startAfterIntervention() {
        floor = out.tokens.count
        student?.restart(floor: floor)
        teacher?.restart(floor: floor)
        teacherScored = floor
    }
}
