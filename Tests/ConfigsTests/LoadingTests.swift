import Foundation
import XCTest
@testable import Configs

/// The error `body` throws, as a `ConfigError` (fails the test otherwise).
func configError(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Any) -> ConfigError {
    do {
        _ = try body()
        XCTFail("expected a ConfigError, got success", file: file, line: line)
    } catch let error as ConfigError {
        return error
    } catch {
        XCTFail("expected a ConfigError, got \(error)", file: file, line: line)
    }
    return ConfigError([])
}

/// Writes `text` to a fresh temporary file and returns its path.
func temporaryYAML(_ text: String, name: String = "config.yaml") throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("configs-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
}

final class LoadingTests: XCTestCase {
    func testDefaultsLoadWithoutFile() throws {
        let c = try Config.load(yamlFile: nil, overrides: [])
        XCTAssertEqual(c, Config.defaults)
        XCTAssertEqual(c.rollout.n, 8)
        XCTAssertEqual(c.actor.clipRatioLow, 0.2)
        XCTAssertEqual(c.actor.clipRatioHigh, 0.28)
        XCTAssertEqual(c.actor.clipRatioC, 3.0)
        XCTAssertEqual(c.actor.lossAggMode, .tokenMean)
        XCTAssertEqual(c.actor.klLossType, .lowVarKL)
        XCTAssertEqual(c.actor.optim.betas, [0.9, 0.999])
        XCTAssertEqual(c.actor.optim.lr, 1e-5)
        XCTAssertEqual(c.algorithm.ispo.kappa, 0.7)
        XCTAssertEqual(c.algorithm.ispo.setMode, .intersection)
        XCTAssertEqual(c.distillation.window, 16)
        XCTAssertEqual(c.merge.rounds, 3)
        XCTAssertEqual(c.checkpoint.resumeMode, "auto")
        XCTAssertEqual(c.trainer.seed, 1)
        XCTAssertEqual(c.seed, 1)
        XCTAssertNil(c.data.valBatchSize)
        XCTAssertNil(c.trainer.totalSteps)
        XCTAssertEqual(c.trainer.runDirectory, "runs/default")
        XCTAssertEqual(c.model.tiny.maxSeqLen, 96)
    }

    func testEmptyDocumentAndEmptySectionsAreDefaults() throws {
        XCTAssertEqual(try Config.load(yamlText: ""), Config.defaults)
        XCTAssertEqual(try Config.load(yamlText: "# only a comment\n"), Config.defaults)
        XCTAssertEqual(try Config.load(yamlText: "actor:\nrollout:\n"), Config.defaults)
    }

    func testFileThenOverrides() throws {
        let path = try temporaryYAML("""
            data:
              train_files: [synthetic:addition:3]
              train_batch_size: 4
            rollout:
              n: 4
              temperature: 0.8
            actor:
              optim:
                lr: 3e-6
            trainer:
              experiment_name: add3
            """)
        let c = try Config.load(yamlFile: path, overrides: [
            "rollout.n=16", "actor.optim.betas=[0.9,0.95]", "trainer.total_steps=200", "data.val_files=b.jsonl",
            "merge.base_model=null", "checkpoint.best_metric=\"val-core/addition/acc/mean@1\"",
        ])
        XCTAssertEqual(c.data.trainFiles, ["synthetic:addition:3"])
        XCTAssertEqual(c.data.trainBatchSize, 4)
        XCTAssertEqual(c.rollout.n, 16, "an override beats the file")
        XCTAssertEqual(c.rollout.temperature, 0.8)
        XCTAssertEqual(c.actor.optim.lr, 3e-6)
        XCTAssertEqual(c.actor.optim.betas, [0.9, 0.95])
        XCTAssertEqual(c.actor.optim.weightDecay, 0.01, "untouched keys keep their defaults")
        XCTAssertEqual(c.trainer.totalSteps, 200)
        XCTAssertEqual(c.data.valFiles, ["b.jsonl"], "a single value for a list is a one-element list")
        XCTAssertNil(c.merge.baseModel)
        XCTAssertEqual(c.checkpoint.bestMetric, "val-core/addition/acc/mean@1")
        XCTAssertEqual(c.trainer.runDirectory, "runs/add3")
    }

