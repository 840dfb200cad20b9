/// The loading pipeline: YAML → tree, overrides → tree, aliases → canonical,
/// overrides over the file, schema check, defaults under it, decode. Problems
/// of every stage after parsing are collected and reported together.
enum ConfigLoader {
    static func load(text: String?, name: String, overrides: [String]) throws -> Config {
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

        var fromCommandLine = ConfigNode.emptyMapping(.override(index: 0, text: ""))
        for (i, text) in overrides.enumerated() {
            do {
                let (path, value) = try parseOverride(text, index: i + 1)
                fromCommandLine.set(path, value, problems: &problems)
            } catch let error as ConfigError {
                problems += error.problems
            }
        }
        ConfigAliases.normalize(&fromCommandLine, problems: &problems)

        let user = ConfigSchema.check(ConfigSchema.overlay(fromCommandLine, onto: file), problems: &problems)
        let decodeProblems = DecodeProblems()
        let config = try ConfigTreeDecoder.value(Config.self, ConfigSchema.completed(user), [], decodeProblems)
        problems += decodeProblems.list
        if !problems.isEmpty { throw ConfigError(problems) }
        return config
    }

    /// `a.b.c=value` → (["a", "b", "c"], value parsed as YAML). Hydra's `+`
    /// prefix is accepted and ignored (every valid key already exists).
    static func parseOverride(_ text: String, index: Int) throws -> ([String], ConfigNode) {
        let source = ConfigSource.override(index: index, text: text)
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
        var value = try ConfigNode.parseOverrideValue(raw, index: index, whole: text)
        value.markWritten(key)
        return (path, value)
    }
}
