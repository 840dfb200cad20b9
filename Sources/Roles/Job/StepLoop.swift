import Foundation

/// The step loop every pipeline with steps shares (RL, distill; a MoT step
/// is a round): steps k+1…`total` after the restored step k (0 on a fresh
/// start), each followed by an evaluation every `testFreq` steps and at the
/// last, the stop check and a checkpoint every `checkpoint.save_freq` steps,
/// at the last and on a stop. A stop requested before step 1 (during the
/// warm start or a pipeline's preparation) is honoured before step 1 with a
/// checkpoint of step 0.
///
/// Time limits (`Deadline`): the start-up and the first step of this run share
/// `trainer.first_step_timeout_s` (set by `JobContext`), every later step has
/// `trainer.step_timeout_s`, every evaluation the same again (`Evaluator`), every
/// save `checkpoint.write_timeout_s`.
/// A stop on a signal skips the checkpoint when it would end past `trainer.signal_grace_s`.
struct StepLoop {
    let ctx: JobContext
    let saver: CheckpointSaver
    let evaluator: Evaluator

    /// Runs the steps; returns the stop when one was requested before the last step.
    func run(resumed: ResumedRun?, total: Int, testFreq: Int, _ body: (Int) throws -> Void) throws -> JobStop? {
        let saveFreq = ctx.config.checkpoint.saveFreq
        var step = resumed?.state.step ?? 0
        let firstStep = step + 1
        if step == 0, step < total, let stop = try ctx.stopRequestedEverywhere(afterStep: 0) {
            return try finish(stop, step: 0, save: resumed == nil)
        }
        while step < total {
            step += 1
            if step > firstStep { ctx.startPhase("step \(step)", seconds: stepTimeout, key: "trainer.step_timeout_s") }
            try body(step)
            if (testFreq > 0 && step % testFreq == 0) || step == total { try evaluator.evaluate(step: step) }
            let stop = try ctx.stopRequestedEverywhere(afterStep: step)
            let periodic = saveFreq > 0 && (step % saveFreq == 0 || step == total)
            if let stop, step < total { return try finish(stop, step: step, save: true) }
            if periodic || stop != nil { try save(step) }
        }
        ctx.startPhase("the end of the job after step \(step)", seconds: stepTimeout, key: "trainer.step_timeout_s")
        return nil
    }

    private var stepTimeout: Double { ctx.config.trainer.stepTimeoutS }

    /// A stop after `step`: the checkpoint (when `save` and it fits the grace time), then the stop.
    private func finish(_ stop: AgreedStop, step: Int, save: Bool) throws -> JobStop {
        let skipped = save && ctx.checkpointStore != nil ? stop.overrun(grace: ctx.config.trainer.signalGraceS) : nil
        var saved: String?
        if save && skipped == nil {
            StopRequest.disarmGrace()  // the save started in time: let it finish
            saved = try self.save(step)
        }
        return JobStop(step: step, checkpoint: saved, signal: StopRequest.signalName(stop.signal), skipped: skipped,
                       exitCode: stop.exitCode(skipped: skipped != nil))
    }

    /// One save under its own time limit; records its duration for the grace decision.
    @discardableResult
    private func save(_ step: Int) throws -> String? {
        ctx.startPhase("checkpoint of step \(step)", seconds: ctx.config.checkpoint.writeTimeoutS, key: "checkpoint.write_timeout_s")
        let t = Date()
        let path = try saver.save(step: step)
        ctx.lastSaveSeconds = Date().timeIntervalSince(t)
        ctx.startPhase("after the checkpoint of step \(step)", seconds: stepTimeout, key: "trainer.step_timeout_s")
        return path
    }
}
