extension Config {
    /// Checks every number is finite and every size key within its hard bound
    /// (`ConfigBounds`), then the cross-key rules (batch arithmetic, ranges, the
    /// ISPO reward bound, lengths against the tiny model), then, given the
    /// machine's RAM, that the tiny model's `MemoryEstimate` fits in it.
    /// - Parameter learners: learner ranks from the rank layout; nil =
    ///   `cluster.learners`, or, when that is 0 (derived at launch), the
    ///   per-learner term is checked for one learner and the runtime should call
    ///   `validate(learners:)` again once the layout is known.
    /// - Parameter memoryBytes: the machine's RAM in bytes; nil = no memory check.
    /// - Throws: `ConfigError` listing every problem, one per line, each naming its keys and values.
    public func validate(learners: Int? = nil, memoryBytes: Int? = nil) throws {
        let found = validationProblems(learners: learners, memoryBytes: memoryBytes)
        if !found.isEmpty { throw ConfigError(found) }
    }

    /// Every problem `validate(learners:memoryBytes:)` would report, in a fixed
    /// order. Non-finite and out-of-bound values are reported alone: the rules
    /// between keys compare and multiply values and would only add noise (or
    /// overflow) on them. The memory estimate is checked only on an otherwise valid config.
    public func validationProblems(learners: Int? = nil, memoryBytes: Int? = nil) -> [ConfigProblem] {
        let guards = ConfigBounds.problems(of: ConfigTreeEncoder.tree(self))
        if !guards.isEmpty { return guards }
        var c = Checker()
        checkBatches(&c, learners: learners ?? (cluster.learners > 0 ? cluster.learners : nil))
        checkRollout(&c)
        checkActor(&c)
        checkAlgorithm(&c)
        checkModelAndData(&c)
        for p in data.prompt.problems { c.require(false, p) }
        checkRewardDistillationMerge(&c)
        checkRun(&c)
        if c.problems.isEmpty, let memoryBytes, let problem = memoryProblem(memoryBytes: memoryBytes) {
            c.problems.append(problem)
        }
        return c.problems
    }

    private func checkBatches(_ c: inout Checker, learners: Int?) {
        let g = rollout.n, batch = data.trainBatchSize, mini = actor.ppoMiniBatchSize
        let micro = actor.ppoMicroBatchSizePerGPU
        if algorithm.advEstimator == .grpo {
            c.require(g >= 2, "rollout.n (\(g)) must be ≥ 2 for algorithm.adv_estimator grpo: GRPO needs G ≥ 2 "
                        + "responses per prompt, otherwise every advantage is zero (each response is its own group "
                        + "mean); set rollout.n=8 or another value ≥ 2")
        }
        // Every term is checked (and reported) before the arithmetic that needs them all.
        let ok = [c.atLeast("data.train_batch_size", batch, 1), c.atLeast("actor.ppo_mini_batch_size", mini, 1),
                  c.atLeast("actor.ppo_micro_batch_size_per_gpu", micro, 1), c.atLeast("rollout.n", g, 1)]
            .allSatisfy { $0 }
        c.atLeast("actor.ppo_epochs", actor.ppoEpochs, 1)
        guard ok else { return }
        if (batch * g) % (mini * g) != 0 {
            let divisors = Self.divisors(of: batch).map(String.init).joined(separator: ", ")
            c.require(false, "data.train_batch_size (\(batch)) × rollout.n (\(g)) = \(batch * g) responses per step "
                        + "must be divisible by actor.ppo_mini_batch_size (\(mini)) × rollout.n (\(g)) = \(mini * g) "
                        + "responses per optimizer step; set actor.ppo_mini_batch_size to a divisor of "
                        + "data.train_batch_size (\(divisors))")
        }
        let l = learners ?? 1
        let learnerTerm = learners == nil ? "learners (1; cluster.learners is derived at launch)" : "learners (\(l))"
        if l >= 1, (mini * g) % (micro * l) != 0 {
            // d fits when d × l divides mini × g, i.e. d divides (mini × g) / l.
            let fits = (mini * g) % l == 0 ? Self.divisors(of: mini * g / l).prefix(8).map(String.init) : []
            let fix = fits.isEmpty
                ? "\(mini * g) responses cannot be split evenly over \(l) learners: change actor.ppo_mini_batch_size "
                    + "or rollout.n"
                : "set actor.ppo_micro_batch_size_per_gpu to one of \(fits.joined(separator: ", "))"
            c.require(false, "actor.ppo_mini_batch_size (\(mini)) × rollout.n (\(g)) = \(mini * g) responses per "
                        + "optimizer step must be divisible by actor.ppo_micro_batch_size_per_gpu (\(micro)) × "
                        + "\(learnerTerm) = \(micro * l) responses per micro-batch round; \(fix)")
        }
        if let v = data.valBatchSize { c.atLeast("data.val_batch_size", v, 1, "or null for the whole set") }
        if let v = rollout.logProbMicroBatchSize {
            c.atLeast("rollout.log_prob_micro_batch_size", v, 1, "or null for the actor's micro-batch size")
        }
    }

