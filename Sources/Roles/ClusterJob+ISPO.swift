import Foundation
import Objectives
import Transformer

extension ClusterJob {
    /// ISPO's signal settings from `algorithm.ispo`.
    var ispoSettings: ISPOSignals.Settings {
        let i = config.algorithm.ispo
        return ISPOSignals.Settings(rhoEntropy: i.rhoEntropy, rhoDrift: i.rhoDrift, intersect: i.setMode == .intersection,
                                    kappa: i.kappa, gamma: i.gamma, asymmetric: i.asymmetric, hinge: i.hinge)
    }

    /// Whether this rank needs the frozen copy of the policy at RL start:
    /// learners for the KL term, rollout workers for ISPO's drift.
    var needsReference: Bool { rankNeedsReference(world.rank) }

    /// Whether the pipeline freezes a reference: only RL (`distill` and `mot`
    /// ignore `actor.use_kl_loss` and ISPO's signals).
    var usesFrozenReference: Bool { config.trainer.pipeline == .rl || config.trainer.pipeline == .demo }

    var isRolloutRank: Bool { rolloutRanks.contains(world.rank) }

    /// Freezes the current policy as π_base / the KL reference (once, at the
    /// first RL step, after the weights are synchronised).
    func freezeReferenceIfNeeded() throws {
        guard needsReference, reference == nil else { return }
        let ref = try Model(config: model.config)
        ref.parameters.pointer.update(from: model.parameters.pointer, count: model.parameters.count)
        reference = ref
    }

    /// Annotates a worker's fresh rollouts with ISPO's signals; returns the seconds spent.
    func computeSignals(_ samples: inout [RolloutSample]) throws -> Double {
        guard config.algorithm.ispo.computesSignals, let base = reference else { return 0 }
        let t = Date()
        let worker = IntrinsicSignalWorker(policy: model, base: base, codec: codec, settings: ispoSettings,
                                           klDrift: config.algorithm.ispo.drift == .kl,
                                           temperature: Float(config.rollout.temperature))
        try worker.annotate(&samples)
        return Date().timeIntervalSince(t)
    }

    /// Replaces each reward by ISPO's composite reward R_o + λ_s·r_seq + λ_t·r_tok
    /// (R_o including any shaping), after updating the running scale of I with
    /// this batch. Every rank runs this on the same gathered samples, so the
    /// scale agrees everywhere.
    func applyISPO(_ samples: inout [RolloutSample]) {
        let i = config.algorithm.ispo
        guard i.computesSignals else { return }
        ispoScale.add(samples.compactMap { $0.signals.flatMap { $0.hasAnswer ? $0.sequenceInformation : nil } })
        guard i.enable else { return }
        let scale = ispoScale.value
        for k in samples.indices {
            guard let g = samples[k].signals else { continue }
            let correct = samples[k].outcome > 0.5
            let rSeq = i.sequenceSignal && g.hasAnswer
                ? ISPOSignals.sequenceReward(information: g.sequenceInformation, correct: correct, scale: scale) : 0
            let rTok = i.tokenReward ? g.tokenReward : 0
            samples[k].reward = ISPOSignals.composite(outcome: samples[k].reward, sequenceReward: rSeq, tokenReward: rTok,
                                                      lambdaSeq: i.lambdaSeq, lambdaTok: i.lambdaTok)
        }
    }

    /// The `ispo/*` diagnostics of a step's generated samples.
    func ispoMetrics(_ samples: [RolloutSample]) -> [String: Double] {
        guard config.algorithm.ispo.computesSignals else { return [:] }
        func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
        let with = samples.filter { $0.signals != nil }
        let correct = with.filter { $0.outcome > 0.5 }, wrong = with.filter { $0.outcome <= 0.5 }
        let threshold = config.algorithm.ispo.certaintyThreshold
        let wrongAnswered = wrong.filter { $0.signals!.hasAnswer }
        let scale = ispoScale.value
        func rSeq(_ s: RolloutSample) -> Double {
            ISPOSignals.sequenceReward(information: s.signals!.sequenceInformation, correct: s.outcome > 0.5, scale: scale)
        }
        return [
            "ispo/critical_set_size": mean(with.map { Double($0.signals!.criticalCount) }),
            "ispo/critical_frac": mean(with.map { Double($0.signals!.criticalCount) / Double(max(1, $0.responseTokens.count)) }),
            "ispo/wrong_critical_prob": mean(wrong.map(\.signals!.criticalMeanProb)),
            "ispo/correct_critical_prob": mean(correct.map(\.signals!.criticalMeanProb)),
            "ispo/wrong_confident_frac": wrongAnswered.isEmpty ? 0
                : Double(wrongAnswered.filter { $0.signals!.answerProb > threshold }.count) / Double(wrongAnswered.count),
            "ispo/wrong_answer_prob": mean(wrongAnswered.map(\.signals!.answerProb)),
            "ispo/seq_info_correct": mean(correct.filter { $0.signals!.hasAnswer }.map(\.signals!.sequenceInformation)),
            "ispo/seq_info_wrong": mean(wrongAnswered.map(\.signals!.sequenceInformation)),
            "ispo/seq_reward_correct": mean(correct.filter { $0.signals!.hasAnswer }.map(rSeq)),
            "ispo/seq_reward_wrong": mean(wrongAnswered.map(rSeq)),
            "ispo/tok_reward_correct": mean(correct.map(\.signals!.tokenReward)),
            "ispo/tok_reward_wrong": mean(wrong.map(\.signals!.tokenReward)),
            "ispo/answer_span_frac": mean(with.map { $0.signals!.hasAnswer ? 1 : 0 }),
            "ispo/seq_scale": scale,
        ]
    }
}