    func testLaterOverrideOfTheSameKeyWins() throws {
        let c = try Config.load(yamlFile: nil, overrides: ["rollout.n=4", "rollout.n=6", "+trainer.seed=7"])
        XCTAssertEqual(c.rollout.n, 6)
        XCTAssertEqual(c.seed, 7, "hydra's + prefix is accepted")
    }

    func testOverrideCanSetAWholeSectionAndPatchListElements() throws {
        let yaml = """
            merge:
              models:
                - model: a
                  parameters: {weight: 1.0}
                - model: b
            """
        let c = try Config.load(yamlText: yaml, overrides: [
            "merge.models.1.parameters.weight=0.5", "distillation={mode: sft, alpha: 0.5}",
        ])
        XCTAssertEqual(c.merge.models.map(\.model), ["a", "b"])
        XCTAssertEqual(c.merge.models[1].parameters.weight, 0.5)
        XCTAssertEqual(c.merge.models[0].parameters.weight, 1.0)
        XCTAssertEqual(c.distillation.mode, .sft)
        XCTAssertEqual(c.distillation.alpha, 0.5)
        XCTAssertEqual(c.distillation.window, 16)
    }

    func testAliases() throws {
        let yaml = """
            seed: 42
            num_generations: 12
            epsilon_high: 0.3
            learner:
              epsilon: 0.1
              ppo_micro_batch_size: 2
              beta: 0.04
              use_kl_loss: true
              optim: {warmup_style: cosine}
            logger:
              project_name: p
              total_training_steps: 50
            reward_model:
              overlong_buffer: {enable: true, len: 32}
            """
        let c = try Config.load(yamlText: yaml)
        XCTAssertEqual(c.trainer.seed, 42)
        XCTAssertEqual(c.rollout.n, 12)
        XCTAssertEqual(c.actor.clipRatioLow, 0.1)
        XCTAssertEqual(c.actor.clipRatioHigh, 0.3)
        XCTAssertEqual(c.actor.ppoMicroBatchSizePerGPU, 2)
        XCTAssertEqual(c.actor.klLossCoef, 0.04)
        XCTAssertEqual(c.actor.optim.lrSchedulerType, .cosine)
        XCTAssertEqual(c.trainer.projectName, "p")
        XCTAssertEqual(c.trainer.totalSteps, 50)
        XCTAssertTrue(c.reward.overlongBuffer.enable)
        XCTAssertEqual(c.reward.overlongBuffer.len, 32)
        XCTAssertEqual(c.learner, c.actor)
    }

    func testAliasesOnTheCommandLineAndVerlNesting() throws {
        let c = try Config.load(yamlFile: nil, overrides: [
            "actor_rollout_ref.rollout.n=5", "actor_rollout_ref.actor.clip_ratio_high=0.25", "epsilon=0.15",
            "trainer.save_freq=10", "grpo.num_prompts_per_step=16", "loss_fn.ratio_clip_c=4",
        ])
        XCTAssertEqual(c.rollout.n, 5)
        XCTAssertEqual(c.actor.clipRatioHigh, 0.25)
        XCTAssertEqual(c.actor.clipRatioLow, 0.15)
        XCTAssertEqual(c.checkpoint.saveFreq, 10)
        XCTAssertEqual(c.data.trainBatchSize, 16)
        XCTAssertEqual(c.actor.clipRatioC, 4)
    }

    func testAliasAndCanonicalWithTheSameValueAreFine() throws {
        let c = try Config.load(yamlText: "seed: 3\ntrainer: {seed: 3}\nactor: {epsilon: 0.2, clip_ratio_low: 0.20}")
        XCTAssertEqual(c.seed, 3)
        XCTAssertEqual(c.actor.clipRatioLow, 0.2)
    }

