import XCTest
@testable import Configs

/// Every validation rule, each with a message test naming its terms.
final class ValidationTests: XCTestCase {
    /// A config that passes validation: the defaults with lengths that fit the tiny model.
    private var valid: Config {
        var c = Config.defaults
        c.data.maxPromptLength = 48
        c.data.maxResponseLength = 48
        return c
    }

    /// The validation messages of `c` (for `learners`).
    private func messages(_ c: Config, learners: Int? = nil) -> [String] {
        c.validationProblems(learners: learners).map(\.message)
    }

    /// Asserts exactly one problem, containing every fragment.
    private func assertOne(_ c: Config, learners: Int? = nil, _ fragments: String...,
                           file: StaticString = #filePath, line: UInt = #line) {
        let m = messages(c, learners: learners)
        XCTAssertEqual(m.count, 1, m.joined(separator: "\n"), file: file, line: line)
        for f in fragments {
            XCTAssertTrue(m.first?.contains(f) ?? false, "missing «\(f)» in \(m)", file: file, line: line)
        }
    }

    func testAdvStdFloorDefaultsToZeroAndMustBeNonNegative() {
        XCTAssertEqual(Config.defaults.algorithm.advStdFloor, 0)
        var c = valid
        c.algorithm.advStdFloor = -0.1
        assertOne(c, "algorithm.adv_std_floor (-0.1) must be a finite std ≥ 0")
        c.algorithm.advStdFloor = 0.1
        XCTAssertEqual(messages(c), [])
    }

    func testTimeoutsAndGraceAreCheckedByKey() {
        var c = valid
        c.trainer.stepTimeoutS = -1
        assertOne(c, "trainer.step_timeout_s (-1.0) must be ≥ 0")
        c = valid
        c.trainer.firstStepTimeoutS = -5
        assertOne(c, "trainer.first_step_timeout_s (-5.0) must be ≥ 0")
        c = valid
        c.trainer.signalGraceS = 0
        assertOne(c, "trainer.signal_grace_s (0.0) must be > 0")
        c = valid
        c.checkpoint.writeTimeoutS = -1
        assertOne(c, "checkpoint.write_timeout_s (-1.0) must be ≥ 0")
        c = valid
        XCTAssertEqual(c.trainer.firstStepBudgetS, 3 * 1800, "null = 3 × step_timeout_s")
        c.trainer.firstStepTimeoutS = 60
        XCTAssertEqual(c.trainer.firstStepBudgetS, 60)
    }

    func testValidConfigPasses() throws {
        XCTAssertNoThrow(try valid.validate())
        XCTAssertNoThrow(try valid.validate(learners: 2))
        var c = valid
        c.cluster.learners = 4
        XCTAssertNoThrow(try c.validate())
    }

    func testDefaultLengthsDoNotFitTheTinyModel() {
        assertOne(Config.defaults, "data.max_prompt_length (512) + data.max_response_length (256) = 768 tokens",
                  "exceeds model.tiny.max_seq_len (96)", "model.path is empty")
        var c = Config.defaults
        c.model.path = "models/qwen.gguf"
        XCTAssertNoThrow(try c.validate(), "the length rule applies to the tiny model only")
    }

    func testGroupSizeAtLeastTwoForGRPO() {
        var c = valid
        c.rollout.n = 1
        assertOne(c, "rollout.n (1) must be ≥ 2", "grpo", "otherwise every advantage is zero")
    }

    func testTrainBatchMustSplitIntoMiniBatches() {
        var c = valid
        c.actor.ppoMiniBatchSize = 5
        c.actor.ppoMicroBatchSizePerGPU = 5
        assertOne(c, "data.train_batch_size (8) × rollout.n (8) = 64 responses",
                  "divisible by actor.ppo_mini_batch_size (5) × rollout.n (8) = 40", "(1, 2, 4, 8)")
    }

    func testMiniBatchMustSplitIntoMicroBatchesOverLearners() {
        var c = valid
        c.actor.ppoMicroBatchSizePerGPU = 3
        assertOne(c, learners: 2, "actor.ppo_mini_batch_size (8) × rollout.n (8) = 64 responses",
                  "actor.ppo_micro_batch_size_per_gpu (3) × learners (2) = 6", "one of 1, 2, 4, 8")
        c.actor.ppoMicroBatchSizePerGPU = 4
        XCTAssertTrue(messages(c, learners: 2).isEmpty)
        assertOne(c, learners: 32, "× learners (32) = 128", "one of 1, 2")
        c.rollout.n = 3
        c.data.trainBatchSize = 1
        c.actor.ppoMiniBatchSize = 1
        c.actor.ppoMicroBatchSizePerGPU = 1
        assertOne(c, learners: 2, "3 responses cannot be split evenly over 2 learners")
        var unknown = valid
        unknown.actor.ppoMicroBatchSizePerGPU = 3
        assertOne(unknown, "learners (1; cluster.learners is derived at launch)")
        unknown.cluster.learners = 2
        assertOne(unknown, "learners (2) = 6")
    }

