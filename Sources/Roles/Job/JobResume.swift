import Checkpoint
import Configs
import Foundation
import Tensors

/// The common part of a resume: the leader picks the checkpoint
/// (`checkpoint.resume_mode`) and validates it against the config; every rank
/// restores the parameters, the weight version and the evaluations. The
/// pipeline restores the rest from `ResumedRun.slice` and its own shards.
struct JobResume {
    let ctx: JobContext

    /// Collective, at the start of a job: the restored run, or nil for a fresh start.
    /// Sets `ctx.checkpointStore` on every rank.
    func restore() throws -> ResumedRun? {
        var plan = ResumePlan()
        if ctx.isLeader {
            do { plan = try planResume() } catch { plan.error = "\(error)" }
        }
        plan = try JSONCoding.decode(ResumePlan.self, try ctx.world.broadcastBytes(ctx.isLeader ? JSONCoding.encode(plan) : [],
                                                                                    root: ctx.leaderRank))
        if let e = plan.error { throw JobError("cannot resume: \(e)") }
        ctx.checkpointStore = plan.checkpointsRoot.map { CheckpointStore(directory: $0) }
        guard let path = plan.path, let state = plan.state, let slice = plan.slice else { return nil }

        // Parameters: the leader reads the concatenated shards (any learner count) and broadcasts.
        let model = ctx.model
        var readError: String?
        if ctx.isLeader {
            do {
                let params = try CheckpointReader(directory: path).concatenated(tensor: "parameters", group: "model")
                params.withUnsafeBufferPointer { model.parameters.pointer.update(from: $0.baseAddress!, count: params.count) }
            } catch { readError = "\(error)" }
        }
        try ctx.agreeOrThrow(readError, what: "reading the parameters of \(path)")
        try ctx.world.broadcast(model.parameters.buffer, root: ctx.leaderRank)
        ctx.weightVersion = state.weightVersion
        ctx.evaluations = state.evaluations.map { ($0.step, $0.metrics) }
        if ctx.isLeader {
            let reshard = state.learners != ctx.learnerRanks.count
                ? " (resharded from \(state.learners) to \(ctx.learnerRanks.count) learners)" : ""
            print("ispo-cluster: resumed from \(path) at step \(state.step)\(reshard)")
        }
        return ResumedRun(path: path, state: state, slice: slice)
    }

    /// Which pipelines can continue each other's checkpoints of step > 0: `demo` is `rl` after a warm start.
    static func resumeFamily(_ pipeline: String) -> String {
        pipeline == Configs.Pipeline.demo.rawValue ? Configs.Pipeline.rl.rawValue : pipeline
    }

    /// Leader: where the checkpoints live and which one to resume from, validated.
    func planResume() throws -> ResumePlan {
        var plan = ResumePlan()
        guard let runDirectory = ctx.runDirectory else { return plan }
        let store = CheckpointStore(runDirectory: runDirectory)
        plan.checkpointsRoot = store.root
        let removed = try store.removeStaleStaging()
        if !removed.isEmpty { print("ispo-cluster: removed unfinished checkpoint directories \(removed.joined(separator: ", "))") }
        guard let path = try chooseCheckpoint(store) else { return plan }
        let reader = try CheckpointReader(directory: path)  // checks DONE against the manifest and the directory name
        guard let first = reader.manifest.shards(group: "state").first else {
            throw JobError("\(path): expected a state/ shard with the job state, found groups "
                           + "\(Set(reader.manifest.shards.map(\.group)).sorted()). It was not written by a training job.")
        }
        let shard = try reader.open(first)
        let stateBytes = try shard.bytes(PipelineState.jobTensor)
        let state = try validated(JSONCoding.decode(JobState.self, stateBytes), path: path, store: store)
        // The architecture and tokenizer must match whatever the checkpoint; the config is compared
        // when this run continues the checkpoint's run (not when a step-0 checkpoint of another run,
        // e.g. a warm start saved by trainer.pipeline=sft, initialises it).
        try ResumeCompatibility.checkModel(manifest: reader.manifest, model: ctx.model.config, codec: ctx.codec, path: path)
        let initialises = state.step == 0 && !Self.isInside(path, store.root)
        if !initialises {
            for c in try ResumeCompatibility.checkConfig(savedYAML: reader.manifest.config, current: ctx.config, path: path) {
                print("ispo-cluster: resume: \(c.key) changed from \(c.saved) (checkpoint) to \(c.current) (allowed)")
            }
        }
        plan.path = path
        plan.state = state
        plan.slice = shard.record(named: PipelineState.tensor) != nil ? try shard.bytes(PipelineState.tensor) : stateBytes
        return plan
    }

