/// TRL, NeMo-RL and verl spellings accepted for our keys. Each alias is moved
/// to its canonical place before the schema check; if both are given with
/// different values that is an error naming both.
enum ConfigAliases {
    /// (alias, canonical) dotted paths. Section aliases come first so that
    /// `learner.epsilon` becomes `actor.epsilon` and then `actor.clip_ratio_low`.
    static let table: [(alias: String, canonical: String)] = [
        // Sections.
        ("learner", "actor"),
        ("logger", "trainer"),
        ("actor_rollout_ref.actor", "actor"),             // verl's nesting
        ("actor_rollout_ref.rollout", "rollout"),
        ("actor_rollout_ref.model", "model"),
        ("reward_model.overlong_buffer", "reward.overlong_buffer"),
        // TRL (flat GRPOConfig names, top level or inside the section).
        ("num_generations", "rollout.n"),
        ("rollout.num_generations", "rollout.n"),
        ("epsilon", "actor.clip_ratio_low"),
        ("actor.epsilon", "actor.clip_ratio_low"),
        ("epsilon_high", "actor.clip_ratio_high"),
        ("actor.epsilon_high", "actor.clip_ratio_high"),
        ("beta", "actor.kl_loss_coef"),
        ("actor.beta", "actor.kl_loss_coef"),
        // NeMo-RL.
        ("grpo.num_generations_per_prompt", "rollout.n"),
        ("grpo.num_prompts_per_step", "data.train_batch_size"),
        ("grpo.max_num_steps", "trainer.total_steps"),
        ("loss_fn.ratio_clip_min", "actor.clip_ratio_low"),
        ("loss_fn.ratio_clip_max", "actor.clip_ratio_high"),
        ("loss_fn.ratio_clip_c", "actor.clip_ratio_c"),
        ("loss_fn.reference_policy_kl_penalty", "actor.kl_loss_coef"),
        // verl (older or other-section spellings).
        ("total_training_steps", "trainer.total_steps"),
        ("trainer.total_training_steps", "trainer.total_steps"),
        ("actor.ppo_micro_batch_size", "actor.ppo_micro_batch_size_per_gpu"),
        ("actor.optim.warmup_style", "actor.optim.lr_scheduler_type"),
        ("trainer.save_freq", "checkpoint.save_freq"),
        ("trainer.resume_mode", "checkpoint.resume_mode"),
        ("seed", "trainer.seed"),
        // Ours: the boolean that came before `distillation.trigger` (true = teacher, false = student).
        ("distillation.teacher_trigger", "distillation.trigger"),
    ]

    /// The aliases of a canonical dotted key (for the reference doc).
    static func aliases(of canonical: String) -> [String] {
        table.filter { $0.canonical == canonical }.map(\.alias)
    }

    /// Alias names that are children of `parent` (for "did you mean" candidates).
    static func aliasChildren(of parent: [String]) -> [String] {
        table.compactMap { entry in
            let a = entry.alias.split(separator: ".").map(String.init)
            return a.count == parent.count + 1 && Array(a.dropLast()) == parent ? a.last : nil
        }
    }

    /// Moves every alias in `tree` to its canonical path, reporting conflicts.
    static func normalize(_ tree: inout ConfigNode, problems: inout [ConfigProblem]) {
        for (alias, canonical) in table {
            let a = alias.split(separator: ".").map(String.init)
            let c = canonical.split(separator: ".").map(String.init)
            guard var moved = tree.remove(a) else { continue }
            moved.markWritten(alias)
            if let existing = tree.node(at: c) {
                let merged = mergeStrict(existing, moved, canonical: canonical, problems: &problems)
                tree.set(c, merged, problems: &problems)
            } else {
                tree.set(c, moved, problems: &problems)
            }
        }
    }

    /// `existing` and `incoming` both set `canonical`: mappings merge key by key,
    /// equal values are fine, different values are a conflict naming both.
    private static func mergeStrict(_ existing: ConfigNode, _ incoming: ConfigNode, canonical: String,
                                    problems: inout [ConfigProblem]) -> ConfigNode {
        if case var .mapping(base) = existing.value, case let .mapping(extra) = incoming.value {
            for entry in extra {
                if let i = base.firstIndex(where: { $0.key == entry.key }) {
                    base[i].node = mergeStrict(base[i].node, entry.node, canonical: canonical + "." + entry.key,
                                               problems: &problems)
                } else {
                    base.append(entry)
                }
            }
            var out = existing
            out.value = .mapping(base)
            return out
        }
        if existing.sameValue(as: incoming) { return existing }
        let first = existing.writtenPath ?? canonical, second = incoming.writtenPath ?? canonical
        problems.append(ConfigProblem(
            "conflicting values for `\(canonical)`: `\(first)` = \(existing.shortDescription) [\(existing.source)] "
                + "and `\(second)` = \(incoming.shortDescription) [\(incoming.source)] name the same key; "
                + "give only one of them (or the same value)"))
        return existing
    }
}

extension ConfigNode {
    /// The node at a dotted path (mapping keys only).
    func node(at path: [String]) -> ConfigNode? {
        var current = self
        for key in path {
            guard let next = current[key] else { return nil }
            current = next
        }
        return current
    }

    /// Removes and returns the node at `path`; parents left empty by the removal
    /// are removed too (e.g. `actor_rollout_ref` once its sections moved).
    mutating func remove(_ path: [String]) -> ConfigNode? {
        guard let first = path.first, case var .mapping(entries) = value,
              let i = entries.firstIndex(where: { $0.key == first }) else { return nil }
        if path.count == 1 {
            let removed = entries.remove(at: i).node
            value = .mapping(entries)
            return removed
        }
        let wasEmpty = entries[i].node.entries?.isEmpty ?? false
        guard let removed = entries[i].node.remove(Array(path.dropFirst())) else { return nil }
        if !wasEmpty, entries[i].node.entries?.isEmpty == true { entries.remove(at: i) }
        value = .mapping(entries)
        return removed
    }

    /// Sets the node at `path`, creating intermediate mappings. A non-mapping in
    /// the way is reported (the user wrote a value where a section belongs).
    mutating func set(_ path: [String], _ child: ConfigNode, problems: inout [ConfigProblem]) {
        guard let first = path.first else { self = child; return }
        if value == .null { value = .mapping([]) }
        guard case var .mapping(entries) = value else {
            problems.append(ConfigProblem("expected a mapping here to hold `\(path.joined(separator: "."))`, "
                                              + "found \(shortDescription); make it a section", source: source))
            return
        }
        if path.count == 1 {
            let entry = Entry(key: first, keySource: child.source, node: child)
            if let i = entries.firstIndex(where: { $0.key == first }) { entries[i] = entry } else { entries.append(entry) }
        } else if let i = entries.firstIndex(where: { $0.key == first }) {
            entries[i].node.set(Array(path.dropFirst()), child, problems: &problems)
        } else {
            var fresh = ConfigNode.emptyMapping(child.source)
            fresh.set(Array(path.dropFirst()), child, problems: &problems)
            entries.append(Entry(key: first, keySource: child.source, node: fresh))
        }
        value = .mapping(entries)
    }
}