    func testCommandLineAliasBeatsFileCanonical() throws {
        let c = try Config.load(yamlText: "actor:\n  clip_ratio_low: 0.2\n", overrides: ["actor.epsilon=0.3"])
        XCTAssertEqual(c.actor.clipRatioLow, 0.3)
    }

    func testChoiceSpellings() throws {
        let c = try Config.load(yamlFile: nil, overrides: [
            "actor.kl_loss_type=k1", "actor.loss_agg_mode=seq-mean-token-sum-norm", "merge.merge_method=dare_ties",
            "algorithm.ispo.set_mode=union", "algorithm.ispo.drift=kl", "distillation.mode=on_policy",
            "checkpoint.dtype=bf16", "checkpoint.nan_policy=stop", "trainer.pipeline=demo",
        ])
        XCTAssertEqual(c.actor.klLossType, .kl)
        XCTAssertEqual(c.actor.lossAggMode, .seqMeanTokenSumNorm)
        XCTAssertEqual(c.merge.mergeMethod, .dareTies)
        XCTAssertEqual(c.algorithm.ispo.setMode, .union)
        XCTAssertEqual(c.algorithm.ispo.drift, .kl)
        XCTAssertEqual(c.distillation.mode, .onPolicy)
        XCTAssertEqual(c.checkpoint.dtype, .bf16)
        XCTAssertEqual(c.checkpoint.nanPolicy, .stop)
        XCTAssertEqual(c.trainer.pipeline, .demo)
        XCTAssertEqual(try Config.load(yamlFile: nil, overrides: ["actor.kl_loss_type=k3"]).actor.klLossType, .lowVarKL)
        XCTAssertEqual(try Config.load(yamlFile: nil, overrides: ["actor.kl_loss_type=mse"]).actor.klLossType, .mse)
    }

    func testBooleanAndNumberSpellings() throws {
        let c = try Config.load(yamlText: "data: {shuffle: no}\nactor: {use_kl_loss: True, kl_loss_coef: 1e-3}\n"
                                    + "model: {tiny: {rope_theta: 500000}}\ntrainer: {total_steps: 1_000}")
        XCTAssertFalse(c.data.shuffle)
        XCTAssertTrue(c.actor.useKLLoss)
        XCTAssertEqual(c.actor.klLossCoef, 0.001)
        XCTAssertEqual(c.model.tiny.ropeTheta, 500_000)
        XCTAssertEqual(c.trainer.totalSteps, 1000)
    }

    func testMergekitTiesExampleParses() throws {
        let yaml = """
            merge:
              models:
                - model: teacher-a
                  parameters:
                    density: 0.5
                    weight: 0.5
                - model: teacher-b
                  parameters:
                    density: 0.7
                    weight: 0.3
                - model: teacher-c
              merge_method: ties
              base_model: student
              parameters:
                normalize: true
                int8_mask: true
              dtype: bfloat16
              rounds: 2
            """
        let c = try Config.load(yamlText: yaml, sourceName: "ties.yaml")
        XCTAssertEqual(c.merge.mergeMethod, .ties)
        XCTAssertEqual(c.merge.baseModel, "student")
        XCTAssertEqual(c.merge.models, [MergeModel(model: "teacher-a", weight: 0.5, density: 0.5),
                                        MergeModel(model: "teacher-b", weight: 0.3, density: 0.7),
                                        MergeModel(model: "teacher-c")])
        XCTAssertEqual(c.merge.parameters.normalize, true)
        XCTAssertEqual(c.merge.parameters.int8Mask, true)
        XCTAssertNil(c.merge.parameters.weight)
        XCTAssertEqual(c.merge.dtype, "bfloat16")
        XCTAssertEqual(c.merge.rounds, 2)
        XCTAssertFalse(c.validationProblems(learners: 1).contains { $0.message.contains("merge") },
                       "a valid merge section adds no validation problems")
    }
}
