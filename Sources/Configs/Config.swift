import Foundation

/// The whole run configuration: one typed section per YAML section, defaults
/// written once in the section types, verl knob names as YAML keys.
///
/// ```swift
/// let config = try Config.load(yamlFile: "Launch/gsm8k-ispo.yaml", overrides: ["rollout.n=16"])
/// try config.validate()
/// config.rollout.n            // 16
/// config.actor.clipRatioLow   // 0.2
/// ```
public struct Config: Codable, Equatable, Sendable {
    /// Prompts: sources, lengths, batch size.
    public var data: DataConfig = DataConfig()
    /// The model: a checkpoint path or the built-in tiny Llama.
    public var model: ModelConfig = ModelConfig()
    /// Sampling of responses.
    public var rollout: RolloutConfig = RolloutConfig()
    /// The policy update (YAML section `actor`, alias `learner`).
    public var actor: ActorConfig = ActorConfig()
    /// Advantages, dynamic sampling and ISPO.
    public var algorithm: AlgorithmConfig = AlgorithmConfig()
    /// Reward shaping and verifier limits.
    public var reward: RewardConfig = RewardConfig()
    /// MOTAB distillation.
    public var distillation: DistillationConfig = DistillationConfig()
    /// Merge-of-Thought merging (mergekit schema).
    public var merge: MergeConfig = MergeConfig()
    /// Saving and resuming.
    public var checkpoint: CheckpointConfig = CheckpointConfig()
    /// The run: names, length, logging, seed, pipeline (YAML section `trainer`, alias `logger`).
    public var trainer: TrainerConfig = TrainerConfig()
    /// The supervised warm start before RL (`ispo-cluster run` flags `--sft-steps`, `--sft-batch`, `--sft-lr`).
    public var sft: SFTConfig = SFTConfig()
    /// T3S's token selection (`trainer.pipeline=t3s`).
    public var t3s: T3SConfig = T3SConfig()
    /// Token Priority's per-token weights (`trainer.pipeline=priority`).
    public var priority: PriorityConfig = PriorityConfig()
    /// P2D's head and data selection (`trainer.pipeline=p2d`).
    public var p2d: P2DConfig = P2DConfig()
    /// FLaG's live hallucination score on rollouts (filter, penalty, `flag/*` metrics).
    public var flag: FLaGConfig = FLaGConfig()
    /// Rank roles and threads.
    public var cluster: ClusterConfig = ClusterConfig()

    /// The defaults.
    public init() {}

    /// The built-in defaults (what an empty file and no overrides give).
    public static var defaults: Config { Config() }

    /// The run seed; the top-level YAML key `seed` is an alias of `trainer.seed`.
    public var seed: Int {
        get { trainer.seed }
        set { trainer.seed = newValue }
    }

    /// The policy update under its other name (`learner` section alias).
    public var learner: ActorConfig {
        get { actor }
        set { actor = newValue }
    }

    /// Loads a config: the built-in `preset` overrides (none = defaults only),
    /// then the YAML file (none = no file), then the user's dotted `overrides`
    /// in order (`rollout.n=16`, `actor.optim.betas=[0.9,0.95]`); aliases mapped
    /// to canonical keys, unknown keys and type errors reported together with
    /// file:line and a suggestion. Messages number the user's overrides from 1
    /// (`command-line override 2`), whatever the preset holds. Does not run `validate()`.
    /// - Throws: `ConfigError` with one problem per line.
    public static func load(yamlFile: String?, preset: [String] = [], overrides: [String] = []) throws -> Config {
        guard let yamlFile else {
            return try ConfigLoader.load(text: nil, name: "", preset: preset, overrides: overrides)
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: yamlFile, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ConfigError([ConfigProblem(
                "cannot read config file `\(yamlFile)`: expected a YAML file, found a directory; pass the file "
                    + "inside it to --config (e.g. \((yamlFile as NSString).appendingPathComponent("config.yaml")))")])
        }
        try YAMLLimits.checkFileSize(path: yamlFile)
        let text: String
        do {
            text = try String(contentsOfFile: yamlFile, encoding: .utf8)
        } catch {
            // errno's words (`Permission denied`), not the Foundation error's code.
            let posix = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)
                .flatMap { $0.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32($0.code))) : nil }
            let reason = posix ?? (FileManager.default.isReadableFile(atPath: yamlFile)
                ? "it is not valid UTF-8 text" : "it cannot be opened for reading")
            throw ConfigError([ConfigProblem(
                "cannot read config file `\(yamlFile)`: expected a readable UTF-8 YAML file (\(reason)); "
                    + "check the path given to --config")])
        }
        return try ConfigLoader.load(text: text, name: yamlFile, preset: preset, overrides: overrides)
    }

    /// Loads a config from YAML (or JSON) text; `sourceName` is what messages
    /// call the document. Otherwise the same as `load(yamlFile:preset:overrides:)`.
    /// - Throws: `ConfigError` with one problem per line.
    public static func load(yamlText: String, sourceName: String = "<config>", preset: [String] = [],
                            overrides: [String] = []) throws -> Config {
        try ConfigLoader.load(text: yamlText, name: sourceName, preset: preset, overrides: overrides)
    }
}

/// One key of the config for references and `--help`-style listings.
public struct ConfigKeyInfo: Equatable, Sendable {
    /// Full dotted key (`actor.clip_ratio_low`; list elements as `merge.models[].model`).
    public var key: String
    /// The default as inline YAML (`0.2`, `"auto"`, `[0.9, 0.999]`, `null`).
    public var defaultValue: String
    /// Accepted alias spellings (full dotted paths).
    public var aliases: [String]
    /// The Swift type declaring the key (e.g. `ActorConfig`); the property is
    /// the camelCase form of the key's last component.
    public var declaringType: String
}

extension Config {
    /// Every leaf key with its default and aliases, in section order.
    public static var keyReference: [ConfigKeyInfo] { ConfigSchema.keyReference() }

    /// The section alias and key alias table: (alias, canonical) dotted paths,
    /// applied in this order.
    public static var aliasTable: [(alias: String, canonical: String)] { ConfigAliases.table }
}
