import Objectives
@testable import Roles
import Tensors

/// Faults a test injects on one rank.
struct JobFaultHooks {
    /// RL steps whose first optimizer step gets a NaN gradient on learner 0.
    var nanGradientSteps: Set<Int> = []
    /// Ask for a stop (as SIGUSR1 would) after this step.
    var stopAfterStep: Int?
}

/// The tests' job observer: injects `faults` and records merges, traces and evaluations.
final class RecordingObserver: JobObserver {
    var faults: JobFaultHooks
    var recordsMerges: Bool
    var recordEvaluations: Bool
    private(set) var rounds: [MoTRoundRecord] = []
    private(set) var traces: [[MoTTrace]] = []
    private(set) var evaluatedParameters: [(step: Int, parameters: [Float])] = []

    init(faults: JobFaultHooks = JobFaultHooks(), recordsMerges: Bool = false, recordEvaluations: Bool = false) {
        self.faults = faults; self.recordsMerges = recordsMerges; self.recordEvaluations = recordEvaluations
    }

    func shouldStop(afterStep step: Int) -> Bool { faults.stopAfterStep == step }
    func shouldInjectNaNGradient(step: Int) -> Bool { faults.nanGradientSteps.contains(step) }
    func didMerge(_ record: MoTRoundRecord) { rounds.append(record) }
    func didCollectTraces(_ traces: [[MoTTrace]]) { self.traces = traces }
    func didEvaluate(step: Int, parameters: FlatBuffer) {
        if recordEvaluations { evaluatedParameters.append((step, parameters.toArray())) }
    }
}

extension ClusterJob {
    /// AdamW steps of the RL or distill optimizer after the run (nil: none was created).
    var adamSteps: Int? {
        if let p = pipeline as? RLPipeline { return p.optimizer?.adam.stepCount }
        if let p = pipeline as? DistillPipeline { return p.optimizer?.adam.stepCount }
        return nil
    }

    /// Broadcasts the leader's weights (tests end every rank on them).
    func syncWeights() throws -> Double { try ctx.syncWeights() }

    /// ISPO's running scale after an RL run.
    var ispoScale: RunningScale {
        if let p = pipeline as? RLPipeline { return p.ispoScale }
        return RunningScale()
    }
}
