import XCTest
@testable import Configs

/// A preset (the demo job's settings) sits under the file and the user's
/// overrides without shifting their numbers.
final class PresetTests: XCTestCase {
    /// A preset as long as the demo job's.
    private let preset = ["trainer.pipeline=demo", "trainer.total_steps=16", "trainer.test_freq=8",
                          "data.train_files=[synthetic:addition:2]", "data.train_batch_size=16",
                          "data.max_prompt_length=16", "data.max_response_length=48", "rollout.n=8"]

    func testUserOverridesAreNumberedFromOneWhateverThePreset() {
        let p = configError {
            try Config.load(yamlFile: nil, preset: preset, overrides: ["trainer.total_steps=20", "rollout.n=eight"])
        }.problems
        XCTAssertEqual(p.count, 1)
        XCTAssertEqual(p.first?.source, .override(index: 2, text: "rollout.n=eight"))
        XCTAssertTrue(p.first?.description.contains("command-line override 2 (`rollout.n=eight`)") ?? false, "\(p)")
    }

    func testAProblemInThePresetNamesThePreset() {
        let p = configError { try Config.load(yamlFile: nil, preset: ["rollout.n=4", "rollout.nn=2"]) }.problems
        XCTAssertEqual(p.count, 1)
        XCTAssertEqual(p.first?.source, .preset(index: 2, text: "rollout.nn=2"))
        XCTAssertTrue(p.first?.description.contains("built-in preset setting 2") ?? false, "\(p)")
    }

    func testPresetUnderFileUnderOverrides() throws {
        let c = try Config.load(yamlText: "rollout:\n  n: 4\ntrainer:\n  total_steps: 30\n", preset: preset,
                                overrides: ["trainer.total_steps=40"])
        XCTAssertEqual(c.rollout.n, 4, "the file beats the preset")
        XCTAssertEqual(c.trainer.totalSteps, 40, "an override beats the file and the preset")
        XCTAssertEqual(c.data.trainBatchSize, 16, "the preset beats the defaults")
    }

    func testAUserAliasReplacesThePresetsCanonicalKey() throws {
        // Before presets were separate, `num_generations=4` conflicted with the demo job's hidden `rollout.n=8`.
        let c = try Config.load(yamlFile: nil, preset: preset, overrides: ["num_generations=4"])
        XCTAssertEqual(c.rollout.n, 4)
        let p = configError { try Config.load(yamlFile: nil, overrides: ["rollout.n=8", "num_generations=4"]) }
        XCTAssertTrue(p.problems.first?.message.contains("conflicting values for `rollout.n`") ?? false,
                      "an alias and its key given by the user still conflict: \(p)")
    }
}
