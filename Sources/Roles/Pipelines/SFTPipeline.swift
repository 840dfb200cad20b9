import Comm

/// `trainer.pipeline=sft`: the supervised warm start alone, evaluated before
/// (`trainer.val_before_train`) and after; with `checkpoint.save_freq` > 0 the
/// result is saved as step 0, for an RL or distill run to start from
/// (`checkpoint.resume_mode=<this checkpoint>` or `model.path`).
final class SFTPipeline: JobPipeline {
    let ctx: JobContext

    init(ctx: JobContext) { self.ctx = ctx }

    func run(resumed: ResumedRun?) throws -> JobStop? {
        if !(resumed?.state.warmStartDone ?? false) { try WarmStartTrainer(ctx: ctx).run() }
        let evaluator = Evaluator(ctx: ctx)
        guard resumed == nil else { return nil }
        if ctx.config.trainer.valBeforeTrain { try evaluator.evaluate(step: 0) }
        try evaluator.evaluate(step: ctx.warmStart.steps)
        if ctx.config.checkpoint.saveFreq > 0 {
            try CheckpointSaver(ctx: ctx, pipeline: self).save(step: 0)
        }
        return nil
    }
}

/// `trainer.pipeline=eval`: one evaluation of the model (at the resumed step, or 0).
final class EvalPipeline: JobPipeline {
    let ctx: JobContext

    init(ctx: JobContext) { self.ctx = ctx }

    func run(resumed: ResumedRun?) throws -> JobStop? {
        try Evaluator(ctx: ctx).evaluate(step: resumed?.state.step ?? 0)
        return nil
    }
}
