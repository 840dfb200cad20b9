import XCTest
@testable import Configs

/// The `sft` section: the warm start's settings, formerly `ispo-cluster run` flags only.
final class SFTSectionTests: XCTestCase {
    /// Lengths that fit the tiny model, so only the `sft` keys can be wrong.
    private let preset = ["data.max_prompt_length=16", "data.max_response_length=48"]

    func testSFTDefaultsAreTheOldFlagDefaults() throws {
        let c = try Config.load(yamlFile: nil)
        XCTAssertEqual(c.sft.steps, 180)
        XCTAssertEqual(c.sft.batchSize, 32)
        XCTAssertEqual(c.sft.lr, 3e-3)
        XCTAssertTrue(c.resolvedYAML().contains("sft:\n  steps: 180\n  batch_size: 32\n  lr: 0.003\n"), c.resolvedYAML())
    }

    func testSFTKeysLoadAndALaterOverrideWins() throws {
        let c = try Config.load(yamlText: "sft:\n  steps: 10\n  batch_size: 8\n  lr: 1e-3\n",
                                overrides: ["sft.steps=0", "sft.steps=20"])
        XCTAssertEqual(c.sft.steps, 20)
        XCTAssertEqual(c.sft.batchSize, 8)
        XCTAssertEqual(c.sft.lr, 1e-3)
    }

    func testSFTValidation() throws {
        func messages(_ overrides: [String]) throws -> [String] {
            try Config.load(yamlFile: nil, overrides: preset + overrides).validationProblems().map(\.message)
        }
        XCTAssertEqual(try messages(["sft.steps=0"]), [])
        XCTAssertEqual(try messages(["sft.steps=-1"]), ["sft.steps (-1) must be ≥ 0 (0 = no warm start)"])
        XCTAssertEqual(try messages(["sft.batch_size=0"]), ["sft.batch_size (0) must be ≥ 1"])
        XCTAssertEqual(try messages(["sft.lr=0"]), ["sft.lr (0.0) must be > 0"])
        XCTAssertEqual(try messages(["sft.lr=-1e-3"]), ["sft.lr (-0.001) must be > 0"])
        XCTAssertTrue(try messages(["sft.lr=.inf"]).first?.hasPrefix("sft.lr (.inf) must be a finite number") ?? false)
        XCTAssertTrue(try messages(["sft.lr=.nan"]).first?.hasPrefix("sft.lr (.nan) must be a finite number") ?? false)
    }
}