    func testNonPositiveBatchTerms() {
        var c = valid
        c.data.trainBatchSize = 0
        c.actor.ppoEpochs = 0
        XCTAssertEqual(messages(c), ["data.train_batch_size (0) must be ≥ 1", "actor.ppo_epochs (0) must be ≥ 1"])
    }

    func testClipRatios() {
        var c = valid
        c.actor.clipRatioLow = 1.2
        c.actor.clipRatioHigh = 0
        c.actor.clipRatioC = 0.5
        let m = messages(c)
        XCTAssertEqual(m.count, 3, m.joined(separator: "\n"))
        XCTAssertTrue(m[0].hasPrefix("actor.clip_ratio_low (1.2) must be in (0.0, 1.0)"), m[0])
        XCTAssertTrue(m[1].hasPrefix("actor.clip_ratio_high (0.0) must be in (0.0, 1.0)"), m[1])
        XCTAssertTrue(m[2].hasPrefix("actor.clip_ratio_c (0.5) must be > 1"), m[2])
    }

    func testISPOLambdaBound() {
        var c = valid
        c.algorithm.ispo.lambdaSeq = 0.3
        assertOne(c, "algorithm.ispo.lambda_seq (0.3) + algorithm.ispo.lambda_tok (0.2) = 0.5 must be ≤ 0.4",
                  "every correct rollout still outranks every wrong one")
        c.algorithm.ispo.lambdaSeq = 0.2
        c.algorithm.ispo.lambdaTok = 0.2
        XCTAssertTrue(messages(c).isEmpty, "the bound itself is allowed")
    }

    func testISPORanges() {
        var c = valid
        c.algorithm.ispo.rhoEntropy = 0
        c.algorithm.ispo.rhoDrift = 1.5
        c.algorithm.ispo.kappa = 1
        c.algorithm.ispo.gamma = -1
        c.algorithm.ispo.certaintyThreshold = 1
        let m = messages(c)
        XCTAssertEqual(m.count, 5, m.joined(separator: "\n"))
        for key in ["rho_entropy", "rho_drift", "kappa", "gamma", "certainty_threshold"] {
            XCTAssertTrue(m.contains { $0.hasPrefix("algorithm.ispo.\(key) (") }, key)
        }
    }

    func testTinyModelShape() {
        var c = valid
        c.model.tiny.heads = 3
        c.model.tiny.kvHeads = 2
        let m = messages(c)
        XCTAssertEqual(m.count, 2, m.joined(separator: "\n"))
        XCTAssertTrue(m[0].contains("model.tiny.dim (128) must be divisible by model.tiny.heads (3)"), m[0])
        XCTAssertTrue(m[1].contains("model.tiny.heads (3) must be divisible by model.tiny.kv_heads (2)"), m[1])
    }

    func testMergeWeightsAndDensities() {
        var c = valid
        // Negative weights are task negation, as in mergekit: no problem reported for them.
        c.merge.models = [MergeModel(model: "a", weight: -0.5), MergeModel(model: "", density: 1.5)]
        c.merge.parameters.weight = -1
        let m = messages(c)
        XCTAssertEqual(m.count, 2, m.joined(separator: "\n"))
        XCTAssertTrue(m[0].hasPrefix("merge.models.1.model is empty"), m[0])
        XCTAssertTrue(m[1].hasPrefix("merge.models.1.parameters.density (1.5) must be in (0.0, 1.0]"), m[1])
    }

    func testCheckpointRules() throws {
        var c = valid
        c.checkpoint.keepBest = 2
        c.checkpoint.saveFreq = 0
        let m = messages(c)
        XCTAssertEqual(m, ["checkpoint.save_freq (0) must be -1 (never) or ≥ 1",
                           "checkpoint.keep_best (2) needs checkpoint.best_metric (empty): name the metric that "
                            + "ranks checkpoints"])
        // checkpoint.dtype is a closed choice, checked when loading.
        let e = configError { try Config.load(yamlFile: nil, overrides: ["checkpoint.dtype=fp8"]) }
        XCTAssertTrue(e.description.contains("`checkpoint.dtype`: expected one of fp32, bf16, found 'fp8'"), e.description)
    }

    func testEnumsAreCheckedWhenLoadingAndFilterMetricWhenValidating() {
        let e = configError {
            try Config.load(yamlFile: nil, overrides: [
                "algorithm.adv_estimator=ppo", "actor.kl_loss_type=k4", "merge.merge_method=slerp",
                "distillation.mode=offline", "trainer.pipeline=train", "actor.optim.lr_scheduler_type=linear",
            ])
        }
        XCTAssertEqual(e.problems.count, 6, e.description)
        XCTAssertTrue(e.description.contains("expected one of kl, mse, low_var_kl, k1, k2, k3, found 'k4'"), e.description)
        XCTAssertTrue(e.description.contains("expected one of linear, task_arithmetic, ties, dare_linear, dare_ties"))
        var c = valid
        c.algorithm.filterGroups.metric = "accuracy"
        assertOne(c, "algorithm.filter_groups.metric (\"accuracy\") must be one of acc, score")
    }