    private func checkRollout(_ c: inout Checker) {
        c.require(rollout.temperature > 0, "rollout.temperature (\(rollout.temperature)) must be > 0 "
                    + "(training samples; greedy decoding is for validation: rollout.val_kwargs.greedy)")
        c.inRange("rollout.top_p", rollout.topP, above: 0, atMost: 1)
        if let m = rollout.maxNewTokens {
            c.require(m >= 1 && m <= data.maxResponseLength, "rollout.max_new_tokens (\(m)) must be in "
                        + "1...data.max_response_length (\(data.maxResponseLength)); raise data.max_response_length "
                        + "or use null")
        }
        let v = rollout.valKwargs
        c.atLeast("rollout.val_kwargs.n", v.n, 1)
        if !v.greedy {
            c.require(v.temperature > 0, "rollout.val_kwargs.temperature (\(v.temperature)) must be > 0 when "
                        + "rollout.val_kwargs.greedy is false")
            c.inRange("rollout.val_kwargs.top_p", v.topP, above: 0, atMost: 1)
        }
        c.atLeast("rollout.val_kwargs.max_batch", v.maxBatch, 0, "0 = a rank's whole share at once")
        c.require(!(v.greedy && v.greedyPass), "rollout.val_kwargs.greedy_pass adds a greedy pass to a sampled "
                    + "evaluation, but rollout.val_kwargs.greedy is true, so the evaluation already is greedy (its "
                    + "mean@N is greedy pass@1); set rollout.val_kwargs.greedy=false or greedy_pass=false")
    }

    private func checkActor(_ c: inout Checker) {
        let why = "the ratio π/π_old is clipped to [1 − clip_ratio_low, 1 + clip_ratio_high]"
        c.inRange("actor.clip_ratio_low", actor.clipRatioLow, above: 0, below: 1, why)
        c.inRange("actor.clip_ratio_high", actor.clipRatioHigh, above: 0, below: 1, why)
        c.require(actor.clipRatioC > 1, "actor.clip_ratio_c (\(actor.clipRatioC)) must be > 1: the dual clip bounds "
                    + "the loss of negative-advantage tokens at c·|Â|, and c ≤ 1 would cut below the ordinary clip")
        c.require(actor.klLossCoef >= 0, "actor.kl_loss_coef (\(actor.klLossCoef)) must be ≥ 0")
        c.require(actor.klLossCoef == 0 || actor.useKLLoss, "actor.kl_loss_coef (\(actor.klLossCoef)) is set "
                    + "(TRL beta) but actor.use_kl_loss is false, so no KL term would be applied; set "
                    + "actor.use_kl_loss=true, or actor.kl_loss_coef=0")
        c.require(actor.gradClip >= 0, "actor.grad_clip (\(actor.gradClip)) must be ≥ 0 (0 = off)")
        c.require([0, 1].contains(actor.zeroStage), "actor.zero_stage (\(actor.zeroStage)) must be 0 or 1 "
                    + "(ZeRO-1 shards AdamW moments; stages 2 and 3 are not implemented)")
        let o = actor.optim
        c.require(o.lr > 0, "actor.optim.lr (\(o.lr)) must be > 0")
        c.require(o.eps > 0, "actor.optim.eps (\(o.eps)) must be > 0")
        c.require(o.weightDecay >= 0, "actor.optim.weight_decay (\(o.weightDecay)) must be ≥ 0")
        c.require(o.betas.count == 2 && o.betas.allSatisfy { $0 >= 0 && $0 < 1 }, "actor.optim.betas "
                    + "(\(o.betas)) must be two numbers in [0, 1), e.g. [0.9, 0.999]")
        c.atLeast("actor.optim.lr_warmup_steps", o.lrWarmupSteps, 0)
        c.inRange("actor.optim.lr_warmup_steps_ratio", o.lrWarmupStepsRatio, atLeast: 0, below: 1)
        c.inRange("actor.optim.min_lr_ratio", o.minLrRatio, atLeast: 0, atMost: 1)
    }

