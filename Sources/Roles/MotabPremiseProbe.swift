import Objectives
import Tasks
import Tensors
import Transformer

/// Measures MOTAB's premise on student rollouts (METHODS.md §2): the student
/// samples a completion per problem; for each one with a first wrong step
/// (`FirstErrorPrefix`), the teacher greedily continues both the student's
/// prefix through that step and the matched correct prefix, and scores each
/// prefix + continuation teacher-forced with entropies. Single process, no
/// MPI: the teacher is a `Teacher` (a `LocalTeacher` in the command).
public struct MotabPremiseProbe {
    /// The student that writes the rollouts.
    public let student: Model
    /// The teacher that continues and scores.
    public let teacher: Teacher
    /// The char codec of the synthetic tasks.
    public let codec: CharCodec

    /// A probe of `student` against `teacher`.
    public init(student: Model, teacher: Teacher, codec: CharCodec) {
        self.student = student; self.teacher = teacher; self.codec = codec
    }

    /// A student or teacher from a checkpoint, run directory or model file (`ModelSource`).
    public static func loadModel(_ path: String, maxSeqLen: Int) throws -> Model {
        try ModelSource.load(path, maxSeqLen: maxSeqLen)
    }

    /// What one call saw besides the records.
    public struct Counts: Equatable, Sendable, Codable {
        /// Rollouts, rollouts whose answer was right, rollouts with a measurable first error.
        public var rollouts = 0, studentCorrect = 0, measured = 0
    }

    /// `count` problems of `family` (seeded), one student rollout each at
    /// `temperature` (≤ `maxNewTokens` tokens), processed `batch` at a time.
    public func run(family: any SyntheticFamily, count: Int, seed: UInt64, temperature: Float = 1,
                    maxNewTokens: Int = 80, batch: Int = 64) throws -> (records: [PremiseRecord], counts: Counts) {
        var rng = Rng(seed: seed)
        let problems = (0..<count).map { _ in family.sample(&rng) }
        var records: [PremiseRecord] = [], counts = Counts()
        let options = SamplingOptions(temperature: temperature, maxNewTokens: maxNewTokens, stopTokens: [codec.eos])
        for start in stride(from: 0, to: problems.count, by: batch) {
            let part = Array(problems[start..<min(start + batch, problems.count)])
            let prompts = try part.map { try codec.encode($0.prompt) }
            let seeds = (0..<part.count).map { SeedMixer.derive(run: seed, sample: UInt64(start + $0), purpose: 0x5052_454D) }
            let rollouts = student.generate(prompts: prompts, options: options, seeds: seeds)
            var cuts: [(problem: SyntheticProblem, prompt: [Int32], cut: FirstErrorCut)] = []
            for (k, c) in rollouts.enumerated() {
                let text = codec.decode(c.tokens)
                counts.rollouts += 1
                if extractFinalAnswer(text) == part[k].answer { counts.studentCorrect += 1 }
                if let cut = try FirstErrorPrefix.cut(family: family, problem: part[k], completion: text) {
                    cuts.append((part[k], prompts[k], cut))
                }
            }
            counts.measured += cuts.count
            let wrong = try measure(cuts.map { ($0.prompt, $0.cut.wrongPrefix, $0.cut.stepStart..<$0.cut.separator, $0.problem.answer) },
                                    maxNewTokens: maxNewTokens)
            let right = try measure(cuts.map { ($0.prompt, $0.cut.referencePrefix, $0.cut.stepStart..<$0.cut.referenceSeparator, $0.problem.answer) },
                                    maxNewTokens: maxNewTokens)
            for (k, c) in cuts.enumerated() {
                records.append(PremiseRecord(family: family.styledSpec, depth: c.cut.depth, wrong: wrong[k], reference: right[k]))
            }
        }
        return (records, counts)
    }

    /// The teacher on each (prompt, response prefix, the cut step's character
    /// span in the prefix, the right answer): greedy continuation to its stop
    /// token, then one teacher-forced score of prefix + continuation.
    func measure(_ items: [(prompt: [Int32], prefix: String, step: Range<Int>, answer: String)],
                 maxNewTokens: Int) throws -> [PremiseMeasure] {
        if items.isEmpty { return [] }
        let prefixes = try items.map { try codec.encode($0.prefix) }
        // The char codec: one token per character, so character spans are token spans.
        let queries = zip(items, prefixes).map { item, p in
            ContinueQuery(prefix: item.prompt + p, maxTokens: max(0, maxNewTokens - p.count))
        }
        let conts = try teacher.continueSequences(queries, boundaryTokens: [], stopTokens: [codec.eos])
        let boundary = Set(try codec.encode(";") + codec.encode("\n"))
        let scores = try teacher.score(zip(zip(items, prefixes), conts).map { ip, c in
            ScoreQuery(tokens: ip.0.prompt + ip.1 + c.tokens, from: ip.0.prompt.count, entropies: true)
        })
        return zip(zip(items, prefixes), zip(conts, scores)).map { ip, cs in
            let (item, p) = ip, (c, s) = cs
            let nextLength = (c.tokens.firstIndex { boundary.contains($0) || $0 == codec.eos }.map { $0 + 1 }) ?? c.tokens.count
            let nll = s.logProbs.map { -$0 }
            let text = item.prefix + codec.decode(c.tokens)
            return PremiseMeasure(stepEntropy: MotabPremiseSummary.spanMean(s.entropies, item.step),
                                  stepNLL: MotabPremiseSummary.spanMean(nll, item.step),
                                  nextEntropy: MotabPremiseSummary.spanMean(s.entropies, p.count..<(p.count + nextLength)),
                                  continuationEntropy: MotabPremiseSummary.spanMean(s.entropies, p.count..<(p.count + c.tokens.count)),
                                  correct: extractFinalAnswer(text) == item.answer)
        }
    }
}
