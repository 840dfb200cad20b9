import Configs
import Objectives
@testable import Roles
import Transformer
import XCTest

/// `distillation.trigger=random`, the control of #18: strays from a coin per
/// student token, same backtrack and intervention, tokens unchanged before the first one.
final class RandomTriggerTests: XCTestCase {
    static let prompts: [[Int32]] = [[2, 3, 5], [7, 11], [13, 17, 19, 23]]
    static let seeds: [UInt64] = [21, 22, 23]
    static let options = SamplingOptions(temperature: 1, maxNewTokens: 30)

    func settings(rate: Double, maxInterventions: Int = 4) -> MotabSettings {
        var s = MotabSettings(monitor: EntropyMonitorSettings(window: 1, emaDecay: 0.9, k: 2, consecutive: 2, warmupTokens: 4),
                              maxInterventions: maxInterventions, teacherMaxTokens: 8, boundaryTokens: MotabRolloutTests.boundary,
                              trigger: .random)
        s.randomRate = rate
        return s
    }

    func generate(rate: Double, maxInterventions: Int = 4) throws -> [MotabCompletion] {
        try MotabRollout(model: try MotabRolloutTests.student(), teacher: ScriptedTeacher(script: [4, 6, 8]),
                         settings: settings(rate: rate, maxInterventions: maxInterventions))
            .generate(prompts: Self.prompts, options: Self.options, seeds: Self.seeds)
    }

    func testRateZeroIsPlainSamplingAndRateOneFiresAtTheFirstToken() throws {
        let plain = try MotabRolloutTests.student().generate(prompts: Self.prompts, options: Self.options, seeds: Self.seeds)
        let none = try generate(rate: 0)
        XCTAssertEqual(none.map(\.tokens), plain.map(\.tokens))
        XCTAssertTrue(none.allSatisfy { $0.interventions.isEmpty })
        let always = try generate(rate: 1, maxInterventions: 1)
        for c in always {
            XCTAssertEqual(c.interventions.count, 1)
            XCTAssertEqual(c.interventions[0].trigger, .random)
            XCTAssertEqual(c.interventions[0].position, 0)
            XCTAssertEqual(c.interventions[0].firstViolation, 0)
            XCTAssertEqual(c.interventions[0].discarded.count, 1)
        }
    }

    func testInterventionRateFollowsTheRateAndTokensMatchUntilTheFirstStray() throws {
        let plain = try MotabRolloutTests.student().generate(prompts: Self.prompts, options: Self.options, seeds: Self.seeds)
        let low = try generate(rate: 0.02), high = try generate(rate: 0.3)
        let count = { (cs: [MotabCompletion]) in cs.map(\.interventions.count).reduce(0, +) }
        XCTAssertLessThan(count(low), count(high))
        for (c, p) in zip(high, plain) {
            guard let first = c.interventions.first else { continue }
            // Before the backtrack point the student's tokens are the unmonitored rollout's.
            XCTAssertEqual(Array(c.tokens.prefix(first.position)), Array(p.tokens.prefix(first.position)))
        }
    }
}
