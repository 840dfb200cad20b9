import Checkpoint
import Configs
import Foundation
import Transformer

/// Whether a checkpoint can be continued by this job's model, codec and
/// config: the architecture and the tokenizer must match exactly; the config
/// may differ only in keys a resume is known to tolerate
/// (`alwaysAllowed`) or that the user named in `checkpoint.allow_config_change`.
enum ResumeCompatibility {
    /// Manifest layout key holding the model architecture (JSON of `ModelConfig`).
    static let modelConfigKey = "model_config"
    /// Manifest layout key holding the codec identity (`identity(of:)`).
    static let codecKey = "codec"

    /// Config keys a resume may change without being asked: the learning rate
    /// and its schedule, the run's length, evaluation, logging and dumps,
    /// saving and retention, the rank layout, micro-batch sizes (memory only)
    /// and time limits. A trailing `.` is a prefix (the whole subtree).
    static let alwaysAllowed: [String] = [
        "actor.optim.lr", "actor.optim.lr_warmup_steps", "actor.optim.lr_warmup_steps_ratio", "actor.optim.min_lr_ratio",
        "actor.optim.lr_scheduler_type", "actor.ppo_micro_batch_size_per_gpu", "rollout.log_prob_micro_batch_size",
        "trainer.total_steps", "trainer.total_epochs", "trainer.test_freq", "trainer.val_before_train",
        "trainer.log_freq", "trainer.dump_rollouts", "trainer.project_name", "trainer.experiment_name",
        "trainer.default_local_dir", "data.val_files", "data.val_batch_size", "rollout.val_kwargs.",
        "merge.rounds", "checkpoint.", "cluster.",
    ]

    /// Whether `key` is in `patterns` (exact, a `prefix.` entry, or a user's `prefix.*`),
    /// or names a time limit (any key whose last part ends in `timeout` or `timeout_seconds`).
    static func matches(_ key: String, _ patterns: [String]) -> Bool {
        patterns.contains { p in
            if p.hasSuffix(".*") { return key.hasPrefix(String(p.dropLast())) }
            if p.hasSuffix(".") { return key.hasPrefix(p) }
            return key == p
        }
    }

    /// Whether a resume may change `key` without the user asking.
    static func isAlwaysAllowed(_ key: String) -> Bool {
        let last = key.split(separator: ".").last.map(String.init) ?? key
        return matches(key, alwaysAllowed) || last.hasSuffix("timeout") || last.hasSuffix("timeout_seconds")
    }

    /// A codec's identity: its type, vocabulary size, special ids and a CRC of
    /// every token's text. Two codecs with equal identities encode alike.
    static func identity(of codec: TextCodec) -> String {
        var crc: UInt32 = 0
        for id in 0 ..< codec.vocabSize {
            let bytes = Array(codec.decode([Int32(id)]).utf8) + [0]
            crc = CRC32C.checksum(bytes, continuing: crc)
        }
        return "\(String(describing: type(of: codec))) vocab=\(codec.vocabSize) eos=\(codec.eos) pad=\(codec.pad) "
            + "tokens_crc32c=\(CRC32C.hex(crc))"
    }

    /// The architecture fields that must agree, by their config spelling.
    static func fields(_ c: Transformer.ModelConfig) -> [(String, String)] {
        [("vocab", "\(c.vocabSize)"), ("dim", "\(c.dim)"), ("layers", "\(c.layers)"), ("heads", "\(c.heads)"),
         ("kv_heads", "\(c.kvHeads)"), ("ffn_dim", "\(c.ffnDim)"), ("max_seq_len", "\(c.maxSeqLen)"),
         ("rope_theta", "\(c.ropeTheta)"), ("rope_style", c.ropeStyle.rawValue), ("norm_eps", "\(c.normEps)"),
         ("tied_embeddings", "\(c.tiedEmbeddings)"), ("qkv_bias", "\(c.qkvBias)")]
    }