    private func checkAlgorithm(_ c: inout Checker) {
        let f = algorithm.filterGroups
        c.require(FilterGroupsConfig.metrics.contains(f.metric), "algorithm.filter_groups.metric (\"\(f.metric)\") "
                    + "must be one of " + FilterGroupsConfig.metrics.joined(separator: ", "))
        c.atLeast("algorithm.filter_groups.max_num_gen_batches", f.maxNumGenBatches, 0, "0 = unlimited")
        c.require(algorithm.advStdFloor >= 0 && algorithm.advStdFloor.isFinite,
                  "algorithm.adv_std_floor (\(algorithm.advStdFloor)) must be a finite std ≥ 0")
        let i = algorithm.ispo
        c.require(i.lambdaSeq >= 0 && i.lambdaTok >= 0, "algorithm.ispo.lambda_seq (\(i.lambdaSeq)) and "
                    + "algorithm.ispo.lambda_tok (\(i.lambdaTok)) must be ≥ 0")
        c.require(!(i.enable && i.jitterControl), "algorithm.ispo.jitter_control is GRPO plus noise: "
                    + "it cannot be combined with algorithm.ispo.enable=true")
        let sum = i.lambdaSeq + i.lambdaTok
        c.require(sum <= ISPOConfig.maxLambdaSum + 1e-12, "algorithm.ispo.lambda_seq (\(i.lambdaSeq)) + "
                    + "algorithm.ispo.lambda_tok (\(i.lambdaTok)) = \(sum) must be ≤ \(ISPOConfig.maxLambdaSum) so "
                    + "that every correct rollout still outranks every wrong one in its group (a correct one scores "
                    + "at least 1 − λ_seq, a wrong one at most λ_seq + λ_tok); lower one of them")
        c.inRange("algorithm.ispo.rho_entropy", i.rhoEntropy, above: 0, atMost: 1, "a fraction of the rollout's tokens")
        c.inRange("algorithm.ispo.rho_drift", i.rhoDrift, above: 0, atMost: 1, "a fraction of the rollout's tokens")
        c.inRange("algorithm.ispo.kappa", i.kappa, atLeast: 0, below: 1, "a probability threshold")
        c.require(i.gamma >= 0, "algorithm.ispo.gamma (\(i.gamma)) must be ≥ 0 (it weights a penalty)")
        c.inRange("algorithm.ispo.certainty_threshold", i.certaintyThreshold, above: 0, below: 1, "a probability")
    }

