import Configs
import Foundation
import Objectives
@testable import Roles
import Tasks
import Tensors
import XCTest

/// ISPO round two inside the RL step: `token` credit reaches the packed
/// per-token advantages on the critical tokens only, `sequence` credit is
/// unchanged, the jitter control adds the matched seeded noise, and the
/// Spearman diagnostic ranks wrong rollouts by their correct steps.
final class ISPORoundTwoStageTests: XCTestCase {
    private func sample(group: Int, outcome: Double, tokenReward: Double, critical: [Int32], length: Int = 5,
                        info: Double = 0, hasAnswer: Bool = false, source: String = "x", prompt: String = "p",
                        response: String = "r") -> RolloutSample {
        var s = RolloutSample(promptTokens: [1, 2], responseTokens: [Int32](repeating: 3, count: length),
                              logProbs: [Float](repeating: -0.5, count: length), entropies: [Float](repeating: 1, count: length),
                              outcome: outcome, reward: outcome, groupId: group, dataSource: source, prompt: prompt,
                              response: response, groundTruth: "g")
        s.signals = IntrinsicSignals(hasAnswer: hasAnswer, sequenceInformation: info, tokenReward: tokenReward,
                                     criticalCount: critical.count, criticalMeanProb: 0.5, answerProb: 0.5, critical: critical)
        return s
    }

    private func config(_ edit: (inout Config) -> Void) -> Config {
        var c = Config.defaults
        c.algorithm.ispo.enable = true
        edit(&c)
        return c
    }

    func testTokenCreditLandsOnCriticalRowsOnly() {
        let stage = ISPOStage(config: config { $0.algorithm.ispo.tokenCredit = .token })
        // One all-wrong group: r_tok 0.6 and 0.2 → δ = ±0.04.
        var samples = [sample(group: 0, outcome: 0, tokenReward: 0.6, critical: [1, 3]),
                       sample(group: 0, outcome: 0, tokenReward: 0.2, critical: [4])]
        var scale = RunningScale()
        stage.apply(&samples, scale: &scale)
        XCTAssertEqual(samples.map(\.reward), [0, 0], "token credit keeps r_tok out of the scalar reward")
        let m = stage.placeTokenCredit(&samples)
        XCTAssertEqual(m["ispo/token_credit_abs"]!, 0.04, accuracy: 1e-12)
        XCTAssertEqual(samples[0].tokenAdvantageTerms, [0, 0.04, 0, 0.04, 0].map { Float($0) })
        XCTAssertEqual(samples[1].tokenAdvantageTerms, [0, 0, 0, 0, -0.04].map { Float($0) })
        let adv = GroupAdvantages.compute(rewards: samples.map(\.reward), groupIds: [0, 0], normalizeByStd: true)
        XCTAssertEqual(adv, [0, 0])
        let packed = PackedBatch(samples: samples, advantages: adv, pad: 0)
        // Response rows of sample b start at row b·T + 1 (prompt of 2 tokens, T = 6).
        let T = packed.batch.seqLen
        let rows0 = (0..<5).map { packed.advantages[0 * T + 1 + $0] }, rows1 = (0..<5).map { packed.advantages[1 * T + 1 + $0] }
        XCTAssertEqual(rows0, [0, 0.04, 0, 0.04, 0].map { Float($0) })
        XCTAssertEqual(rows1, [0, 0, 0, 0, -0.04].map { Float($0) })
    }

    func testSequenceCreditIsRoundOne() {
        let stage = ISPOStage(config: config { _ in })
        var samples = [sample(group: 0, outcome: 0, tokenReward: 0.6, critical: [1]),
                       sample(group: 0, outcome: 1, tokenReward: 0.2, critical: [2])]
        var scale = RunningScale()
        stage.apply(&samples, scale: &scale)
        XCTAssertEqual(samples[0].reward, 0 + 0.2 * 0.6, accuracy: 1e-15)
        XCTAssertEqual(samples[1].reward, 1 + 0.2 * 0.2, accuracy: 1e-15)
        XCTAssertTrue(stage.placeTokenCredit(&samples).isEmpty)
        XCTAssertTrue(samples.allSatisfy { $0.tokenAdvantageTerms.isEmpty })
        // Without terms the packed advantages are the plain per-sample ones, bit for bit.
        let packed = PackedBatch(samples: samples, advantages: [0.3, -0.3], pad: 0)
        XCTAssertEqual(packed.advantages[1], Float(0.3)); XCTAssertEqual(packed.advantages[packed.batch.seqLen + 1], Float(-0.3))
    }

