import Checkpoint
import Comm
import Configs
import Foundation
import Layers
import Objectives
import Tasks
import Tensors
import Transformer

/// Which teacher each rollout rank asks during a `distill` step (METHODS §2).
///
/// A rank holding both the rollout and the teacher role asks its own teacher
/// (`LocalTeacher`); the other rollout ranks are clients of the *serving*
/// teacher ranks (teacher ranks without the rollout role), assigned
/// round-robin in rank order. A serving rank runs `TeacherServer.serve()` for
/// its clients once per step (a session ends when each client has sent
/// `.shutdown`), so it cannot also generate: that is why ranks holding both
/// roles only serve themselves.
public struct TeacherAssignment: Equatable, Sendable {
    /// Where a rollout rank's teacher lives.
    public enum Source: Equatable, Sendable {
        /// On the rank itself.
        case local
        /// On the serving teacher rank.
        case remote(Int)
    }

    /// Rollout rank → its teacher.
    public let sources: [Int: Source]
    /// Serving teacher rank → its client ranks (every serving rank is a key, possibly with no clients).
    public let clients: [Int: [Int]]

    /// The assignment for `layout`; throws when a rollout rank has no teacher to ask.
    public init(layout: RankLayout) throws {
        let teachers = layout.ranks(.teacher)
        let servers = teachers.filter { !layout.rank($0, has: .rollout) }
        var sources: [Int: Source] = [:]
        var clients = Dictionary(uniqueKeysWithValues: servers.map { ($0, [Int]()) })
        var j = 0
        for r in layout.ranks(.rollout) {
            if layout.rank(r, has: .teacher) { sources[r] = .local; continue }
            guard !servers.isEmpty else {
                throw LayoutError("trainer.pipeline=distill: rollout rank \(r) has no teacher to ask (roles \(layout.describe())); "
                                  + "give a rank the teacher role (alone, or together with rollout on every rollout rank)")
            }
            let s = servers[j % servers.count]
            sources[r] = .remote(s)
            clients[s, default: []].append(r)
            j += 1
        }
        self.sources = sources
        self.clients = clients
    }
}

/// The learner side of a `distill` step: micro-batched forward/backward with
/// MOTAB's loss (reverse KL on student tokens + α·CE on teacher tokens), or
/// plain cross-entropy on teacher traces (the `sft` baseline), then one
/// ZeRO-1 step per mini-batch — `LearnerUpdate`'s pattern with another loss.
struct DistillationUpdate {
    /// The student.
    let model: Model
    /// The sharded optimizer over the learners.
    let optimizer: ShardedOptimizer
    /// Reverse-KL estimator on student tokens.
    let estimator: DistillationEstimator
    /// α, weight of the cross-entropy on teacher tokens.
    let alpha: Double
    /// Cross-entropy on every response token instead (teacher traces).
    let crossEntropyOnly: Bool
    /// Sequences per forward pass on this learner.
    let microBatchSize: Int
    /// Global gradient-norm clip (≤ 0: off).
    let gradClip: Double
    /// Padding id.
    let pad: Int32
    /// Importance ratio against the sampler's log-probs (`sampled` estimator).
    let useOldLogProbs: Bool

    /// What one learner measured; the sums add up across learners.
    struct Outcome {
        /// Σ of the normalised loss of this learner's micro-batches.
        var loss = 0.0
        /// Loss sums (student/teacher tokens, reverse KL, teacher CE).
        var metrics = DistillationLossMetrics()
        /// Global gradient norm before clipping.
        var gradNorm = 0.0
    }

    /// The global normaliser of a mini-batch: its response tokens over all learners (token-mean).
    static func globalNormalizer(_ samples: [RolloutSample]) -> Double {
        Double(max(1, samples.map(\.responseTokens.count).reduce(0, +)))
    }

    /// Accumulates the gradient of this learner's `samples` and applies one optimizer step.
    func step(samples: [RolloutSample], normalizer: Double, lr: Double) throws -> Outcome {
        model.zeroGradients()
        var out = Outcome()
        let V = model.config.vocabSize
        var start = 0
        while start < samples.count {
            let part = Array(samples[start..<min(samples.count, start + microBatchSize)])
            let packed = PackedBatch(samples: part, advantages: [Double](repeating: 0, count: part.count), pad: pad)
            let loss: TokenLoss
            if crossEntropyOnly {
                loss = CrossEntropy.loss(targets: packed.targets, normalizer: normalizer)
            } else {
                let inputs = MotabLossBatch.inputs(packed: packed, samples: part,
                                                   teacherLogProbs: estimator == .sampled ? part.map(\.teacherLogProbs) : nil,
                                                   teacherRows: estimator == .full ? part.map(\.teacherRows) : nil,
                                                   vocab: V, useOldLogProbs: useOldLogProbs)
                loss = DistillationLoss.loss(inputs, estimator: estimator, alpha: alpha, normalizer: normalizer, metrics: out.metrics)
            }
            let value = model.forwardBackward(batch: packed.batch, loss: loss)
            out.loss += value
            if crossEntropyOnly {
                out.metrics.teacherTokens += Double(packed.responseTokens)
                out.metrics.teacherCrossEntropySum += value * normalizer
            }
            start += microBatchSize
        }
        out.gradNorm = try optimizer.step(lr: lr, maxNorm: gradClip)
        return out
    }

