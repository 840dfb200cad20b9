import Configs
import Foundation
import Objectives
import Transformer

/// ISPO inside an RL step (METHODS §1): the signals computed on the rollout
/// worker, the composite reward, the `ispo/*` diagnostics. Its settings are
/// built once, here, from `algorithm.ispo`.
struct ISPOStage {
    /// `algorithm.ispo`.
    let config: ISPOConfig
    /// The signal settings built from it.
    let settings: ISPOSignals.Settings
    /// `rollout.temperature` (the signals score the sampler's distribution).
    let temperature: Float

    init(config: Config) {
        let i = config.algorithm.ispo
        self.config = i
        settings = ISPOSignals.Settings(rhoEntropy: i.rhoEntropy, rhoDrift: i.rhoDrift, intersect: i.setMode == .intersection,
                                        kappa: i.kappa, gamma: i.gamma, asymmetric: i.asymmetric, hinge: i.hinge)
        temperature = Float(config.rollout.temperature)
    }

    /// Annotates a worker's fresh rollouts with ISPO's signals against the frozen
    /// `base`; returns the seconds spent (0 when the signals are off).
    func annotate(_ samples: inout [RolloutSample], policy: Model, base: Model, codec: TextCodec) throws -> Double {
        guard config.computesSignals else { return 0 }
        let t = Date()
        let worker = IntrinsicSignalWorker(policy: policy, base: base, codec: codec, settings: settings,
                                           klDrift: config.drift == .kl, temperature: temperature)
        try worker.annotate(&samples)
        return Date().timeIntervalSince(t)
    }

    /// Replaces each reward by ISPO's composite reward R_o + λ_s·r_seq + λ_t·r_tok
    /// (R_o including any shaping; without λ_t·r_tok under `token` credit), after
    /// updating the running scale of I with this batch; or, for the jitter
    /// control, adds the matched noise. Every rank runs this on the same
    /// gathered samples, so the scale and the noise agree everywhere.
    func apply(_ samples: inout [RolloutSample], scale: inout RunningScale, step: Int = 0, seed: UInt64 = 0) {
        let i = config
        guard i.computesSignals else { return }
        scale.add(samples.compactMap { $0.signals.flatMap { $0.hasAnswer ? $0.sequenceInformation : nil } })
        if i.jitterControl { addJitter(&samples, scale: scale, step: step, seed: seed); return }
        guard i.enable else { return }
        for k in samples.indices {
            guard let g = samples[k].signals else { continue }
            let correct = samples[k].outcome > 0.5
            let rSeq = i.sequenceSignal && g.hasAnswer ? sequenceReward(g, correct: correct, scale: scale) : 0
            let rTok = i.tokenReward && i.tokenCredit == .sequence ? g.tokenReward : 0
            samples[k].reward = ISPOSignals.composite(outcome: samples[k].reward, sequenceReward: rSeq, tokenReward: rTok,
                                                      lambdaSeq: i.lambdaSeq, lambdaTok: i.lambdaTok)
        }
    }

    /// The `ispo/*` diagnostics of a step's generated samples.
    func metrics(_ samples: [RolloutSample], scale running: RunningScale) -> [String: Double] {
        guard config.computesSignals else { return [:] }
        func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
        let with = samples.filter { $0.signals != nil }
        let correct = with.filter { $0.outcome > 0.5 }, wrong = with.filter { $0.outcome <= 0.5 }
        let wrongAnswered = wrong.filter { $0.signals!.hasAnswer }
        let scale = running.value
        func rSeq(_ s: RolloutSample) -> Double { sequenceReward(s.signals!, correct: s.outcome > 0.5, scale: running) }
        return [
            "ispo/critical_set_size": mean(with.map { Double($0.signals!.criticalCount) }),
            "ispo/critical_frac": mean(with.map { Double($0.signals!.criticalCount) / Double(max(1, $0.responseTokens.count)) }),
            "ispo/wrong_critical_prob": mean(wrong.map(\.signals!.criticalMeanProb)),
            "ispo/correct_critical_prob": mean(correct.map(\.signals!.criticalMeanProb)),
            "ispo/wrong_confident_frac": wrongAnswered.isEmpty ? 0
                : Double(wrongAnswered.filter { $0.signals!.answerProb > config.certaintyThreshold }.count) / Double(wrongAnswered.count),
            "ispo/wrong_answer_prob": mean(wrongAnswered.map(\.signals!.answerProb)),
            "ispo/seq_info_correct": mean(correct.filter { $0.signals!.hasAnswer }.map(\.signals!.sequenceInformation)),
            "ispo/seq_info_wrong": mean(wrongAnswered.map(\.signals!.sequenceInformation)),
            "ispo/seq_reward_correct": mean(correct.filter { $0.signals!.hasAnswer }.map(rSeq)),
            "ispo/seq_reward_wrong": mean(wrongAnswered.map(rSeq)),
            "ispo/tok_reward_correct": mean(correct.map(\.signals!.tokenReward)),
            "ispo/tok_reward_wrong": mean(wrong.map(\.signals!.tokenReward)),
            "ispo/answer_span_frac": mean(with.map { $0.signals!.hasAnswer ? 1 : 0 }),
            "ispo/seq_scale": scale,
        ].merging(roundTwoMetrics(samples, scale: running)) { $1 }
    }
}