    private func checkModelAndData(_ c: inout Checker) {
        let lengthsOK = [c.atLeast("data.max_prompt_length", data.maxPromptLength, 1),
                         c.atLeast("data.max_response_length", data.maxResponseLength, 1)].allSatisfy { $0 }
        c.require(data.maxSamples == -1 || data.maxSamples >= 1, "data.max_samples (\(data.maxSamples)) must be "
                    + "-1 (all) or ≥ 1")
        c.atLeast("model.keep_layers", model.keepLayers, 0, "0 = all of the loaded model's layers")
        c.require(model.keepLayers == 0 || !model.usesTinyModel, "model.keep_layers (\(model.keepLayers)) selects layers "
                    + "of a loaded model, but model.path is empty; set model.path, or size the built-in model with model.tiny.layers")
        guard model.usesTinyModel else { return }
        let t = model.tiny
        // Summed only when both are positive (the bounds above hold here), so it cannot overflow.
        let total = lengthsOK ? data.maxPromptLength + data.maxResponseLength : 0
        c.require(total <= t.maxSeqLen, "data.max_prompt_length (\(data.maxPromptLength)) + data.max_response_length "
                    + "(\(data.maxResponseLength)) = \(total) tokens exceeds model.tiny.max_seq_len (\(t.maxSeqLen)) "
                    + "of the built-in tiny model (model.path is empty); lower the lengths or raise "
                    + "model.tiny.max_seq_len")
        let ok = [c.atLeast("model.tiny.dim", t.dim, 1), c.atLeast("model.tiny.heads", t.heads, 1),
                  c.atLeast("model.tiny.kv_heads", t.kvHeads, 1)].allSatisfy { $0 }
        c.atLeast("model.tiny.layers", t.layers, 1)
        c.atLeast("model.tiny.ffn_dim", t.ffnDim, 1)
        if let v = t.vocabSize { c.atLeast("model.tiny.vocab_size", v, 1, "or null for the tokenizer's") }
        c.require(t.ropeTheta > 0, "model.tiny.rope_theta (\(t.ropeTheta)) must be > 0")
        guard ok else { return }
        c.require(t.dim % t.heads == 0 && (t.dim / t.heads) % 2 == 0, "model.tiny.dim (\(t.dim)) must be divisible "
                    + "by model.tiny.heads (\(t.heads)) into an even head size (RoPE rotates pairs)")
        c.require(t.heads % t.kvHeads == 0, "model.tiny.heads (\(t.heads)) must be divisible by model.tiny.kv_heads "
                    + "(\(t.kvHeads)) (each key/value head serves a whole group of query heads)")
    }

    private func checkRewardDistillationMerge(_ c: inout Checker) {
        let b = reward.overlongBuffer
        if b.enable {
            c.require(b.len >= 1 && b.len < data.maxResponseLength, "reward.overlong_buffer.len (\(b.len)) must be "
                        + "in 1..<data.max_response_length (\(data.maxResponseLength)): the buffer is the last part "
                        + "of the allowed length")
            c.require(b.penaltyFactor >= 0, "reward.overlong_buffer.penalty_factor (\(b.penaltyFactor)) must be ≥ 0")
        }
        c.require(reward.timeoutSeconds > 0, "reward.timeout_seconds (\(reward.timeoutSeconds)) must be > 0")
        let d = distillation
        c.atLeast("distillation.window", d.window, 1)
        c.inRange("distillation.ema_decay", d.emaDecay, above: 0, below: 1)
        c.require(d.k > 0, "distillation.k (\(d.k)) must be > 0 (the boundary is μ + k·σ)")
        c.atLeast("distillation.consecutive", d.consecutive, 1)
        c.atLeast("distillation.max_interventions", d.maxInterventions, 0)
        c.atLeast("distillation.teacher_max_tokens", d.teacherMaxTokens, 1)
        c.require(d.alpha >= 0, "distillation.alpha (\(d.alpha)) must be ≥ 0")
        c.require(d.trigger == .student || d.mode == .motab, "distillation.trigger (`\(d.trigger.rawValue)`) chooses what "
                    + "MOTAB's monitor watches, but distillation.mode (`\(d.mode.rawValue)`) runs no monitor; set "
                    + "distillation.mode=motab, or leave distillation.trigger at `student`")
        c.inRange("distillation.boundary_decay", d.boundaryDecay, above: 0, below: 1)
        c.require(d.randomRate >= 0 && d.randomRate <= 1, "distillation.random_rate (\(d.randomRate)) must be in [0, 1] (a probability per student token)")
        c.require(["full", "sampled"].contains(d.estimator), "distillation.estimator (`\(d.estimator)`) must be `full` "
                    + "(the teacher's whole distribution per position) or `sampled` (the sampled token's log-ratio)")
        c.atLeast("merge.rounds", merge.rounds, 1)
        c.atLeast("merge.epochs_per_round", merge.epochsPerRound, 1)
        c.atLeast("merge.teacher_index", merge.teacherIndex, 0)
        c.atLeast("merge.probe_prompts", merge.probePrompts, 0)
        checkMergeParameters(&c, merge.parameters, "merge.parameters")
        for (key, value) in [("merge.dtype", merge.dtype), ("merge.out_dtype", merge.outDtype)] {
            guard let value, !MergeConfig.dtypeSpellings.contains(value) else { continue }
            c.require(false, "\(key) (`\(value)`) must be one of \(MergeConfig.dtypeSpellings.joined(separator: ", ")) "
                        + "(mergekit's names; merging itself is always fp32)")
        }
        for (i, m) in merge.models.enumerated() {
            c.require(!m.model.isEmpty, "merge.models.\(i).model is empty: name the model (a teacher branch or path)")
            checkMergeParameters(&c, m.parameters, "merge.models.\(i).parameters")
        }
    }