    /// Sums `o` over the learners (every learner gets the totals).
    static func allreduce(_ o: Outcome, over comm: Communicator) throws -> Outcome {
        guard comm.size > 1 else { return o }
        let m = o.metrics
        let s = try comm.allreduceSum([o.loss, m.studentTokens, m.teacherTokens, m.reverseKLSum, m.teacherCrossEntropySum])
        var r = Outcome()
        r.loss = s[0]; r.gradNorm = o.gradNorm
        r.metrics.studentTokens = s[1]; r.metrics.teacherTokens = s[2]
        r.metrics.reverseKLSum = s[3]; r.metrics.teacherCrossEntropySum = s[4]
        return r
    }
}

/// Per-step sums of what the rollout ranks saw, reduced over the world with one
/// allreduce (learners need no completions, only these numbers for the metrics).
struct MotabStepSums {
    static let count = 12
    /// rollouts, interventions, discarded tokens, teacher tokens, response tokens,
    /// intervened rollouts, trigger TP, FP, misses, rollouts judged for triggers,
    /// interventions fired by the teacher-entropy monitor, teacher entropies it received.
    var values = [Double](repeating: 0, count: MotabStepSums.count)

    mutating func add(_ c: MotabCompletion) {
        values[0] += 1
        values[1] += Double(c.interventions.count)
        values[2] += Double(c.interventions.map(\.discarded.count).reduce(0, +))
        values[3] += Double(c.provenance.filter { $0 != 0 }.count)
        values[4] += Double(c.tokens.count)
        values[5] += c.interventions.isEmpty ? 0 : 1
        values[10] += Double(c.interventions.filter { $0.trigger == .teacher }.count)
        values[11] += Double(c.teacherMonitorTokens)
    }

    mutating func add(_ t: MotabTriggerScoring.Counts) {
        values[6] += Double(t.truePositives); values[7] += Double(t.falsePositives); values[8] += Double(t.misses)
        values[9] += 1
    }

    /// The `motab/…` metrics (`MotabMetrics.batch`'s definitions over the whole step; trigger
    /// precision/recall only where defined and rollouts were judged).
    var metrics: [String: Double] {
        let v = values
        let n = max(v[0], 1)
        var m: [String: Double] = [
            "motab/interventions_per_rollout": v[1] / n,
            "motab/rollback_depth": v[1] > 0 ? v[2] / v[1] : 0,
            "motab/teacher_token_frac": v[4] > 0 ? v[3] / v[4] : 0,
            "motab/intervened_rollout_frac": v[5] / n,
            "motab/teacher_triggered_frac": v[1] > 0 ? v[10] / v[1] : 0,
            "motab/teacher_monitor_tokens_per_rollout": v[11] / n,
        ]
        if v[9] > 0 {
            let c = MotabTriggerScoring.Counts(truePositives: Int(v[6]), falsePositives: Int(v[7]), misses: Int(v[8]))
            m.merge(c.values) { $1 }
            m["motab/trigger_true_positives"] = v[6]
            m["motab/trigger_false_positives"] = v[7]
            m["motab/missed_errors"] = v[8]
        }
        return m
    }
}

/// Synthetic problems rebuilt from their prompt text (for trigger scoring):
/// every family's reference steps are a function of the prompt alone.
enum SyntheticPrompt {
    /// The problem of `family` whose prompt is `prompt`, or nil when it does not parse.
    static func problem(family: any SyntheticFamily, prompt: String) -> SyntheticProblem? {
        var body = prompt.trimmingCharacters(in: .whitespacesAndNewlines)
        guard body.hasPrefix("Q:") else { return nil }
        body.removeFirst(2)
        let built: SyntheticProblem?
        switch family {
        case let f as AdditionTask:
            let parts = body.split(separator: "+").compactMap { Int($0) }
            built = parts.count == 2 ? f.problem(parts[0], parts[1]) : nil
        case let f as ChainTask:
            let parts = body.split(separator: ",").map(String.init)
            guard let start = parts.first.flatMap({ Int($0) }) else { return nil }
            var ops: [ChainTask.Op] = []
            for p in parts.dropFirst() {
                guard let k = Int(p.dropFirst()) else { return nil }
                switch p.first {
                case "+": ops.append(.add(k))
                case "-": ops.append(.sub(k))
                case "*": ops.append(.mul(k))
                default: return nil
                }
            }
            built = ops.count == f.stepCount ? f.problem(start: start, ops: ops) : nil
        case let f as SortTask:
            guard body.hasPrefix("<") else { return nil }
            let values = body.dropFirst().split(separator: ",").compactMap { Int($0) }
            built = values.count == f.level ? f.problem(values) : nil
        default:
            built = nil
        }
        // Only a problem that reproduces the prompt exactly is the one the family wrote.
        return built?.prompt == prompt ? built : nil
    }
}

