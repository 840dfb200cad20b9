import Checkpoint
import Comm
import Configs
import Foundation
import Objectives
import Tensors
import Transformer

/// One evaluation of the run (saved so a resumed run reports the whole history).
struct SavedEvaluation: Codable, Equatable {
    var step: Int
    var metrics: [String: Double]
}

/// Everything a resumed job needs that is not a tensor. The leader writes it
/// as JSON (`job_state` in `state/rank_00000.shard`) and broadcasts it on resume.
struct JobState: Codable, Equatable {
    /// Version of this record; readers reject newer ones.
    var version = JobState.currentVersion
    /// Steps completed: RL or distill steps, MoT rounds (0: the warm start or
    /// preparation is done, no step yet).
    var step: Int
    /// Weight broadcasts so far.
    var weightVersion: Int
    /// AdamW steps of the RL optimizer (the same on every learner); nil before the first RL update.
    var adamStep: Int?
    /// The supervised warm start has run (a resumed job skips it).
    var warmStartDone: Bool
    /// ISPO's running scale of the sequence information.
    var ispoScale: RunningScale
    /// Evaluations so far (the leader's report).
    var evaluations: [SavedEvaluation]
    /// `trainer.seed` of the run: every random stream and the data order derive from it.
    var seed: Int
    /// CRC-32C of the prompts of the next RL or distill step's first batch: the data cursor is
    /// `PromptData.batch(step:)`, a pure function of the step, so equal CRCs on
    /// resume show the data stream is the one the run was saved with.
    var nextBatchCRC: UInt32
    /// Floats in the flat parameter buffer.
    var parameterCount: Int
    /// Learner ranks that wrote the `model`/`optim` shards.
    var learners: Int
    /// A frozen reference (KL reference / ISPO's π_base) is saved in group `reference`.
    var hasReference: Bool
    /// `trainer.pipeline` of the run that saved it (nil: written before it was
    /// recorded). A checkpoint of step > 0 continues only its own pipeline.
    var pipeline: String? = nil
    /// `mot`: CRC-32C of the teachers' kept traces the rounds trained on (nil for other pipelines).
    var motTraceCRC: UInt32? = nil

    static let currentVersion = 1
}

/// What the leader decided about resuming, broadcast to every rank.
struct ResumePlan: Codable {
    /// The run's checkpoints directory (nil: the job writes no files, so no checkpoints).
    var checkpointsRoot: String?
    /// The checkpoint to resume from (nil: start fresh).
    var path: String?
    /// Its job state.
    var state: JobState?
    /// Why the leader cannot resume (every rank throws it).
    var error: String?
}

/// A rank's part of a save, sent to the leader.
struct ShardReport: Codable {
    var summaries: [ShardSummary] = []
    var error: String?
}

/// Test-only fault hooks (never set by the CLI).
struct JobFaultHooks {
    /// RL steps whose first optimizer step gets a NaN gradient on learner 0.
    var nanGradientSteps: Set<Int> = []
    /// Request a stop (as SIGUSR1 would) on this rank after this step (RL or distill step, MoT round;
    /// 0: after the warm start or preparation).
    var stopAfterStep: Int?
}

/// Why `run()` returned before the last step.
public struct JobStop: Sendable {
    /// The last completed step (RL or distill step, MoT round; 0: after the warm start or preparation).
    public let step: Int
    /// The checkpoint written at that step (nil when the job has no run directory).
    public let checkpoint: String?
}

enum JSONCoding {
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }
    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
    static func encode<T: Encodable>(_ v: T) throws -> [UInt8] { Array(try encoder().encode(v)) }
    static func decode<T: Decodable>(_ t: T.Type, _ bytes: [UInt8]) throws -> T { try decoder().decode(t, from: Data(bytes)) }
}

extension ClusterJob {
    /// Name of the job-state tensor in `state/rank_00000.shard`.
    static let jobStateTensor = "job_state"
    /// Seconds the leader waits between the shard writes and the commit
    /// (`ISPO_TEST_CHECKPOINT_DELAY`): lets the fault tests kill a job mid-save.
    static var testCheckpointDelay: Double {
        Double(ProcessInfo.processInfo.environment["ISPO_TEST_CHECKPOINT_DELAY"] ?? "") ?? 0
    }