    private func checkMergeParameters(_ c: inout Checker, _ p: MergeParameters, _ key: String) {
        if let w = p.weight {
            c.require(w.isFinite, "\(key).weight (\(w)) must be a finite number (negative subtracts the model's task vector)")
        }
        if let d = p.density { c.inRange("\(key).density", d, above: 0, atMost: 1, "the fraction of entries kept") }
    }

    private func checkRun(_ c: inout Checker) {
        let k = checkpoint
        c.require(k.saveFreq == -1 || k.saveFreq >= 1, "checkpoint.save_freq (\(k.saveFreq)) must be -1 (never) or ≥ 1")
        c.require(!k.resumeMode.isEmpty, "checkpoint.resume_mode is empty: use auto, disable or a checkpoint path")
        c.atLeast("checkpoint.keep_last", k.keepLast, 0, "0 = keep all")
        c.atLeast("checkpoint.keep_best", k.keepBest, 0)
        c.require(k.keepBest == 0 || !k.bestMetric.isEmpty, "checkpoint.keep_best (\(k.keepBest)) needs "
                    + "checkpoint.best_metric (empty): name the metric that ranks checkpoints")
        let t = trainer
        if let s = t.totalSteps { c.atLeast("trainer.total_steps", s, 1, "or null to run trainer.total_epochs") }
        c.atLeast("trainer.total_epochs", t.totalEpochs, 1)
        c.atLeast("trainer.val_loss_examples", t.valLossExamples, 0)
        c.require(t.testFreq == -1 || t.testFreq >= 1, "trainer.test_freq (\(t.testFreq)) must be -1 (never) or ≥ 1")
        c.atLeast("trainer.log_freq", t.logFreq, 1)
        c.require(t.stepTimeoutS >= 0, "trainer.step_timeout_s (\(t.stepTimeoutS)) must be ≥ 0 (0 = no limit)")
        if let f = t.firstStepTimeoutS { c.require(f >= 0, "trainer.first_step_timeout_s (\(f)) must be ≥ 0 (0 = no limit, null = 3 × step_timeout_s)") }
        c.require(t.signalGraceS > 0, "trainer.signal_grace_s (\(t.signalGraceS)) must be > 0: the seconds a signalled job has to checkpoint")
        c.require(k.writeTimeoutS >= 0, "checkpoint.write_timeout_s (\(k.writeTimeoutS)) must be ≥ 0 (0 = no limit)")
        c.require(!t.experimentName.isEmpty, "trainer.experiment_name is empty: name the run")
        c.atLeast("trainer.seed", t.seed, 0, "every random stream derives from it as an unsigned number")
        c.atLeast("sft.steps", sft.steps, 0, "0 = no warm start")
        c.atLeast("sft.batch_size", sft.batchSize, 1)
        c.atLeast("sft.micro_batch_size", sft.microBatchSize, 0, "0 = a learner's whole share at once")
        c.require(sft.lr > 0, "sft.lr (\(sft.lr)) must be > 0")
        c.inRange("sft.direct_answer_frac", sft.directAnswerFrac, atLeast: 0, atMost: 1, "a fraction of the examples")
        c.atLeast("t3s.examples", t3s.examples, 1)
        c.atLeast("t3s.probe_freq", t3s.probeFreq, 1)
        c.atLeast("t3s.probe_prompts", t3s.probePrompts, 1)
        c.require(t3s.onlineRise > 0, "t3s.online_rise (\(t3s.onlineRise)) must be > 0")
        let pr = priority
        c.atLeast("priority.examples", pr.examples, 1); c.atLeast("priority.noise_tokens", pr.noiseTokens, 1)
        c.inRange("priority.noise_rate", pr.noiseRate, atLeast: 0, atMost: 1); c.inRange("priority.toxic_rate", pr.toxicRate, atLeast: 0, atMost: 1)
        c.inRange("priority.keep_fraction", pr.keepFraction, above: 0, atMost: 1); c.inRange("priority.temperature", pr.temperature, above: 0)
        c.atLeast("priority.refresh", pr.refresh, 0, "0 = once"); c.atLeast("priority.probe_freq", pr.probeFreq, 1)
        c.atLeast("priority.probe_prompts", pr.probePrompts, 1)
        c.require(!pr.reference.isEmpty, "priority.reference is empty: use initial or a checkpoint or model path")
        _ = c.atLeast("flag.layer", flag.layer, -1, "-1 = the final-norm input")
        c.inRange("flag.threshold", flag.threshold, above: 0, below: 1)
        c.inRange("flag.penalty", flag.penalty, atLeast: 0, "0 = off")
        c.require(!flag.enable || !flag.head.isEmpty, "flag.enable needs flag.head: the head file written by `ispo-cluster detect train`")
        c.require(flag.enable || (!flag.filter && flag.penalty == 0), "flag.filter and flag.penalty need flag.enable=true and a flag.head to score with")
        c.atLeast("p2d.pool", p2d.pool, 1); c.atLeast("p2d.proxy_steps", p2d.proxySteps, 1); c.atLeast("p2d.probe_examples", p2d.probeExamples, 1)
        c.atLeast("p2d.subset_steps", p2d.subsetSteps, 0, "0 = as many epochs as the full arm")
        if c.atLeast("p2d.proxy_examples", p2d.proxyExamples, 1) {
            c.require(p2d.proxyExamples <= p2d.pool, "p2d.proxy_examples (\(p2d.proxyExamples)) exceeds p2d.pool (\(p2d.pool)): the proxy trains on the pool's first examples; lower it or raise p2d.pool")
        }
        c.inRange("p2d.head_fraction", p2d.headFraction, above: 0, atMost: 1); c.inRange("p2d.data_fraction", p2d.dataFraction, above: 0, atMost: 1)
        for (key, v) in [("cluster.learners", cluster.learners), ("cluster.rollout_workers", cluster.rolloutWorkers),
                         ("cluster.teachers", cluster.teachers), ("cluster.threads_per_rank", cluster.threadsPerRank)] {
            c.atLeast(key, v, 0, "0 = derive")
        }
    }
}

