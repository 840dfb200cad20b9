import Tensors

/// Test hooks of a job, all in one place: the faults to inject and the
/// records to keep. The CLI never sets one; every method has a no-op default,
/// so a test overrides only what it needs.
protocol JobObserver: AnyObject {
    /// Whether this rank asks the job to stop (as SIGUSR1 would) after step
    /// `step` (an RL or distill step, a MoT round; 0: after the warm start or preparation).
    func shouldStop(afterStep step: Int) -> Bool
    /// Whether the first optimizer step of RL step `step` gets a NaN gradient on this learner.
    func shouldInjectNaNGradient(step: Int) -> Bool
    /// Called on every rank at each evaluation, with the parameters it generates with.
    func didEvaluate(step: Int, parameters: FlatBuffer)
    /// Whether this rank wants `didMerge` calls (they copy the whole model three times).
    var recordsMerges: Bool { get }
    /// Called on each MoT branch rank after a round's merge.
    func didMerge(_ record: MoTRoundRecord)
    /// Called on every rank when the MoT teachers' correct traces are collected.
    func didCollectTraces(_ traces: [[MoTTrace]])
}

extension JobObserver {
    func shouldStop(afterStep step: Int) -> Bool { false }
    func shouldInjectNaNGradient(step: Int) -> Bool { false }
    func didEvaluate(step: Int, parameters: FlatBuffer) {}
    var recordsMerges: Bool { false }
    func didMerge(_ record: MoTRoundRecord) {}
    func didCollectTraces(_ traces: [[MoTTrace]]) {}
}
