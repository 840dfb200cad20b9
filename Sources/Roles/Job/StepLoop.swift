/// The step loop every pipeline with steps shares (RL, distill; a MoT step
/// is a round): steps k+1…`total` after the restored step k (0 on a fresh
/// start), each followed by an evaluation every `testFreq` steps and at the
/// last, the stop check and a checkpoint every `checkpoint.save_freq` steps,
/// at the last and on a stop. A stop requested before step 1 (during the
/// warm start or a pipeline's preparation) is honoured before step 1 with a
/// checkpoint of step 0.
struct StepLoop {
    let ctx: JobContext
    let saver: CheckpointSaver
    let evaluator: Evaluator

    /// Runs the steps; returns the stop when one was requested before the last step.
    func run(resumed: ResumedRun?, total: Int, testFreq: Int, _ body: (Int) throws -> Void) throws -> JobStop? {
        let saveFreq = ctx.config.checkpoint.saveFreq
        var step = resumed?.state.step ?? 0
        if step == 0, step < total, try ctx.stopRequestedEverywhere(afterStep: 0) {
            return JobStop(step: 0, checkpoint: resumed == nil ? try saver.save(step: 0) : nil)
        }
        while step < total {
            step += 1
            try body(step)
            if (testFreq > 0 && step % testFreq == 0) || step == total { try evaluator.evaluate(step: step) }
            let stop = try ctx.stopRequestedEverywhere(afterStep: step)
            let periodic = saveFreq > 0 && (step % saveFreq == 0 || step == total)
            var saved: String?
            if periodic || stop { saved = try saver.save(step: step) }
            if stop && step < total { return JobStop(step: step, checkpoint: saved) }
        }
        return nil
    }
}