extension Config {
    /// The divisors of `n` ≥ 1 in increasing order, found in O(√n) steps
    /// (n may be as large as the bounds allow, about 2.7e8).
    static func divisors(of n: Int) -> [Int] {
        precondition(n >= 1, "divisors(of:) needs n ≥ 1, got \(n)")
        var small: [Int] = [], large: [Int] = []
        var d = 1
        while d * d <= n {
            if n % d == 0 {
                small.append(d)
                if d * d != n { large.append(n / d) }
            }
            d += 1
        }
        return small + large.reversed()
    }
}

/// Collects validation problems.
private struct Checker {
    var problems: [ConfigProblem] = []

    mutating func require(_ ok: Bool, _ message: @autoclosure () -> String) {
        if !ok { problems.append(ConfigProblem(message())) }
    }

    /// `key (v) must be ≥ min`; returns whether it holds.
    @discardableResult
    mutating func atLeast(_ key: String, _ v: Int, _ min: Int, _ note: String = "") -> Bool {
        require(v >= min, "\(key) (\(v)) must be ≥ \(min)" + (note.isEmpty ? "" : " (\(note))"))
        return v >= min
    }

    /// `key (v) must be in (lo, hi]` and friends; nil bounds are open-ended.
    mutating func inRange(_ key: String, _ v: Double, above: Double? = nil, atLeast: Double? = nil,
                          below: Double? = nil, atMost: Double? = nil, _ why: String = "") {
        var ok = true
        if let a = above { ok = ok && v > a }
        if let a = atLeast { ok = ok && v >= a }
        if let b = below { ok = ok && v < b }
        if let b = atMost { ok = ok && v <= b }
        let lo = above.map { "(\($0)" } ?? atLeast.map { "[\($0)" } ?? "(-inf"
        let hi = below.map { "\($0))" } ?? atMost.map { "\($0)]" } ?? "inf)"
        require(ok, "\(key) (\(v)) must be in \(lo), \(hi)" + (why.isEmpty ? "" : ": \(why)"))
    }
}