    /// The checkpoint `checkpoint.resume_mode` names, or nil for a fresh start.
    private func chooseCheckpoint(_ store: CheckpointStore) throws -> String? {
        let mode = ctx.config.checkpoint.resumeMode
        switch mode {
        case "disable": return nil
        case "auto": return try latestUsable(store, mode: mode)
        default:
            // A path outside this run initialises it; once the run has checkpoints of its own
            // (a requeued or restarted job), it continues from its latest instead.
            if !Self.isInside(mode, store.root), let own = try latestUsable(store, mode: mode) {
                print("ispo-cluster: checkpoint.resume_mode=\(mode), but this run already has \(own): continuing from it "
                      + "(move \(store.root) away to start again from \(mode))")
                return own
            }
            guard let path = try CheckpointResolver.resolve(mode) else {
                throw JobError("checkpoint.resume_mode=\(mode): expected a global_step_<N> directory or a run/checkpoints "
                               + "directory holding one, found no checkpoint there. Pass an existing checkpoint, "
                               + "or resume_mode=disable to start fresh.")
            }
            return path
        }
    }

    /// Whether `path` lies inside the directory `root`.
    static func isInside(_ path: String, _ root: String) -> Bool {
        let absolute = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.path }
        return absolute(path).hasPrefix(absolute(root) + "/")
    }

    /// The newest checkpoint of the run that verifies completely (manifest,
    /// DONE and every shard), or nil when the run has none at all. Never
    /// silent: newer checkpoints that do not verify are named with the reason
    /// and set aside (`corrupt_global_step_<N>_<time>`) so the run can save
    /// those steps again; when checkpoints exist but none verifies, throws
    /// listing each and why, rather than starting over.
    func latestUsable(_ store: CheckpointStore, mode: String) throws -> String? {
        let scan = try store.scan()
        var bad = scan.damaged
        var chosen: CheckpointInfo?
        for info in scan.complete.reversed() {
            do {
                try CheckpointReader(directory: info.path).verifyAll()
                chosen = info
                break
            } catch {
                bad.append((info.step, (info.path as NSString).lastPathComponent, "\(error)"))
            }
        }
        bad.sort { $0.step > $1.step }
        guard let chosen else {
            guard !bad.isEmpty else { return nil }
            throw JobError("checkpoint.resume_mode=\(mode): \(store.root) holds checkpoints, but none verifies: "
                           + bad.map { "\($0.name): \($0.reason)" }.joined(separator: " | ")
                           + " — not starting over silently. Restore or move away the damaged directories, resume from "
                           + "a good copy with checkpoint.resume_mode=<path>, or start fresh with "
                           + "checkpoint.resume_mode=disable (a damaged global_step_<N> is then set aside when step N is saved).")
        }
        let newer = bad.filter { $0.step > chosen.step }
        for b in newer {
            let moved = try store.quarantine(step: b.step)
            print("ispo-cluster: skipping \(b.name), which does not verify (\(b.reason)); set aside as "
                  + "\((moved as NSString).lastPathComponent)")
        }
        if !newer.isEmpty {
            print("ispo-cluster: checkpoint.resume_mode=\(mode): falling back to \(chosen.path) (step \(chosen.step)), the "
                  + "newest checkpoint that verifies; skipped \(newer.map(\.name).joined(separator: ", "))")
        }
        for b in bad where b.step < chosen.step {
            print("ispo-cluster: note: older \(b.name) does not verify (\(b.reason)); it is not used")
        }
        fflush(stdout)
        return chosen.path
    }

    /// The job state of `path` if this config can continue it.
    private func validated(_ state: JobState, path: String, store: CheckpointStore) throws -> JobState {
        let config = ctx.config
        guard state.version <= JobState.currentVersion else {
            throw JobError("\(path): job state version \(state.version) is newer than this binary's \(JobState.currentVersion); use a newer ispo-cluster")
        }
        guard state.parameterCount == ctx.model.parameters.count else {
            throw JobError("\(path): expected a model of \(ctx.model.parameters.count) parameters (this config), found \(state.parameterCount). "
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
        let crc = ctx.nextBatchCRC(after: state.step)
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
        return state
    }
}
