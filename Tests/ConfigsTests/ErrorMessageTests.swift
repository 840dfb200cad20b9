import XCTest
@testable import Configs

/// Unknown keys, type errors, alias conflicts and malformed YAML: each message
/// names the full key, where it was written and what to do.
final class ErrorMessageTests: XCTestCase {
    private func problems(_ yaml: String?, _ overrides: [String] = [], name: String = "run.yaml") -> [ConfigProblem] {
        configError {
            if let yaml { return try Config.load(yamlText: yaml, sourceName: name, overrides: overrides) }
            return try Config.load(yamlFile: nil, overrides: overrides)
        }.problems
    }

    func testUnknownKeySuggestsTheNearestKeyOfTheSameSection() {
        let p = problems("rollout:\n  n: 4\n  temprature: 0.7\n")
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p[0].message.contains("unknown key `rollout.temprature`"), p[0].message)
        XCTAssertTrue(p[0].message.contains("did you mean `rollout.temperature`?"), p[0].message)
        XCTAssertTrue(p[0].message.contains("valid keys in rollout: n, temperature"), p[0].message)
        XCTAssertEqual(p[0].source, .file(name: "run.yaml", line: 3, column: 3))
        XCTAssertTrue(p[0].description.contains("run.yaml:3:3"), p[0].description)
    }

    func testUnknownKeySuggestsTheSectionWhereTheKeyLives() {
        let p = problems("rollout:\n  clip_ratio_low: 0.2\n")
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p[0].message.contains("unknown key `rollout.clip_ratio_low`"), p[0].message)
        XCTAssertTrue(p[0].message.contains("did you mean `actor.clip_ratio_low`?"), p[0].message)
        XCTAssertEqual(p[0].source, .file(name: "run.yaml", line: 2, column: 3))
    }

    func testUnknownKeyInAnOverrideNamesTheOverride() {
        let p = problems(nil, ["rollout.n=4", "actor.optim.lrr=1e-6"])
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p[0].message.contains("unknown key `actor.optim.lrr`"), p[0].message)
        XCTAssertTrue(p[0].message.contains("did you mean `actor.optim.lr`?"), p[0].message)
        XCTAssertEqual(p[0].source, .override(index: 2, text: "actor.optim.lrr=1e-6"))
        XCTAssertTrue(p[0].description.contains("command-line override 2"), p[0].description)
    }

    func testUnknownSectionAndTopLevelKeyFromAnotherSection() {
        let p = problems("rolout:\n  n: 4\nclip_ratio_high: 0.3\n")
        XCTAssertEqual(p.count, 2)
        XCTAssertTrue(p[0].message.contains("unknown key `rolout`; did you mean `rollout`?"), p[0].message)
        XCTAssertTrue(p[0].message.contains("valid sections: data, model, rollout, actor"), p[0].message)
        XCTAssertTrue(p[1].message.contains("did you mean `actor.clip_ratio_high`?"), p[1].message)
    }

    func testUnknownKeyUnderAnAliasedSectionNamesWhatWasWritten() {
        let p = problems("learner:\n  clip_ratio_lo: 0.1\n")
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p[0].message.contains("learner.clip_ratio_lo (= actor.clip_ratio_lo)"), p[0].message)
        XCTAssertTrue(p[0].message.contains("did you mean `actor.clip_ratio_low`?"), p[0].message)
    }

    func testAllProblemsAreReportedTogether() {
        let p = problems("rollout:\n  nn: 4\nactor:\n  ppo_epochs: two\n  clip_ratio_low: [1]\n",
                         ["data.shuffle=maybe"])
        XCTAssertEqual(p.count, 4, p.map(\.message).joined(separator: "\n"))
        let text = ConfigError(p).description
        XCTAssertTrue(text.hasPrefix("invalid config (4 problems):\n  - "), text)
    }

    func testTypeErrorsNameExpectedFoundAndLocation() {
        let p = problems("actor:\n  ppo_epochs: two\n  optim:\n    lr: fast\n")
        XCTAssertEqual(p.count, 2)
        XCTAssertTrue(p[0].message.contains("`actor.ppo_epochs`: expected an integer, found 'two'"), p[0].message)
        XCTAssertEqual(p[0].source, .file(name: "run.yaml", line: 2, column: 15))
        XCTAssertTrue(p[1].message.contains("`actor.optim.lr`: expected a number, found 'fast'"), p[1].message)
        XCTAssertEqual(p[1].source, .file(name: "run.yaml", line: 4, column: 9))
    }

    func testTypeErrorInAnOverride() {
        let p = problems(nil, ["rollout.n=eight"])
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p[0].message.contains("`rollout.n`: expected an integer, found 'eight'"), p[0].message)
        XCTAssertEqual(p[0].source, .override(index: 1, text: "rollout.n=eight"))
    }

    func testShapeErrors() {
        let p = problems("actor: 5\ndata:\n  train_files: {a: 1}\n  seed: [1, 2]\n")
        XCTAssertEqual(p.count, 3, p.map(\.message).joined(separator: "\n"))
        XCTAssertTrue(p[0].message.contains("`actor`: expected a section (mapping) with keys ppo_mini_batch_size"),
                      p[0].message)
        XCTAssertTrue(p[1].message.contains("`data.train_files`: expected a list"), p[1].message)
        XCTAssertTrue(p[2].message.contains("`data.seed`: expected a single value"), p[2].message)
    }

    func testBadChoiceListsTheAllowedValuesAndTheNearest() {
        let p = problems("actor:\n  loss_agg_mode: token_mean\ncheckpoint:\n  dtype: fp16\n")
        XCTAssertEqual(p.count, 2)
        XCTAssertTrue(p[0].message.contains("`actor.loss_agg_mode`: expected one of token-mean, seq-mean-token-mean, "
                                            + "seq-mean-token-sum-norm, found 'token_mean'; did you mean token-mean?"),
                      p[0].message)
        XCTAssertEqual(p[0].source, .file(name: "run.yaml", line: 2, column: 18))
        XCTAssertTrue(p[1].message.contains("`checkpoint.dtype`: expected one of fp32, bf16, found 'fp16'"), p[1].message)
    }

    func testConflictingAliasAndCanonicalNameBoth() {
        let p = problems("actor:\n  clip_ratio_low: 0.2\n  epsilon: 0.3\n")
        XCTAssertEqual(p.count, 1)
        let m = p[0].message
        XCTAssertTrue(m.contains("conflicting values for `actor.clip_ratio_low`"), m)
        XCTAssertTrue(m.contains("`actor.clip_ratio_low` = '0.2' [run.yaml:2:19]"), m)
        XCTAssertTrue(m.contains("`actor.epsilon` = '0.3' [run.yaml:3:12]"), m)
        XCTAssertTrue(m.contains("give only one of them"), m)
    }

    func testConflictingAliasesAcrossSectionsAndOnTheCommandLine() {
        let file = problems("seed: 5\ntrainer:\n  seed: 6\nlearner: {ppo_epochs: 2}\nactor: {ppo_epochs: 3}\n")
        XCTAssertEqual(file.count, 2)
        XCTAssertTrue(file.contains { $0.message.contains("`seed` = '5'") && $0.message.contains("`trainer.seed` = '6'") })
        XCTAssertTrue(file.contains { $0.message.contains("`learner.ppo_epochs` = '2'")
                        && $0.message.contains("`actor.ppo_epochs` = '3'") })
        let cli = problems(nil, ["num_generations=4", "rollout.n=8"])
        XCTAssertEqual(cli.count, 1)
        XCTAssertTrue(cli[0].message.contains("`num_generations` = '4' [command-line override 1"), cli[0].message)
        XCTAssertTrue(cli[0].message.contains("`rollout.n` = '8' [command-line override 2"), cli[0].message)
    }

    func testMalformedYAMLNamesFileAndLine() throws {
        let path = try temporaryYAML("rollout:\n  n: 4\n  temperature: [0.7\nactor:\n  ppo_epochs: 1\n", name: "bad.yaml")
        let e = configError { try Config.load(yamlFile: path) }
        XCTAssertEqual(e.problems.count, 1)
        let p = e.problems[0]
        XCTAssertTrue(p.message.hasPrefix("malformed YAML:"), p.message)
        guard case let .file(name, line, _)? = p.source else { return XCTFail("no location: \(p)") }
        XCTAssertEqual(name, path)
        XCTAssertTrue((3...5).contains(line), "line \(line)")
        XCTAssertTrue(e.description.contains("bad.yaml:\(line):"), e.description)
    }

    func testTabIndentationIsMalformed() {
        let p = problems("rollout:\n\tn: 4\n")
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p[0].message.hasPrefix("malformed YAML:"), p[0].message)
        XCTAssertEqual(p[0].source.map { if case let .file(_, line, _) = $0 { return line } else { return 0 } }, 2)
    }

    func testDuplicateKeysAreReported() {
        let p = problems("rollout:\n  n: 4\n  n: 5\n")
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p[0].message.contains("duplicate key `n` (first at run.yaml:2:3)"), p[0].message)
        XCTAssertEqual(p[0].source, .file(name: "run.yaml", line: 3, column: 3))
    }

    func testMalformedOverrides() {
        let p = problems(nil, ["rollout.n", "=4", "actor..lr=1", "rollout.n=[1,"])
        XCTAssertEqual(p.count, 4, p.map(\.description).joined(separator: "\n"))
        XCTAssertTrue(p[0].message.contains("expected `section.key=value`"), p[0].message)
        XCTAssertTrue(p[1].message.contains("expected a dotted key"), p[1].message)
        XCTAssertTrue(p[2].message.contains("expected a dotted key"), p[2].message)
        XCTAssertTrue(p[3].message.contains("is not valid YAML"), p[3].message)
        XCTAssertEqual(p[3].source, .override(index: 4, text: "rollout.n=[1,"))
    }

    func testMissingFile() {
        let e = configError { try Config.load(yamlFile: "/nonexistent/x.yaml") }
        XCTAssertTrue(e.description.contains("cannot read config file `/nonexistent/x.yaml`"), e.description)
    }

    func testTopLevelMustBeAMapping() {
        let p = problems("- a\n- b\n")
        XCTAssertTrue(p[0].message.contains("expected a mapping of sections"), p[0].message)
    }

    func testSpellingDistance() {
        XCTAssertEqual(Spelling.distance("temprature", "temperature"), 1)
        XCTAssertEqual(Spelling.distance("", "abc"), 3)
        XCTAssertEqual(Spelling.nearest("lrr", in: ["lr", "eps"]), "lr")
        XCTAssertNil(Spelling.nearest("completely_different", in: ["lr", "eps"]))
    }
}
