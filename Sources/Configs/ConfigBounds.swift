/// Checks that hold for every key at once, before the range rules between keys:
/// every number is finite, and every key that sizes something is within a hard
/// upper bound. Both walk the encoded config tree, so a new key is covered
/// without touching this file (a new size key must be added to `sizeLimits`
/// or `unboundedIntegers`; a test enforces it).
enum ConfigBounds {
    /// One hard upper bound.
    struct Limit {
        /// The dotted key.
        var key: String
        /// The largest accepted value.
        var max: Int
        /// What the value counts, for the message (`responses per prompt`).
        var counts: String
    }

    /// The hard upper bounds on integer keys that size memory, work or loops.
    /// They are far above anything that runs on a CPU cluster; their job is to
    /// turn a typo (`rollout.n=2000000000`) into a message instead of an
    /// overflow, an allocation failure or a loop that never ends. Whether a
    /// run fits in memory is checked separately (`MemoryEstimate`).
    static let sizeLimits: [Limit] = [
        Limit(key: "data.max_prompt_length", max: 131_072, counts: "prompt tokens"),
        Limit(key: "data.max_response_length", max: 131_072, counts: "response tokens"),
        Limit(key: "data.train_batch_size", max: 65_536, counts: "prompts per RL step"),
        Limit(key: "data.val_batch_size", max: 1_048_576, counts: "validation prompts per batch"),
        Limit(key: "model.keep_layers", max: 1_024, counts: "layers"),
        Limit(key: "model.tiny.vocab_size", max: 1_048_576, counts: "vocabulary entries"),
        Limit(key: "model.tiny.dim", max: 65_536, counts: "model width"),
        Limit(key: "model.tiny.layers", max: 1_024, counts: "transformer blocks"),
        Limit(key: "model.tiny.heads", max: 1_024, counts: "query heads"),
        Limit(key: "model.tiny.kv_heads", max: 1_024, counts: "key/value heads"),
        Limit(key: "model.tiny.ffn_dim", max: 262_144, counts: "feed-forward width"),
        Limit(key: "model.tiny.max_seq_len", max: 262_144, counts: "tokens per sequence"),
        Limit(key: "rollout.n", max: 4_096, counts: "responses per prompt"),
        Limit(key: "rollout.max_new_tokens", max: 131_072, counts: "generated tokens"),
        Limit(key: "rollout.log_prob_micro_batch_size", max: 65_536, counts: "sequences per forward pass"),
        Limit(key: "rollout.val_kwargs.max_batch", max: 1_000_000, counts: "prompts decoded at once"),
        Limit(key: "rollout.val_kwargs.n", max: 4_096, counts: "responses per validation prompt"),
        Limit(key: "actor.ppo_mini_batch_size", max: 65_536, counts: "prompts per optimizer step"),
        Limit(key: "actor.ppo_micro_batch_size_per_gpu", max: 65_536, counts: "responses per micro-batch"),
        Limit(key: "actor.ppo_epochs", max: 1_000, counts: "passes per step"),
        Limit(key: "actor.optim.lr_warmup_steps", max: 100_000_000, counts: "warm-up steps"),
        Limit(key: "algorithm.filter_groups.max_num_gen_batches", max: 100_000, counts: "generation rounds per step"),
        Limit(key: "reward.overlong_buffer.len", max: 131_072, counts: "tokens"),
        Limit(key: "distillation.window", max: 131_072, counts: "tokens"),
        Limit(key: "distillation.consecutive", max: 131_072, counts: "tokens"),
        Limit(key: "distillation.max_interventions", max: 100_000, counts: "interventions per rollout"),
        Limit(key: "distillation.teacher_max_tokens", max: 131_072, counts: "teacher tokens per intervention"),
        Limit(key: "merge.rounds", max: 100_000, counts: "merge rounds"),
        Limit(key: "merge.epochs_per_round", max: 10_000, counts: "epochs per round"),
        Limit(key: "merge.trace_prompts", max: 10_000_000, counts: "trace prompts per teacher"),
        Limit(key: "checkpoint.keep_last", max: 1_000_000, counts: "checkpoints"),
        Limit(key: "checkpoint.keep_best", max: 1_000_000, counts: "checkpoints"),
        Limit(key: "trainer.total_steps", max: 100_000_000, counts: "RL steps"),
        Limit(key: "trainer.total_epochs", max: 1_000_000, counts: "epochs"),
        Limit(key: "trainer.val_loss_examples", max: 1_000_000, counts: "validation examples per source"),
        Limit(key: "sft.steps", max: 100_000_000, counts: "warm-start steps"),
        Limit(key: "sft.batch_size", max: 65_536, counts: "sequences per warm-start step"),
        Limit(key: "sft.micro_batch_size", max: 65_536, counts: "sequences per forward/backward pass"),
        Limit(key: "t3s.examples", max: 10_000_000, counts: "training examples"),
        Limit(key: "t3s.probe_freq", max: 100_000_000, counts: "steps"),
        Limit(key: "t3s.probe_prompts", max: 1_000_000, counts: "probe prompts"),
        Limit(key: "priority.examples", max: 10_000_000, counts: "training examples"),
        Limit(key: "priority.noise_tokens", max: 131_072, counts: "tokens per trace"),
        Limit(key: "priority.refresh", max: 100_000_000, counts: "steps"),
        Limit(key: "priority.probe_freq", max: 100_000_000, counts: "steps"),
        Limit(key: "priority.probe_prompts", max: 1_000_000, counts: "probe prompts"),
        Limit(key: "merge.probe_prompts", max: 1_000_000, counts: "probe prompts"),
        Limit(key: "p2d.pool", max: 10_000_000, counts: "candidate examples"),
        Limit(key: "p2d.proxy_examples", max: 10_000_000, counts: "proxy examples"),
        Limit(key: "p2d.proxy_steps", max: 100_000_000, counts: "steps"),
        Limit(key: "p2d.probe_examples", max: 1_000_000, counts: "probe examples"),
        Limit(key: "p2d.subset_steps", max: 100_000_000, counts: "steps"),
        Limit(key: "cluster.learners", max: 65_536, counts: "ranks"),
        Limit(key: "cluster.rollout_workers", max: 65_536, counts: "ranks"),
        Limit(key: "cluster.teachers", max: 65_536, counts: "ranks"),
        Limit(key: "cluster.threads_per_rank", max: 4_096, counts: "threads"),
    ]