    /// Throws when the checkpoint's model architecture or codec differs from this job's.
    /// Checkpoints written before these fields existed are not checked for them.
    static func checkModel(manifest: CheckpointManifest, model: Transformer.ModelConfig, codec: TextCodec, path: String) throws {
        if let json = manifest.layout[modelConfigKey] {
            let saved: Transformer.ModelConfig
            do { saved = try JSONDecoder().decode(Transformer.ModelConfig.self, from: Data(json.utf8)) } catch {
                throw JobError("\(path)/manifest.json: expected layout.model_config to describe the saved model, found "
                               + "text that does not decode (\(error)). The checkpoint is damaged: resume from an "
                               + "earlier one (checkpoint.resume_mode=<path>) or start fresh (resume_mode=disable).")
            }
            let mine = fields(model), theirs = fields(saved)
            let diffs = zip(theirs, mine).filter { $0.1 != $1.1 }.map { "\($0.0): expected \($0.1), found \($1.1)" }
            if !diffs.isEmpty {
                throw JobError("\(path): the model of this run differs from the one the checkpoint was saved with ("
                               + diffs.joined(separator: "; ") + "; expected = checkpoint, found = this run's model.tiny / "
                               + "model.path / data lengths). Restore the model settings the checkpoint was written with, "
                               + "or start fresh with checkpoint.resume_mode=disable.")
            }
        }
        if let saved = manifest.layout[codecKey] {
            let mine = identity(of: codec)
            if saved != mine {
                throw JobError("\(path): expected the tokenizer the checkpoint was saved with (\(saved)), found "
                               + "\(mine). Resume with the same model.path (its tokenizer), or start fresh with "
                               + "checkpoint.resume_mode=disable.")
            }
        }
    }

    /// One config key that differs between the checkpoint and this run.
    struct Change: Equatable {
        /// Dotted key.
        var key: String
        /// Value in the checkpoint's config (`(absent)` when the key did not exist).
        var saved: String
        /// Value in this run's config (`(absent)` when the key no longer exists).
        var current: String
    }

    /// Keys whose values differ between the checkpoint's saved resolved config and `current`, sorted.
    static func changes(savedYAML: String, current: Config) throws -> [Change] {
        let saved = try Config.load(yamlText: savedYAML, sourceName: "the checkpoint's saved config").flatValues()
        let now = current.flatValues()
        return Set(saved.keys).union(now.keys).sorted().compactMap { k in
            let a = saved[k] ?? "(absent)", b = now[k] ?? "(absent)"
            return a == b ? nil : Change(key: k, saved: a, current: b)
        }
    }

    /// Checks the config changes of a resume: returns the allowed ones (to print),
    /// throws listing every change that is neither always allowed nor named in
    /// `checkpoint.allow_config_change`.
    static func checkConfig(savedYAML: String, current: Config, path: String) throws -> [Change] {
        let named = current.checkpoint.allowConfigChange
        let known = Set(Config.keyReference.map(\.key))
        for p in named where !(p.hasSuffix(".*") ? known.contains { $0.hasPrefix(String(p.dropLast())) } : known.contains(p)) {
            throw JobError("checkpoint.allow_config_change: expected dotted config keys (e.g. actor.clip_ratio_high, "
                           + "or algorithm.ispo.* for a section), found `\(p)`, which names no key. Fix the list.")
        }
        let all: [Change]
        do { all = try changes(savedYAML: savedYAML, current: current) } catch {
            // The saved config does not load with this version (a key renamed or removed):
            // the architecture, tokenizer, seed and data checks still apply.
            print("ispo-cluster: warning: \(path): the config saved in the checkpoint does not load with this version "
                  + "(\(error)); its keys are not compared with this run's")
            return []
        }
        let refused = all.filter { !isAlwaysAllowed($0.key) && !matches($0.key, named) }
        guard refused.isEmpty else {
            let list = refused.map { "\($0.key): checkpoint \($0.saved), this run \($0.current)" }.joined(separator: "; ")
            throw JobError("\(path): this run's config differs from the checkpoint's in keys a resume does not change "
                           + "silently (\(list)). Restore those values, or name the keys in "
                           + "checkpoint.allow_config_change=[\(refused.map(\.key).joined(separator: ","))] to continue "
                           + "with the new values, or start fresh with checkpoint.resume_mode=disable.")
        }
        return all
    }
}
