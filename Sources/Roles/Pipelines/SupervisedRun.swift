/// What the supervised method pipelines (t3s, priority, p2d) share: they run
/// start to end without resuming mid-way, and save their final model.
enum SupervisedRun {
    /// Throws when `resumed` is a checkpoint of step > 0: such a run starts from
    /// `model.path` (`start` names what it holds) with `checkpoint.resume_mode=disable`.
    static func refuseContinuation(_ resumed: ResumedRun?, pipeline: String, start: String) throws {
        guard let resumed, resumed.state.step > 0 else { return }
        throw JobError("\(resumed.path): a \(pipeline) run does not continue from a checkpoint of step \(resumed.state.step); "
                       + "start it with checkpoint.resume_mode=disable (model.path names \(start))")
    }
}

extension JobPipeline {
    /// Saves the model as the checkpoint of `step` when `checkpoint.save_freq` > 0
    /// (the supervised pipelines that do not resume mid-way).
    func saveFinalModel(ctx: JobContext, step: Int) throws {
        guard ctx.config.checkpoint.saveFreq > 0 else { return }
        _ = try ctx.syncWeights()
        try CheckpointSaver(ctx: ctx, pipeline: self).save(step: step)
    }
}