    func testCentredSequenceSignal() {
        let stage = ISPOStage(config: config { $0.algorithm.ispo.centreSequence = true; $0.algorithm.ispo.tokenReward = false })
        // I = 5 and 6 for two answered correct rollouts: μ 5.5, s = √0.5.
        var samples = [sample(group: 0, outcome: 1, tokenReward: 0, critical: [], info: 5, hasAnswer: true),
                       sample(group: 0, outcome: 1, tokenReward: 0, critical: [], info: 6, hasAnswer: true)]
        var scale = RunningScale()
        stage.apply(&samples, scale: &scale)
        let s = 0.5.squareRoot()
        XCTAssertEqual(samples[0].reward, 1 + 0.2 * tanh(-0.5 / s), accuracy: 1e-12)
        XCTAssertEqual(samples[1].reward, 1 + 0.2 * tanh(0.5 / s), accuracy: 1e-12)
    }

    func testJitterControlAddsMatchedSeededNoise() {
        let stage = ISPOStage(config: config { $0.algorithm.ispo.enable = false; $0.algorithm.ispo.jitterControl = true })
        var samples = [sample(group: 0, outcome: 0, tokenReward: 0.6, critical: [1]),
                       sample(group: 0, outcome: 0, tokenReward: 0.2, critical: [1]),
                       sample(group: 1, outcome: 1, tokenReward: 0.5, critical: [1]),
                       sample(group: 1, outcome: 1, tokenReward: 0.5, critical: [1])]
        var scale = RunningScale()
        stage.apply(&samples, scale: &scale, step: 7, seed: 3)
        // Intrinsic terms 0.12, 0.04 | 0.1, 0.1: pooled variance (2·0.04²) / 2 = 0.0016, sd 0.04.
        for (k, s) in samples.enumerated() {
            let z = RewardJitter.standardNormal(seed: 3, step: 7, index: s.groupId * 65_536 + k)
            XCTAssertEqual(s.reward, s.outcome + 0.04 * z, accuracy: 1e-12)
        }
        XCTAssertEqual(stage.metrics(samples, scale: scale)["ispo/intrinsic_var"]!, 0.0016, accuracy: 1e-12)
    }

    func testSpearmanDiagnosticRanksWrongRolloutsByCorrectSteps() throws {
        let family = try SyntheticFamilies.named("chain:3")
        var rng = Rng(seed: 2)
        let p = family.sample(&rng)
        let steps = try family.steps(of: p)
        func trace(_ good: Int) -> String {
            "T:" + (steps.prefix(good) + Array(repeating: "9=9", count: steps.count - good)).joined(separator: ";") + "\nA:0\n"
        }
        let stage = ISPOStage(config: config { $0.algorithm.ispo.enable = false; $0.algorithm.ispo.diagnostics = true })
        // All wrong; r_tok grows with the number of correct steps (0, 1, 2) → ρ = 1. A mixed group is ignored.
        let samples = [0, 1, 2].map { sample(group: 0, outcome: 0, tokenReward: 0.1 * Double($0), critical: [0],
                                             source: "chain:3", prompt: p.prompt, response: trace($0)) }
            + [sample(group: 1, outcome: 1, tokenReward: 0.9, critical: [0], source: "chain:3", prompt: p.prompt, response: trace(3)),
               sample(group: 1, outcome: 0, tokenReward: 0.0, critical: [0], source: "chain:3", prompt: p.prompt, response: trace(0))]
        let m = stage.metrics(samples, scale: RunningScale())
        XCTAssertEqual(m["ispo/spearman_groups"], 1)
        XCTAssertEqual(m["ispo/spearman_intrinsic_vs_partial"]!, 1, accuracy: 1e-12)
        XCTAssertEqual(m["ispo/spearman_tok_vs_partial"]!, 1, accuracy: 1e-12)
        XCTAssertEqual(m["ispo/wrong_partial_steps"]!, 1, accuracy: 1e-12)
    }
}
