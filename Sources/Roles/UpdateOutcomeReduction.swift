import Comm
import Objectives

/// Sums learners' step outcomes over their communicator so the leader reports
/// numbers that do not depend on how the batch was split.
public enum UpdateOutcomeReduction {
    /// Every learner gets the merged outcome.
    public static func allreduce(_ o: LearnerUpdate.Outcome, over comm: Communicator) throws -> LearnerUpdate.Outcome {
        guard comm.size > 1 else { return o }
        let m = o.loss
        let sums = try comm.allreduceSum([m.tokens, m.pgLoss, m.klLoss, m.entropyLoss, m.clippedTokens, m.dualClippedTokens,
                                          m.logRatioSum, m.entropySum, m.ratioSum, o.logProbAbsDiff, o.logProbTokens,
                                          m.hasKL ? 1 : 0])
        let maxes = try comm.allreduceMax([m.ratioMax, -m.ratioMin])
        let r = PolicyLossMetrics()
        r.tokens = sums[0]; r.pgLoss = sums[1]; r.klLoss = sums[2]; r.entropyLoss = sums[3]
        r.clippedTokens = sums[4]; r.dualClippedTokens = sums[5]; r.logRatioSum = sums[6]
        r.entropySum = sums[7]; r.ratioSum = sums[8]; r.hasKL = sums[11] > 0
        r.ratioMax = maxes[0]; r.ratioMin = -maxes[1]
        return LearnerUpdate.Outcome(loss: r, logProbAbsDiff: sums[9], logProbTokens: sums[10], gradNorm: o.gradNorm,
                                     leadingGradNorm: o.leadingGradNorm)
    }
}