    /// Whether rank `r` holds a frozen reference (computable on every rank; only
    /// the RL pipelines freeze one).
    func rankNeedsReference(_ r: Int) -> Bool {
        guard usesFrozenReference else { return false }
        return (layout.rank(r, has: .learner) && config.actor.useKLLoss)
            || (rolloutRanks.contains(r) && config.algorithm.ispo.computesSignals)
    }

    /// Which pipelines can continue each other's checkpoints of step > 0: `demo` is `rl` after a warm start.
    static func resumeFamily(_ pipeline: String) -> String {
        pipeline == Pipeline.demo.rawValue ? Pipeline.rl.rawValue : pipeline
    }

    /// The CRC-32C of the prompts the RL (or distill) step after `step` draws first.
    func nextBatchCRC(after step: Int) -> UInt32 {
        let items = data.batch(step: (step + 1) * 64, count: config.data.trainBatchSize)
        return CRC32C.checksum(Array(items.map { $0.prompt + "\u{1}" + $0.groundTruth }.joined(separator: "\u{2}").utf8))
    }

    // MARK: Resume

    /// Collective, at the start of `run()`: the leader picks the checkpoint
    /// (`checkpoint.resume_mode`), every rank restores its part. Returns the
    /// restored state, or nil for a fresh start.
    func resumeIfRequested() throws -> JobState? {
        var plan = ResumePlan()
        if isLeader {
            do { plan = try planResume() } catch { plan.error = "\(error)" }
        }
        plan = try JSONCoding.decode(ResumePlan.self, try world.broadcastBytes(isLeader ? JSONCoding.encode(plan) : [],
                                                                                root: leaderRank))
        if let e = plan.error { throw JobError("cannot resume: \(e)") }
        checkpointStore = plan.checkpointsRoot.map { CheckpointStore(directory: $0) }
        guard let path = plan.path, let state = plan.state else { return nil }
        resumedCheckpoint = path

        // Parameters: the leader reads the concatenated shards (any learner count) and broadcasts.
        var readError: String?
        if isLeader {
            do {
                let reader = try CheckpointReader(directory: path)
                let params = try reader.concatenated(tensor: "parameters", group: "model")
                params.withUnsafeBufferPointer { model.parameters.pointer.update(from: $0.baseAddress!, count: params.count) }
            } catch { readError = "\(error)" }
        }
        try agreeOrThrow(readError, what: "reading the parameters of \(path)")
        try world.broadcast(model.parameters.buffer, root: leaderRank)

        // The frozen reference, saved once, goes to every rank that needs one.
        if state.hasReference {
            let ref = FlatBuffer(count: model.parameters.count)
            if isLeader {
                do {
                    let values = try CheckpointReader(directory: path).concatenated(tensor: "parameters", group: "reference")
                    guard values.count == ref.count else {
                        throw JobError("\(path)/reference: expected \(ref.count) floats, found \(values.count)")
                    }
                    values.withUnsafeBufferPointer { ref.pointer.update(from: $0.baseAddress!, count: values.count) }
                } catch { readError = "\(error)" }
            }
            try agreeOrThrow(readError, what: "reading the frozen reference of \(path)")
            try world.broadcast(ref.buffer, root: leaderRank)
            if needsReference {
                let r = try Model(config: model.config)
                r.parameters.pointer.update(from: ref.pointer, count: ref.count)
                reference = r
            }
        } else if needsReference && state.step > 0 && isLeader {
            print("ispo-cluster: note: \(path) has no frozen reference; this config needs one, so the policy at step \(state.step + 1) becomes the reference")
        }

        // AdamW moments: each learner reads its slice of the concatenation (resharded when the learner count changed).
        if let adamStep = state.adamStep, isLearner, let lc = learnerComm {
            let opt = try actorOptimizer(lc)
            do {
                let reader = try CheckpointReader(directory: path)
                for (name, buffer) in [("m", opt.adam.m), ("v", opt.adam.v)] {
                    let values = try reader.resharded(tensor: name, group: "optim", rank: lc.rank, parts: lc.size)
                    guard values.count == buffer.count else {
                        throw JobError("\(path)/optim: learner \(lc.rank) of \(lc.size) expected \(buffer.count) floats of \(name), found \(values.count)")
                    }
                    values.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: values.count) }
                }
                opt.adam.restore(stepCount: adamStep)
            } catch {
                throw JobError("cannot resume the optimizer from \(path) on learner \(lc.rank): \(error). "
                               + "Every learner reads the checkpoint directory: it must be on a file system all nodes share.")
            }
        }
        weightVersion = state.weightVersion
        ispoScale = state.ispoScale
        evaluations = state.evaluations.map { ($0.step, $0.metrics) }
        if isLeader {
            let reshard = state.learners != learnerRanks.count ? " (resharded from \(state.learners) to \(learnerRanks.count) learners)" : ""
            print("ispo-cluster: resumed from \(path) at step \(state.step)\(reshard)")
        }
        return state
    }

    /// Leader: where the checkpoints live and which one to resume from, validated.
    func planResume() throws -> ResumePlan {
        var plan = ResumePlan()
        guard let runDirectory else { return plan }
        let store = CheckpointStore(runDirectory: runDirectory)
        plan.checkpointsRoot = store.root
        let removed = try store.removeStaleStaging()
        if !removed.isEmpty { print("ispo-cluster: removed unfinished checkpoint directories \(removed.joined(separator: ", "))") }
        let mode = config.checkpoint.resumeMode
        let path: String
        switch mode {
        case "disable": return plan
        case "auto":
            guard let latest = try store.latest() else { return plan }
            path = latest.path
        default:
            let fm = FileManager.default
            // A path outside this run initialises it; once the run has checkpoints of its own
            // (a requeued or restarted job), it continues from its latest instead.
            let own = try store.latest()
            let absolute = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.path }
            if let own, !absolute(mode).hasPrefix(absolute(store.root) + "/") {
                print("ispo-cluster: checkpoint.resume_mode=\(mode), but this run already has \(own.path): continuing from it "
                      + "(move \(store.root) away to start again from \(mode))")
                path = own.path
            } else if fm.fileExists(atPath: mode + "/" + CheckpointStore.manifestName) || fm.fileExists(atPath: mode + "/" + CheckpointStore.doneName)
                || (mode as NSString).lastPathComponent.hasPrefix("global_step_") {
                path = mode
            } else {
                let root = fm.fileExists(atPath: mode + "/checkpoints") ? mode + "/checkpoints" : mode
                guard let latest = try CheckpointStore(directory: root).latest() else {
                    throw JobError("checkpoint.resume_mode=\(mode): expected a global_step_<N> directory or a run/checkpoints "
                                   + "directory holding one, found no complete checkpoint there. Pass an existing checkpoint, "
                                   + "or resume_mode=disable to start fresh.")
                }
                path = latest.path
            }
        }
        let reader = try CheckpointReader(directory: path)  // checks DONE against the manifest
        let stateShards = reader.manifest.shards(group: "state")
        guard let first = stateShards.first else {
            throw JobError("\(path): expected a state/ shard with the job state, found groups "
                           + "\(Set(reader.manifest.shards.map(\.group)).sorted()). It was not written by a training job.")
        }
        let state = try JSONCoding.decode(JobState.self, try reader.open(first).bytes(Self.jobStateTensor))
        guard state.version <= JobState.currentVersion else {
            throw JobError("\(path): job state version \(state.version) is newer than this binary's \(JobState.currentVersion); use a newer ispo-cluster")
        }
        guard state.parameterCount == model.parameters.count else {
            throw JobError("\(path): expected a model of \(model.parameters.count) parameters (this config), found \(state.parameterCount). "
                           + "Resume with the model settings the checkpoint was written with, or resume_mode=disable.")
        }
        guard state.seed == config.trainer.seed else {
            throw JobError("\(path): written with trainer.seed=\(state.seed), this run has \(config.trainer.seed); the data order and "
                           + "sampling would differ. Set trainer.seed=\(state.seed), or resume_mode=disable.")
        }
        let pipeline = config.trainer.pipeline.rawValue
        if state.step > 0, let saved = state.pipeline, Self.resumeFamily(saved) != Self.resumeFamily(pipeline) {
            throw JobError("\(path): step \(state.step) of a trainer.pipeline=\(saved) run, this run has trainer.pipeline=\(pipeline); "
                           + "a checkpoint of step > 0 continues only its own pipeline (its optimizer state and step count mean "
                           + "nothing to another). Set trainer.pipeline=\(saved) to continue it, start from a step-0 checkpoint "
                           + "(checkpoint.resume_mode=<path>), or resume_mode=disable.")
        }
        let crc = nextBatchCRC(after: state.step)
        guard crc == state.nextBatchCRC else {
            throw JobError("\(path): the prompts of step \(state.step + 1) differ from the run that saved it (CRC \(CRC32C.hex(crc)), "
                           + "expected \(CRC32C.hex(state.nextBatchCRC))): data.train_files, data.train_batch_size or the data "
                           + "files changed. Resume with the original data, or resume_mode=disable.")
        }
        let later = try store.list().filter { $0.step > state.step }.map(\.step)
        guard later.isEmpty else {
            throw JobError("resuming from step \(state.step) (\(path)), but \(store.root) already holds later checkpoints "
                           + "\(later.map { "global_step_\($0)" }.joined(separator: ", ")) that this run would collide with. "
                           + "Move them away, or use resume_mode=auto to continue from the latest.")
        }
        plan.path = path
        plan.state = state
        return plan
    }

    /// Every rank learns whether the leader failed; all throw the same error.
    func agreeOrThrow(_ leaderError: String?, what: String) throws {
        let bytes = try world.broadcastBytes(isLeader ? Array((leaderError ?? "").utf8) : [], root: leaderRank)
        if !bytes.isEmpty { throw JobError("\(what): \(String(decoding: bytes, as: UTF8.self))") }
    }

    // MARK: Save

    /// Whether any rank was asked to stop (SIGUSR1 or a test hook): one small
    /// allreduce at each step boundary so every rank stops after the same step.
    func stopRequestedEverywhere(afterStep step: Int) throws -> Bool {
        let local = StopRequest.isRequested || faultHooks.stopAfterStep == step
        return try world.allreduceMax([local ? 1 : 0])[0] > 0
    }

    /// Collective: saves step `step` to `<run>/checkpoints/global_step_<step>`
    /// (learner shards of parameters and AdamW moments, the leader's job state,
    /// the frozen reference once), commits it and applies retention. Any rank's
    /// failure (a full disk included) removes the partial directory and every
    /// rank throws the same error; earlier checkpoints are untouched.
    @discardableResult
    func saveCheckpoint(step: Int, warmStartDone: Bool) throws -> String? {
        guard let store = checkpointStore else { return nil }
        let t = Date()
        // 1. The leader creates the staging directory.
        var prepError: String?
        if isLeader {
            do {
                try FileManager.default.createDirectory(atPath: store.root, withIntermediateDirectories: true)
                if FileManager.default.fileExists(atPath: store.path(step: step)) {
                    throw JobError("\(store.path(step: step)) already exists; move it away or resume from it")
                }
                try store.prepareStaging(step: step)
            } catch { prepError = "\(error)" }
        }
        try agreeOrThrow(prepError, what: "checkpoint of step \(step) not saved")

        // 2. Every rank writes its files and reports them to the leader.
        var report = ShardReport()
        do { report.summaries = try writeShards(store: store, step: step, warmStartDone: warmStartDone) } catch {
            report.error = "rank \(world.rank): \(error)"
        }
        let reports = try world.allgatherBytes(JSONCoding.encode(report)).map { try JSONCoding.decode(ShardReport.self, $0) }

        // 3. The leader commits (or aborts) and applies retention.
        var commitError: String?
        var committed: String?
        if isLeader {
            let errors = reports.compactMap(\.error)
            do {
                guard errors.isEmpty else { throw JobError(errors.joined(separator: "; ")) }
                let delay = Self.testCheckpointDelay
                if delay > 0 {
                    print("ispo-cluster: test hook: waiting \(delay) s before committing step \(step)"); fflush(stdout)
                    Thread.sleep(forTimeInterval: delay)
                }
                var metrics = (evaluations.last?.metrics ?? [:]).merging(lastStepMetrics) { a, _ in a }
                metrics = metrics.filter { $0.value.isFinite }
                let manifest = CheckpointManifest(
                    step: step, worldSize: world.size,
                    layout: ["roles": layout.describe(), "learners": "\(learnerRanks.count)",
                             "parameters": "\(model.parameters.count)", "model_shards": "learner ZeRO-1 balanced split",
                             // The architecture, so the checkpoint loads as a model (merges, MoT/MOTAB teachers).
                             "model_config": String(decoding: try JSONEncoder().encode(model.config), as: UTF8.self)],
                    config: config.resolvedYAML(), metrics: metrics, shards: reports.flatMap(\.summaries))
                let info = try store.commit(manifest)
                committed = info.path
                let c = config.checkpoint
                let deleted = try store.retain(RetentionPolicy(keepLast: max(0, c.keepLast), keepBest: max(0, c.keepBest),
                                                               metric: c.bestMetric))
                let extra = deleted.isEmpty ? "" : "; retention removed \(deleted.map { "global_step_\($0)" }.joined(separator: ", "))"
                print(String(format: "ispo-cluster: checkpoint %@ saved in %.2f s%@", info.path, Date().timeIntervalSince(t), extra))
                fflush(stdout)
            } catch {
                try? store.abort(step: step)
                commitError = "\(error)"
            }
        }
        try agreeOrThrow(commitError, what: "checkpoint of step \(step) not saved (earlier checkpoints are intact; "
                         + "free space or fix the error, then resume with resume_mode=auto)")
        return committed ?? store.path(step: step)
    }

    /// This rank's shard files of a save.
    func writeShards(store: CheckpointStore, step: Int, warmStartDone: Bool) throws -> [ShardSummary] {
        let c = config.checkpoint
        let options = ShardWriteOptions(shuffle: c.shuffleBytes)
        let paramType: StoredDType = c.dtype == .bf16 ? .bf16 : .fp32
        var out: [ShardSummary] = []
        let P = model.parameters.count
        if isLearner, let lc = learnerComm {
            // ZeRO-1: this learner's contiguous range of the flat parameters, and its moments.
            let counts = actorOptimizerStorage?.counts ?? shardCounts(total: P, parts: lc.size)
            let lo = counts[..<lc.rank].reduce(0, +), n = counts[lc.rank]
            let w = try store.shardWriter(step: step, group: "model", rank: lc.rank, options: options)
            try w.add("parameters", floats: UnsafeBufferPointer(start: model.parameters.pointer + lo, count: n), dtype: paramType)
            out.append(try w.finish())
            if let opt = actorOptimizerStorage {
                let o = try store.shardWriter(step: step, group: "optim", rank: lc.rank, options: options)
                try o.add("m", floats: UnsafeBufferPointer(start: opt.adam.m.pointer, count: opt.adam.m.count))
                try o.add("v", floats: UnsafeBufferPointer(start: opt.adam.v.pointer, count: opt.adam.v.count))
                out.append(try o.finish())
            }
        }
        // The reference is the same on every rank that holds one: the first such rank saves it.
        let referenceWriter = (0..<world.size).first(where: rankNeedsReference)
        if world.rank == referenceWriter, let ref = reference {
            let w = try store.shardWriter(step: step, group: "reference", rank: 0, options: options)
            try w.add("parameters", floats: UnsafeBufferPointer(start: ref.parameters.pointer, count: P), dtype: paramType)
            out.append(try w.finish())
        }
        // distill: the frozen `student` teacher, likewise saved by the first teacher rank holding it.
        if world.rank == studentTeacherWriter, let teacher = frozenStudentTeacher {
            let w = try store.shardWriter(step: step, group: Self.studentTeacherGroup, rank: 0, options: options)
            try w.add("parameters", floats: UnsafeBufferPointer(start: teacher.parameters.pointer, count: P), dtype: paramType)
            out.append(try w.finish())
        }
        if isLeader {
            let state = JobState(step: step, weightVersion: weightVersion, adamStep: actorOptimizerStorage?.adam.stepCount,
                                 warmStartDone: warmStartDone, ispoScale: ispoScale,
                                 evaluations: evaluations.map { SavedEvaluation(step: $0.step, metrics: $0.metrics) },
                                 seed: config.trainer.seed, nextBatchCRC: nextBatchCRC(after: step), parameterCount: P,
                                 learners: learnerRanks.count,
                                 hasReference: referenceWriter != nil && step > 0,
                                 pipeline: config.trainer.pipeline.rawValue, motTraceCRC: motTraceCRC)
            let w = try store.shardWriter(step: step, group: "state", rank: 0, options: options)
            try w.add(Self.jobStateTensor, bytes: JSONCoding.encode(state))
            out.append(try w.finish())
        }
        return out
    }

    /// Learners, after an optimizer step: parameters that became non-finite
    /// cannot be skipped (the step is applied), so the job stops whatever the NaN policy.
    func checkParametersFinite(step: Int) throws {
        let p = model.parameters.pointer
        var finite = true
        for i in 0..<model.parameters.count where !p[i].isFinite { finite = false; break }
        guard finite else {
            throw JobError("step \(step): the optimizer step made parameters non-finite (actor.optim.lr=\(config.actor.optim.lr) too large?). "
                           + "The model cannot continue: resume from the last checkpoint (checkpoint.resume_mode=auto) with a lower "
                           + "actor.optim.lr or a tighter actor.grad_clip.")
        }
    }
}
