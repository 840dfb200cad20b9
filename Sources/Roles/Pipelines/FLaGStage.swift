import Configs
import Objectives

/// What an RL step does with the live FLaG scores (`flag.*`): the `flag/*`
/// metrics of every generated rollout, the reward penalty −λ·p(wrong) before
/// the advantage, and the filter that drops flagged rollouts (and groups left with one) before the advantage.
struct FLaGStage {
    let config: FLaGConfig

    /// `flag.penalty`: reward −= λ·p(wrong) on scored samples.
    func penalise(_ samples: inout [RolloutSample]) {
        guard config.enable, config.penalty > 0 else { return }
        for i in samples.indices {
            samples[i].reward = FLaGLiveRules.penalised(reward: samples[i].reward, score: samples[i].flagScore, lambda: config.penalty)
        }
    }

    /// `flag.filter`: the samples not flagged (nor left alone in their group), and how many were dropped.
    func filter(_ samples: [RolloutSample]) -> (kept: [RolloutSample], dropped: Int) {
        guard config.enable, config.filter else { return (samples, 0) }
        let keep = FLaGLiveRules.kept(scores: samples.map(\.flagScore), groupIds: samples.map(\.groupId), threshold: config.threshold)
        return (keep.map { samples[$0] }, samples.count - keep.count)
    }

    /// `<prefix>/*` metrics of `samples` (empty when FLaG is off).
    func metrics(_ samples: [RolloutSample], prefix: String = "flag") -> [String: Double] {
        guard config.enable else { return [:] }
        return FLaGLiveRules.metrics(scores: samples.map(\.flagScore), outcomes: samples.map(\.outcome),
                                     threshold: config.threshold, prefix: prefix)
    }
}
