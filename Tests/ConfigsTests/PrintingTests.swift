import XCTest
@testable import Configs

/// The resolved YAML and JSON print every key and load back to the same config.
final class PrintingTests: XCTestCase {
    /// A config with every kind of value changed from its default.
    private func unusual() throws -> Config {
        var c = Config.defaults
        c.data.trainFiles = ["synthetic:chain:5", "data/gsm8k \"train\".jsonl"]
        c.data.valBatchSize = 64
        c.data.seed = 9
        c.model.path = "models/a: b.gguf"
        c.model.tiny.vocabSize = 40
        c.rollout.maxNewTokens = 200
        c.actor.optim.betas = [0.9, 0.95]
        c.actor.optim.lr = 3.3e-7
        c.actor.klLossType = .mse
        c.actor.lossAggMode = .seqMeanTokenSumNorm
        c.algorithm.ispo.enable = true
        c.algorithm.ispo.drift = .kl
        c.merge.models = [MergeModel(model: "a", weight: 0.7, density: 0.5), MergeModel(model: "b")]
        c.merge.models[1].parameters.normalize = false
        c.merge.baseModel = "base"
        c.merge.mergeMethod = .dareTies
        c.checkpoint.bestMetric = "val-core/chain/acc/mean@4"
        c.trainer.experimentName = "tab\there, newline\nthere, unicode λ"
        c.trainer.totalSteps = 12
        c.trainer.pipeline = .sft
        c.seed = 1234
        c.cluster.layout = "rl-8"
        return c
    }

    func testResolvedYAMLRoundTripsDefaults() throws {
        let c = Config.defaults
        XCTAssertEqual(try Config.load(yamlText: c.resolvedYAML()), c)
    }

    func testResolvedYAMLRoundTripsEveryKindOfValue() throws {
        let c = try unusual()
        let yaml = c.resolvedYAML()
        XCTAssertEqual(try Config.load(yamlText: yaml, sourceName: "resolved.yaml"), c, yaml)
        let path = try temporaryYAML(yaml)
        XCTAssertEqual(try Config.load(yamlFile: path), c)
    }

    func testResolvedYAMLListsEveryKeyInSectionOrder() throws {
        let yaml = try unusual().resolvedYAML()
        for info in Config.keyReference where !info.key.contains("[]") {
            let leaf = info.key.split(separator: ".").last.map(String.init) ?? ""
            XCTAssertTrue(yaml.contains("\(leaf):"), "missing \(info.key)")
        }
        let sections = yaml.split(separator: "\n").filter { !$0.hasPrefix(" ") && !$0.hasPrefix("#") && !$0.isEmpty }
        XCTAssertEqual(sections, ["data:", "model:", "rollout:", "actor:", "algorithm:", "reward:", "distillation:",
                                  "merge:", "checkpoint:", "trainer:", "sft:", "t3s:", "priority:", "p2d:", "flag:",
                                  "cluster:"])
        XCTAssertTrue(yaml.contains("""
              models:
                - model: "a"
                  parameters:
                    weight: 0.7
            """), yaml)
    }

    func testJSONIsValidAndRoundTrips() throws {
        let c = try unusual()
        for pretty in [false, true] {
            let text = c.json(pretty: pretty)
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            let rollout = object?["rollout"] as? [String: Any]
            XCTAssertEqual(rollout?["n"] as? Int, 8)
            XCTAssertEqual(try Config.load(yamlText: text, sourceName: "config.json"), c)
        }
        XCTAssertFalse(c.json().contains("\n"))
        XCTAssertTrue(c.json().hasPrefix("{\"data\":{\"train_files\":[\"synthetic:chain:5\""), c.json())
    }

    func testKeyReferenceCoversEveryLeafWithDefaultsAndAliases() {
        let keys = Dictionary(uniqueKeysWithValues: Config.keyReference.map { ($0.key, $0) })
        XCTAssertEqual(keys["rollout.n"]?.defaultValue, "8")
        XCTAssertEqual(keys["rollout.n"]?.aliases, ["num_generations", "rollout.num_generations",
                                                    "grpo.num_generations_per_prompt"])
        XCTAssertEqual(keys["actor.clip_ratio_low"]?.declaringType, "ActorConfig")
        XCTAssertEqual(keys["actor.optim.betas"]?.defaultValue, "[0.9, 0.999]")
        XCTAssertEqual(keys["checkpoint.resume_mode"]?.defaultValue, "\"auto\"")
        XCTAssertEqual(keys["merge.models[].parameters.density"]?.defaultValue, "null")
        XCTAssertEqual(keys["trainer.seed"]?.aliases, ["seed"])
        // Every alias points at a real key or section.
        let sections = Set(ConfigSchema.allPaths.map { $0.joined(separator: ".") })
        for (alias, canonical) in Config.aliasTable {
            XCTAssertTrue(sections.contains(canonical), "\(alias) → \(canonical) is not a key")
            XCTAssertFalse(sections.contains(alias), "alias \(alias) shadows a key")
        }
    }

    func testSnakeCaseNaming() {
        XCTAssertEqual(KeyNaming.snakeCase("clipRatioLow"), "clip_ratio_low")
        XCTAssertEqual(KeyNaming.snakeCase("useKLLoss"), "use_kl_loss")
        XCTAssertEqual(KeyNaming.snakeCase("normAdvByStdInGRPO"), "norm_adv_by_std_in_grpo")
        XCTAssertEqual(KeyNaming.snakeCase("ppoMicroBatchSizePerGPU"), "ppo_micro_batch_size_per_gpu")
        XCTAssertEqual(KeyNaming.snakeCase("clipRatioC"), "clip_ratio_c")
        XCTAssertEqual(KeyNaming.snakeCase("n"), "n")
    }
}
