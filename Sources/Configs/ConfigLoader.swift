/// The loading pipeline: YAML → tree, overrides → tree, aliases → canonical,
/// preset under the file under the overrides, schema check, defaults under it,
/// decode. Problems of every stage after parsing are collected and reported together.
enum ConfigLoader {
    static func load(text: String?, name: String, preset: [String] = [], overrides: [String]) throws -> Config {
        var problems: [ConfigProblem] = []
        var file = ConfigNode.emptyMapping(.file(name: name, line: 1, column: 1))
        if let text {
            file = try ConfigNode.parse(yaml: text, name: name, problems: &problems)
            if file.value == .null { file.value = .mapping([]) }
            guard file.entries != nil else {
                throw ConfigError([ConfigProblem("expected a mapping of sections (data:, rollout:, actor:, …) at the "
                                                     + "top of the document, found \(file.shortDescription)",
                                                 source: file.source)])
            }
        }
        ConfigAliases.normalize(&file, problems: &problems)

        // The preset and the user's overrides are separate trees, each numbered
        // from 1 and each alias-normalized on its own: a user's `num_generations=4`
        // replaces a preset's `rollout.n=8` instead of conflicting with it.
        let fromPreset = tree(of: preset, problems: &problems) { .preset(index: $0, text: $1) }
        let fromCommandLine = tree(of: overrides, problems: &problems) { .override(index: $0, text: $1) }

        let layered = ConfigSchema.overlay(fromCommandLine, onto: ConfigSchema.overlay(file, onto: fromPreset))
        let user = ConfigSchema.check(layered, problems: &problems)
        let decodeProblems = DecodeProblems()
        let config = try ConfigTreeDecoder.value(Config.self, ConfigSchema.completed(user), [], decodeProblems)
        problems += decodeProblems.list
        if !problems.isEmpty { throw ConfigError(problems) }
        return config
    }

    /// The dotted overrides `texts` as one alias-normalized tree; `source`
    /// makes the location of the i-th (1-based) override.
    private static func tree(of texts: [String], problems: inout [ConfigProblem],
                             source: (Int, String) -> ConfigSource) -> ConfigNode {
        var out = ConfigNode.emptyMapping(source(0, ""))
        for (i, text) in texts.enumerated() {
            do {
                let (path, value) = try parseOverride(text, source: source(i + 1, text))
                out.set(path, value, problems: &problems)
            } catch {
                problems += error.problems
            }
        }
        ConfigAliases.normalize(&out, problems: &problems)
        return out
    }

    /// `a.b.c=value` → (["a", "b", "c"], value parsed as YAML). Hydra's `+`
    /// prefix is accepted and ignored (every valid key already exists).
    static func parseOverride(_ text: String, source: ConfigSource) throws(ConfigError) -> ([String], ConfigNode) {
        guard let eq = text.firstIndex(of: "=") else {
            throw ConfigError([ConfigProblem("expected `section.key=value` (e.g. rollout.n=16), found no `=`",
                                             source: source)])
        }
        var key = text[..<eq].trimmingCharacters(in: .whitespaces)
        while key.hasPrefix("+") { key.removeFirst() }
        let path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !key.isEmpty, !path.contains(where: { $0.isEmpty || $0.contains(" ") }) else {
            throw ConfigError([ConfigProblem("expected a dotted key like actor.optim.lr before `=`, found `\(key)`",
                                             source: source)])
        }
        let raw = String(text[text.index(after: eq)...])
        var value = try ConfigNode.parseOverrideValue(raw, source: source)
        value.markWritten(key)
        return (path, value)
    }
}
