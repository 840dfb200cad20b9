import Foundation

/// mergekit YAML files (`merge_method`, `base_model`, `models`, `parameters`, `dtype`, `out_dtype`,
/// `tokenizer_source`, `chat_template`):
/// the same schema as the `merge` section of a run config, written at the top level.
///
/// ```yaml
/// models:
///   - model: ./base            # mergekit lists the base too; it becomes the base, not a branch
///   - model: ./teacher-a
///     parameters: {weight: 0.5, density: 0.5}
/// merge_method: ties
/// base_model: ./base
/// parameters: {normalize: true, int8_mask: true}
/// dtype: bfloat16
/// ```
extension MergeConfig {
    /// mergekit methods that exist upstream but are not implemented here (named in the error).
    public static let unimplementedMergekitMethods = [
        "slerp", "nuslerp", "multislerp", "karcher", "passthrough", "model_stock", "breadcrumbs",
        "breadcrumbs_ties", "della", "della_linear", "sce", "arcee_fusion", "nearswap", "ram", "ramplus_tl",
    ]

    /// Top-level mergekit keys with no equivalent here, and what to do instead.
    static let unsupportedMergekitKeys: [String: String] = [
        "slices": "layer slices (frankenmerges) are not supported: every model is merged whole; "
            + "list them under `models`",
        "modules": "per-module configs are not supported: every model is merged whole; list them under `models`",
        "tokenizer": "mergekit's `tokenizer` section (added tokens, union vocabularies, padding) is not supported; "
            + "use `tokenizer_source: base` or a model whose tokenizer has the same vocabulary",
    ]

    /// Loads a mergekit YAML file.
    /// - Throws: `ConfigError` listing every problem (file:line:column, expected, found, what to do).
    public static func load(mergekitFile path: String) throws -> MergeConfig {
        try YAMLLimits.checkFileSize(path: path)
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError([ConfigProblem(
                "cannot read mergekit file `\(path)`: expected a readable UTF-8 YAML file "
                    + "(\(error.localizedDescription)); check the path")])
        }
        return try load(mergekitYAML: text, sourceName: path)
    }

    /// Parses mergekit YAML text; `sourceName` is what messages call the document.
    ///
    /// Keys are checked against the `merge` section's schema (so an unknown key gets a
    /// "did you mean" and the list of valid keys), values are decoded and validated
    /// (`Config.validationProblems` for the `merge` keys). Messages name the key as
    /// written and its run-config path, e.g. `merge_method (= merge.merge_method)`.
    /// mergekit features without an equivalent (`slices`, per-layer parameter lists,
    /// unimplemented methods such as `slerp`) are reported as such.
    /// - Throws: `ConfigError` listing every problem.
    public static func load(mergekitYAML text: String, sourceName: String = "<mergekit>") throws -> MergeConfig {
        var problems: [ConfigProblem] = []
        var doc = try ConfigNode.parse(yaml: text, name: sourceName, problems: &problems)
        guard var entries = doc.entries, !entries.isEmpty else {
            throw ConfigError([ConfigProblem(
                "expected a mergekit config: a mapping with merge_method, models, base_model, parameters, dtype; "
                    + "found \(doc.entries == nil ? doc.shortDescription : "an empty document")",
                source: doc.source)])
        }
        entries = entries.filter { entry in
            guard let why = unsupportedMergekitKeys[entry.key] else { return true }
            problems.append(ConfigProblem("`\(entry.key)`: \(why)", source: entry.keySource))
            return false
        }
        for i in entries.indices {
            entries[i].node.markWritten(entries[i].key)
            switch entries[i].key {
            case "merge_method":
                if let name = entries[i].node.scalarText, MergeMethod.parse(name) == nil,
                   unimplementedMergekitMethods.contains(name) {
                    problems.append(ConfigProblem(
                        "`merge_method`: `\(name)` is a mergekit method this build does not implement; expected one of "
                            + MergeMethod.spellings.joined(separator: ", "), source: entries[i].node.source))
                    entries[i].node = ConfigNode(.null, source: entries[i].node.source)
                }
            case "parameters":
                entries[i].node = scalarParameters(entries[i].node, "parameters", &problems)
            case "models":
                if case var .sequence(items) = entries[i].node.value {
                    for j in items.indices {
                        guard var fields = items[j].entries else { continue }
                        for f in fields.indices where fields[f].key == "parameters" {
                            fields[f].node = scalarParameters(fields[f].node, "models.\(j).parameters", &problems)
                        }
                        items[j].value = .mapping(fields)
                    }
                    entries[i].node.value = .sequence(items)
                }
            default: break
            }
        }
        // A null merge_method (unimplemented, reported above) falls back to the default so
        // decoding goes on and finds the other problems.
        entries.removeAll { $0.key == "merge_method" && $0.node.value == .null }
        doc.value = .mapping(entries)
        let wrapped = ConfigNode(.mapping([ConfigNode.Entry(key: "merge", keySource: doc.source, node: doc)]),
                                 source: doc.source)
        let user = ConfigSchema.check(wrapped, problems: &problems)
        let decodeProblems = DecodeProblems()
        let config = try ConfigTreeDecoder.value(Config.self, ConfigSchema.completed(user), [], decodeProblems)
        problems += decodeProblems.list
        if problems.isEmpty {
            problems += config.validationProblems(learners: 1).filter { $0.message.hasPrefix("merge.") }
        }
        if !problems.isEmpty { throw ConfigError(problems.map(withinMerge)) }
        return config.merge
    }

    /// Drops a "did you mean" that points outside `merge` (a run-config section): in a
    /// mergekit file it would only mislead.
    private static func withinMerge(_ problem: ConfigProblem) -> ConfigProblem {
        guard let start = problem.message.range(of: "did you mean `"),
              let end = problem.message.range(of: "`? ", range: start.upperBound..<problem.message.endIndex),
              !problem.message[start.upperBound...].hasPrefix("merge.") else { return problem }
        var p = problem
        p.message.removeSubrange(start.lowerBound..<end.upperBound)
        return p
    }

    /// mergekit also accepts per-layer gradients (`weight: [0, 0.5, 1]`) and filtered values
    /// (`- filter: self_attn`); only one number per model is supported here.
    private static func scalarParameters(_ node: ConfigNode, _ path: String,
                                         _ problems: inout [ConfigProblem]) -> ConfigNode {
        guard var fields = node.entries else { return node }
        fields.removeAll { field in
            switch field.node.value {
            case .sequence, .mapping:
                problems.append(ConfigProblem(
                    "`\(path).\(field.key)`: expected one number for the whole model, found "
                        + "\(field.node.shortDescription); mergekit's per-layer gradients and filters are not "
                        + "supported here", source: field.node.source))
                return true
            default: return false
            }
        }
        var out = node
        out.value = .mapping(fields)
        return out
    }
}
