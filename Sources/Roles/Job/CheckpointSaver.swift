import Checkpoint
import Comm
import Foundation
import Tensors

/// A rank's part of a save, sent to the leader.
struct ShardReport: Codable {
    var summaries: [ShardSummary] = []
    var error: String?
}

/// Saves checkpoints of a job: the parameters (ZeRO-1 learner shards) and the
/// job state here, the rest from the pipeline (`Pipeline.writeShards`,
/// `Pipeline.encodedState`).
struct CheckpointSaver {
    let ctx: JobContext
    unowned let pipeline: JobPipeline

    /// Seconds the leader waits between the shard writes and the commit
    /// (`ISPO_TEST_CHECKPOINT_DELAY`): lets the fault tests kill a job mid-save.
    static var testCheckpointDelay: Double {
        Double(ProcessInfo.processInfo.environment["ISPO_TEST_CHECKPOINT_DELAY"] ?? "") ?? 0
    }

    /// Collective: saves step `step` to `<run>/checkpoints/global_step_<step>`,
    /// commits it and applies retention. Any rank's failure (a full disk
    /// included) removes the partial directory and every rank throws the same
    /// error; earlier checkpoints are untouched. Nil when the job writes no files.
    @discardableResult
    func save(step: Int) throws -> String? {
        guard let store = ctx.checkpointStore else { return nil }
        let t = Date()
        // 1. The leader creates the staging directory.
        var prepError: String?
        if ctx.isLeader {
            do {
                try FileManager.default.createDirectory(atPath: store.root, withIntermediateDirectories: true)
                let existing = store.path(step: step)
                if FileManager.default.fileExists(atPath: existing) {
                    // A damaged directory of this step (it failed verification at the resume or was
                    // damaged since) is set aside, never in the way; a valid one is never overwritten.
                    do { _ = try CheckpointReader(directory: existing) } catch {
                        let moved = try store.quarantine(step: step)
                        print("ispo-cluster: \(existing) does not verify (\(error)); set aside as "
                              + "\((moved as NSString).lastPathComponent) before saving step \(step)")
                        fflush(stdout)
                    }
                    if FileManager.default.fileExists(atPath: existing) {
                        throw JobError("\(existing) already exists and verifies; it is not overwritten. Resume from it "
                                       + "(checkpoint.resume_mode=auto), or move it away to save this step again.")
                    }
                }
                try store.prepareStaging(step: step)
            } catch { prepError = "\(error)" }
        }
        try ctx.agreeOrThrow(prepError, what: "checkpoint of step \(step) not saved")

        // 2. Every rank writes its files and reports them to the leader.
        var report = ShardReport()
        do { report.summaries = try writeShards(store: store, step: step) } catch {
            report.error = "rank \(ctx.world.rank): \(error)"
        }
        let reports = try ctx.world.allgatherBytes(JSONCoding.encode(report)).map { try JSONCoding.decode(ShardReport.self, $0) }

        // 3. The leader commits (or aborts) and applies retention.
        var commitError: String?
        var committed: String?
        if ctx.isLeader {
            do {
                committed = try commit(store: store, step: step, reports: reports, started: t)
            } catch {
                try? store.abort(step: step)
                commitError = "\(error)"
            }
        }
        try ctx.agreeOrThrow(commitError, what: "checkpoint of step \(step) not saved (earlier checkpoints are intact; "
                             + "free space or fix the error, then resume with resume_mode=auto)")
        return committed ?? store.path(step: step)
    }

    /// Leader: the manifest, the commit and retention.
    private func commit(store: CheckpointStore, step: Int, reports: [ShardReport], started: Date) throws -> String {
        let errors = reports.compactMap(\.error)
        guard errors.isEmpty else { throw JobError(errors.joined(separator: "; ")) }
        let delay = Self.testCheckpointDelay
        if delay > 0 {
            print("ispo-cluster: test hook: waiting \(delay) s before committing step \(step)"); fflush(stdout)
            Thread.sleep(forTimeInterval: delay)
        }
        var metrics = (ctx.evaluations.last?.metrics ?? [:]).merging(ctx.lastStepMetrics) { a, _ in a }
        metrics = metrics.filter { $0.value.isFinite }
        let model = ctx.model
        let manifest = CheckpointManifest(
            step: step, worldSize: ctx.world.size,
            layout: ["roles": ctx.layout.describe(), "learners": "\(ctx.learnerRanks.count)",
                     "parameters": "\(model.parameters.count)", "model_shards": "learner ZeRO-1 balanced split",
                     // The architecture, so the checkpoint loads as a model (merges, MoT/MOTAB teachers).
                     ResumeCompatibility.modelConfigKey: String(decoding: try JSONEncoder().encode(model.config), as: UTF8.self),
                     // The tokenizer, so a resume with another one is refused (ResumeCompatibility).
                     ResumeCompatibility.codecKey: ResumeCompatibility.identity(of: ctx.codec)],
            config: ctx.config.resolvedYAML(), metrics: metrics, shards: reports.flatMap(\.summaries))
        let info = try store.commit(manifest)
        let c = ctx.config.checkpoint
        let deleted = try store.retain(RetentionPolicy(keepLast: max(0, c.keepLast), keepBest: max(0, c.keepBest),
                                                       metric: c.bestMetric))
        let extra = deleted.isEmpty ? "" : "; retention removed \(deleted.map { "global_step_\($0)" }.joined(separator: ", "))"
        print(String(format: "ispo-cluster: checkpoint %@ saved in %.2f s%@", info.path, Date().timeIntervalSince(started), extra))
        fflush(stdout)
        return info.path
    }

    /// This rank's shard files of a save.
    private func writeShards(store: CheckpointStore, step: Int) throws -> [ShardSummary] {
        let c = ctx.config.checkpoint
        let files = ShardFiles(store: store, step: step, options: ShardWriteOptions(shuffle: c.shuffleBytes),
                               parameterType: c.dtype == .bf16 ? .bf16 : .fp32)
        var out: [ShardSummary] = []
        let model = ctx.model
        if ctx.isLearner, let lc = ctx.learnerComm {
            // ZeRO-1: this learner's contiguous range of the flat parameters (the optimizer's split).
            let counts = shardCounts(total: model.parameters.count, parts: lc.size)
            let lo = counts[..<lc.rank].reduce(0, +), n = counts[lc.rank]
            let w = try store.shardWriter(step: step, group: "model", rank: lc.rank, options: files.options)
            try w.add("parameters", floats: UnsafeBufferPointer(start: model.parameters.pointer + lo, count: n),
                      dtype: files.parameterType)
            out.append(try w.finish())
        }
        out += try pipeline.writeShards(files, step: step)
        if ctx.isLeader {
            let state = JobState(step: step, weightVersion: ctx.weightVersion, warmStartDone: true,
                                 evaluations: ctx.evaluations.map { SavedEvaluation(step: $0.step, metrics: $0.metrics) },
                                 seed: ctx.config.trainer.seed, nextBatchCRC: ctx.nextBatchCRC(after: step),
                                 parameterCount: model.parameters.count, learners: ctx.learnerRanks.count,
                                 pipeline: ctx.config.trainer.pipeline.rawValue)
            let w = try store.shardWriter(step: step, group: "state", rank: 0, options: files.options)
            try w.add(PipelineState.jobTensor, bytes: JSONCoding.encode(state))
            try w.add(PipelineState.tensor, bytes: pipeline.encodedState(step: step))
            out.append(try w.finish())
        }
        return out
    }
}