    /// Integer keys that size nothing (seeds, frequencies, switches, a cap on
    /// data read), with why they need no upper bound.
    static let unboundedIntegers: [String: String] = [
        "data.seed": "a seed", "merge.seed": "a seed", "trainer.seed": "a seed",
        "data.max_samples": "a cap on records read, never allocated ahead",
        "actor.zero_stage": "checked to be 0 or 1",
        "checkpoint.save_freq": "a frequency", "trainer.test_freq": "a frequency", "trainer.log_freq": "a frequency",
        "merge.teacher_index": "an index, checked against the number of teachers when the run starts",
        "flag.layer": "a layer index, checked against the model's depth when the head loads",
    ]

    /// Non-finite numbers first, then values above their hard bound, one
    /// problem each, in key order.
    static func problems(of tree: ConfigNode) -> [ConfigProblem] {
        var out: [ConfigProblem] = []
        nonFinite(tree, [], &out)
        for limit in sizeLimits {
            let path = limit.key.split(separator: ".").map(String.init)
            guard let text = tree.node(at: path)?.scalarText, let v = Int(text), v > limit.max else { continue }
            out.append(ConfigProblem("\(limit.key) (\(v)) must be ≤ \(limit.max), the hard limit on \(limit.counts); "
                                        + "lower it (a value this large is a typo, or a run no machine can hold)"))
        }
        return out
    }

    /// Reports every NaN or infinite number in `node`. Doubles are the only
    /// values the encoder writes as unquoted `.nan`, `.inf` or `-.inf`.
    private static func nonFinite(_ node: ConfigNode, _ path: [String], _ out: inout [ConfigProblem]) {
        switch node.value {
        case let .scalar(text, quoted: false) where [".nan", ".inf", "-.inf"].contains(text):
            let key = path.joined(separator: ".")
            out.append(ConfigProblem("\(key) (\(text)) must be a finite number: NaN and ±infinity are not "
                                        + "settings (a literal beyond ±1.8e308, such as 1e309, reads as infinity); "
                                        + "set \(key) to a finite value"))
        case let .mapping(entries):
            for e in entries { nonFinite(e.node, path + [e.key], &out) }
        case let .sequence(items):
            for (i, item) in items.enumerated() { nonFinite(item, path + ["\(i)"], &out) }
        default: break
        }
    }
}
