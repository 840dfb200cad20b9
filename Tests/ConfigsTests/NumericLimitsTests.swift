import XCTest
@testable import Configs

/// Non-finite numbers and absurd sizes: each gives a message naming the key,
/// never a trap, an allocation failure or a loop that does not end.
final class NumericLimitsTests: XCTestCase {
    /// Lengths that fit the tiny model, so the defaults plus these validate.
    private let fits = ["data.max_prompt_length=48", "data.max_response_length=48"]

    /// The validation messages after loading `overrides` on top of `fits`.
    private func messages(_ overrides: [String]) throws -> [String] {
        try Config.load(yamlFile: nil, preset: fits, overrides: overrides).validationProblems().map(\.message)
    }

    func testTheBaseConfigIsValid() throws {
        XCTAssertEqual(try messages([]), [])
    }

    func testNonFiniteValuesOfTheIssueAreRefusedByKey() throws {
        let cases = [
            ("actor.optim.lr=.inf", "actor.optim.lr (.inf) must be a finite number"),
            ("actor.optim.weight_decay=.inf", "actor.optim.weight_decay (.inf) must be a finite number"),
            ("rollout.temperature=.inf", "rollout.temperature (.inf) must be a finite number"),
            ("rollout.temperature=1e309", "rollout.temperature (.inf) must be a finite number"),
            ("actor.entropy_coeff=.nan", "actor.entropy_coeff (.nan) must be a finite number"),
            ("reward.format_reward=-.inf", "reward.format_reward (-.inf) must be a finite number"),
            ("actor.optim.betas=[0.9, .nan]", "actor.optim.betas.1 (.nan) must be a finite number"),
            ("merge.models=[{model: a, parameters: {weight: .inf}}]",
             "merge.models.0.parameters.weight (.inf) must be a finite number"),
        ]
        for (override, expected) in cases {
            let m = try messages([override])
            XCTAssertEqual(m.count, 1, "\(override): \(m)")
            XCTAssertTrue(m.first?.hasPrefix(expected) ?? false, "\(override): \(m)")
            XCTAssertTrue(m.first?.contains("set ") ?? false, "\(override): says what to do: \(m)")
        }
    }

    /// Generic: every Double key of the schema, present and future, rejects NaN and infinity.
    func testEveryDoubleKeyRejectsNaNAndInfinity() throws {
        let props = try ConfigReferenceDoc.properties()
        var checked = 0
        for info in Config.keyReference where !info.key.contains("[]") {
            let type = ConfigReferenceDoc.property(for: info, in: props)?.type
            guard type == "Double" || type == "Double?" || type == "[Double]" else { continue }
            for (value, shown) in [(".nan", ".nan"), (".inf", ".inf"), ("-1e309", "-.inf")] {
                let override = type == "[Double]" ? "\(info.key)=[\(value), 0.5]" : "\(info.key)=\(value)"
                let key = type == "[Double]" ? info.key + ".0" : info.key
                let m = try messages([override])
                XCTAssertTrue(m.contains { $0.hasPrefix("\(key) (\(shown)) must be a finite number") }, "\(override): \(m)")
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 30, "the walk found the Double keys")
    }

    func testHugeSizesOfTheIssueGiveMessages() throws {
        let cases = [
            ("model.tiny.layers=100000000", "model.tiny.layers (100000000) must be ≤ 1024, the hard limit on transformer blocks"),
            ("model.tiny.dim=4000000", "model.tiny.dim (4000000) must be ≤ 65536, the hard limit on model width"),
            ("data.train_batch_size=1000000000", "data.train_batch_size (1000000000) must be ≤ 65536"),
            ("rollout.n=2000000000", "rollout.n (2000000000) must be ≤ 4096, the hard limit on responses per prompt"),
            ("rollout.n=9223372036854775807", "rollout.n (9223372036854775807) must be ≤ 4096"),
        ]
        for (override, expected) in cases {
            let m = try messages([override])
            XCTAssertEqual(m.count, 1, "\(override): \(m)")
            XCTAssertTrue(m.first?.hasPrefix(expected) ?? false, "\(override): \(m)")
            XCTAssertTrue(m.first?.contains("lower it") ?? false, "\(override): \(m)")
        }
    }

    func testTrainBatchWrittenAsAFloatIsATypeError() {
        let p = configError { try Config.load(yamlFile: nil, overrides: ["data.train_batch_size=1e9"]) }.problems
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p.first?.message.contains("`data.train_batch_size`: expected an integer, found '1e9'") ?? false, "\(p)")
        XCTAssertEqual(p.first?.source, .override(index: 1, text: "data.train_batch_size=1e9"))
    }

    func testLargestIntegerInYAMLGivesAMessage() throws {
        let c = try Config.load(yamlText: "rollout:\n  n: 9223372036854775807\n", preset: fits)
        let m = c.validationProblems().map(\.message)
        XCTAssertEqual(m.count, 1, "\(m)")
        XCTAssertTrue(m.first?.hasPrefix("rollout.n (9223372036854775807) must be ≤ 4096") ?? false, "\(m)")
        XCTAssertThrowsError(try c.validate(memoryBytes: 1 << 40))
    }

    func testMostNegativeLengthsDoNotOverflow() throws {
        let m = try messages(["data.max_prompt_length=-9223372036854775808", "data.max_response_length=-9223372036854775808"])
        XCTAssertEqual(m, ["data.max_prompt_length (-9223372036854775808) must be ≥ 1",
                           "data.max_response_length (-9223372036854775808) must be ≥ 1"])
    }

    func testEveryLimitAcceptsItsMaximumAndRefusesOneMore() throws {
        for limit in ConfigBounds.sizeLimits {
            let over = try Config.load(yamlFile: nil, preset: fits, overrides: ["\(limit.key)=\(limit.max + 1)"])
            let m = over.validationProblems().map(\.message)
            XCTAssertTrue(m.contains { $0.hasPrefix("\(limit.key) (\(limit.max + 1)) must be ≤ \(limit.max)") },
                          "\(limit.key): \(m)")
            let at = try Config.load(yamlFile: nil, preset: fits, overrides: ["\(limit.key)=\(limit.max)"])
            XCTAssertFalse(at.validationProblems().contains { $0.message.contains("must be ≤") }, limit.key)
        }
    }

    /// A new integer key must be given a bound or said to need none.
    func testEveryIntegerKeyIsBoundedOrExplicitlyUnbounded() throws {
        let props = try ConfigReferenceDoc.properties()
        let bounded = Set(ConfigBounds.sizeLimits.map(\.key))
        let keys = Set(Config.keyReference.map(\.key))
        for info in Config.keyReference {
            let type = ConfigReferenceDoc.property(for: info, in: props)?.type
            guard type == "Int" || type == "Int?" else { continue }
            XCTAssertTrue(bounded.contains(info.key) || ConfigBounds.unboundedIntegers[info.key] != nil,
                          "\(info.key): add it to ConfigBounds.sizeLimits or ConfigBounds.unboundedIntegers")
        }
        for key in bounded.union(ConfigBounds.unboundedIntegers.keys) {
            XCTAssertTrue(keys.contains(key), "\(key) in ConfigBounds is not a key")
        }
        XCTAssertEqual(bounded.count, ConfigBounds.sizeLimits.count, "a key is listed twice")
    }

    func testNegativeSeedIsRefused() throws {
        XCTAssertEqual(try messages(["seed=-1"]),
                       ["trainer.seed (-1) must be ≥ 0 (every random stream derives from it as an unsigned number)"])
    }
}