/// Loading the teachers of a `distill` run.
enum DistillTeachers {
    /// The spec of a frozen copy of the starting student (tests).
    static let studentSpec = "student"

    /// The teacher spec of teacher rank number `index` (in rank order): one
    /// spec for every rank, or one per teacher rank.
    static func spec(_ specs: [String], index: Int, teacherRanks: Int) throws -> String {
        guard !specs.isEmpty else {
            throw JobError("trainer.pipeline=distill needs distillation.teacher_models: a checkpoint directory (e.g. "
                           + "runs/<teacher>/checkpoints/global_step_0, or the run directory for its latest), a .gguf file "
                           + "or Hugging Face folder, or `student` (a frozen copy of the student at the start, for tests)")
        }
        guard specs.count == 1 || specs.count == teacherRanks else {
            throw JobError("distillation.teacher_models has \(specs.count) entries but the layout has \(teacherRanks) teacher ranks; "
                           + "give one model for all, or one per teacher rank")
        }
        return specs.count == 1 ? specs[0] : specs[index]
    }

    /// Loads `spec`; `student` is copied for `spec == "student"`. The teacher must
    /// share the student's vocabulary (one tokenizer for both).
    static func load(_ spec: String, student: Model, maxSeqLen: Int) throws -> Model {
        let teacher: Model
        if spec == studentSpec {
            teacher = try Model(config: student.config)
            teacher.parameters.pointer.update(from: student.parameters.pointer, count: student.parameters.count)
        } else if let checkpoint = try checkpointDirectory(spec) {
            teacher = try loadCheckpoint(checkpoint)
        } else {
            teacher = try TeacherModels.load(path: spec, maxSeqLen: maxSeqLen)
        }
        guard teacher.config.vocabSize == student.config.vocabSize else {
            throw JobError("teacher \(spec): vocabulary of \(teacher.config.vocabSize) tokens, the student has "
                           + "\(student.config.vocabSize); student and teacher must share a tokenizer")
        }
        guard teacher.config.maxSeqLen >= maxSeqLen else {
            throw JobError("teacher \(spec): holds \(teacher.config.maxSeqLen) tokens, a rollout needs up to \(maxSeqLen) "
                           + "(prompt + response); train the teacher with a larger model.tiny.max_seq_len or shorten the responses")
        }
        return teacher
    }

    /// The checkpoint `spec` names: a `global_step_<N>` directory, or the latest
    /// of a run directory or its `checkpoints/`; nil when `spec` is not a checkpoint.
    static func checkpointDirectory(_ spec: String) throws -> String? {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: spec, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        if fm.fileExists(atPath: spec + "/" + CheckpointStore.manifestName) { return spec }
        if fm.fileExists(atPath: spec + "/config.json") { return nil }  // a Hugging Face folder
        let root = fm.fileExists(atPath: spec + "/checkpoints") ? spec + "/checkpoints" : spec
        guard let latest = try CheckpointStore(directory: root).latest() else {
            throw JobError("teacher \(spec): a directory with no complete checkpoint (expected global_step_<N>/manifest.json, "
                           + "a run directory with checkpoints/, or a Hugging Face folder with config.json)")
        }
        return latest.path
    }

    /// A model from a checkpoint: the architecture from the manifest's
    /// `model_config`, the parameters from the `model` group's shards.
    static func loadCheckpoint(_ path: String) throws -> Model {
        let reader = try CheckpointReader(directory: path)
        guard let json = reader.manifest.layout["model_config"] else {
            throw JobError("teacher checkpoint \(path): its manifest has no `model_config` (written by an older ispo-cluster); "
                           + "retrain the teacher, or export it to a Hugging Face folder")
        }
        let config: Transformer.ModelConfig
        do { config = try JSONDecoder().decode(Transformer.ModelConfig.self, from: Data(json.utf8)) } catch {
            throw JobError("teacher checkpoint \(path): `model_config` is not a model configuration: \(error)")
        }
        let model = try Model(config: config)
        let params = try reader.concatenated(tensor: "parameters", group: "model")
        guard params.count == model.parameters.count else {
            throw JobError("teacher checkpoint \(path): \(params.count) parameters, its model_config needs \(model.parameters.count)")
        }
        params.withUnsafeBufferPointer { model.parameters.pointer.update(from: $0.baseAddress!, count: params.count) }
        return model
    }
}