    func testKLCoefficientNeedsUseKLLoss() {
        var c = valid
        c.actor.klLossCoef = 0.04
        assertOne(c, "actor.kl_loss_coef (0.04) is set", "actor.use_kl_loss is false")
        c.actor.useKLLoss = true
        XCTAssertTrue(messages(c).isEmpty)
    }

    func testOptimizerRanges() {
        var c = valid
        c.actor.optim.betas = [0.9]
        c.actor.optim.lr = 0
        c.actor.optim.lrWarmupStepsRatio = 1
        c.actor.zeroStage = 3
        let m = messages(c)
        XCTAssertEqual(m.count, 4, m.joined(separator: "\n"))
        XCTAssertTrue(m.contains { $0.hasPrefix("actor.zero_stage (3) must be 0 or 1") })
        XCTAssertTrue(m.contains { $0.hasPrefix("actor.optim.lr (0.0) must be > 0") })
        XCTAssertTrue(m.contains { $0.hasPrefix("actor.optim.betas ([0.9]) must be two numbers in [0, 1)") })
        XCTAssertTrue(m.contains { $0.hasPrefix("actor.optim.lr_warmup_steps_ratio (1.0) must be in [0.0, 1.0)") })
    }

    func testRolloutAndRewardRanges() {
        var c = valid
        c.rollout.temperature = 0
        c.rollout.maxNewTokens = 100
        c.rollout.valKwargs.greedy = false
        c.rollout.valKwargs.topP = 0
        c.reward.overlongBuffer.enable = true
        c.reward.overlongBuffer.len = 48
        c.reward.timeoutSeconds = 0
        let m = messages(c)
        XCTAssertEqual(m.count, 5, m.joined(separator: "\n"))
        XCTAssertTrue(m[0].hasPrefix("rollout.temperature (0.0) must be > 0"), m[0])
        XCTAssertTrue(m[1].hasPrefix("rollout.max_new_tokens (100) must be in 1...data.max_response_length (48)"), m[1])
        XCTAssertTrue(m[2].hasPrefix("rollout.val_kwargs.top_p (0.0) must be in (0.0, 1.0]"), m[2])
        XCTAssertTrue(m[3].hasPrefix("reward.overlong_buffer.len (48) must be in 1..<data.max_response_length (48)"), m[3])
        XCTAssertTrue(m[4].hasPrefix("reward.timeout_seconds (0.0) must be > 0"), m[4])
    }

    /// The greedy pass is an addition to a sampled evaluation; on a greedy one it
    /// would decode the same answers twice, so it is refused with the way out.
    func testGreedyPassNeedsASampledEvaluation() {
        var c = valid
        c.rollout.valKwargs.greedyPass = true
        let m = messages(c)
        XCTAssertEqual(m.count, 1, m.joined(separator: "\n"))
        XCTAssertTrue(m[0].hasPrefix("rollout.val_kwargs.greedy_pass adds a greedy pass to a sampled evaluation"), m[0])
        c.rollout.valKwargs.greedy = false
        c.rollout.valKwargs.n = 8
        XCTAssertEqual(messages(c), [])
    }

    func testDistillationAndRunRanges() {
        var c = valid
        c.distillation.emaDecay = 1
        c.distillation.window = 0
        c.trainer.totalSteps = 0
        c.trainer.testFreq = 0
        c.cluster.teachers = -1
        let m = messages(c)
        XCTAssertEqual(m.count, 5, m.joined(separator: "\n"))
        XCTAssertTrue(m.contains { $0.hasPrefix("distillation.ema_decay (1.0) must be in (0.0, 1.0)") })
        XCTAssertTrue(m.contains { $0.hasPrefix("distillation.window (0) must be ≥ 1") })
        XCTAssertTrue(m.contains { $0.hasPrefix("trainer.total_steps (0) must be ≥ 1") })
        XCTAssertTrue(m.contains { $0.hasPrefix("trainer.test_freq (0) must be -1 (never) or ≥ 1") })
        XCTAssertTrue(m.contains { $0.hasPrefix("cluster.teachers (-1) must be ≥ 0") })
    }

    func testAllProblemsInOneErrorOneLineEach() {
        var c = Config.defaults
        c.rollout.n = 1
        c.algorithm.ispo.lambdaTok = 0.5
        XCTAssertThrowsError(try c.validate()) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.hasPrefix("invalid config (3 problems):"), text)
            XCTAssertEqual(text.split(separator: "\n").count, 4, text)
        }
    }
}
