/// The set of valid keys, derived by encoding the defaults (so it cannot drift
/// from the section types), and the checks of a user tree against it.
enum ConfigSchema {
    /// Every key with its default; nil optionals appear as nulls.
    static let defaults: ConfigNode = ConfigTreeEncoder.tree(Config())

    /// Schemas of list elements that are mappings, by the list's dotted path.
    static let elementTemplates: [String: ConfigNode] = ["merge.models": ConfigTreeEncoder.tree(MergeModel())]

    /// Every dotted path of the schema (sections and leaves), for suggestions across sections.
    static let allPaths: [[String]] = {
        var out: [[String]] = []
        func walk(_ node: ConfigNode, _ path: [String]) {
            guard let entries = node.entries else { return }
            for e in entries {
                out.append(path + [e.key])
                walk(e.node, path + [e.key])
            }
        }
        walk(defaults, [])
        return out
    }()

    // MARK: Checking

    /// Returns `user` with unknown keys and shape mismatches removed (each
    /// reported) and single values for lists wrapped into one-element lists.
    static func check(_ user: ConfigNode, problems: inout [ConfigProblem]) -> ConfigNode {
        check(user, schema: defaults, path: [], problems: &problems) ?? .emptyMapping(user.source)
    }

    private static func check(_ user: ConfigNode, schema: ConfigNode, path: [String],
                              problems: inout [ConfigProblem]) -> ConfigNode? {
        let shown = ConfigTreeDecoder.display(path, user)
        switch schema.value {
        case let .mapping(valid):
            if user.value == .null { return .emptyMapping(user.source) }
            guard case let .mapping(entries) = user.value else {
                problems.append(ConfigProblem("`\(shown)`: expected a section (mapping) with keys "
                                                  + "\(valid.map(\.key).joined(separator: ", ")), found "
                                                  + "\(user.shortDescription); indent its keys under it",
                                              source: user.source))
                return nil
            }
            var kept: [ConfigNode.Entry] = []
            for var entry in entries {
                guard let childSchema = schema[entry.key] else {
                    problems.append(unknownKey(entry, parent: path, valid: valid.map(\.key)))
                    continue
                }
                guard let child = check(entry.node, schema: childSchema, path: path + [entry.key],
                                        problems: &problems) else { continue }
                entry.node = child
                kept.append(entry)
            }
            var out = user
            out.value = .mapping(kept)
            return out
        case .sequence:
            var list = user
            switch user.value {
            case .null: list.value = .sequence([])
            case .scalar: list.value = .sequence([user])
            case .sequence: break
            case .mapping:
                problems.append(ConfigProblem("`\(shown)`: expected a list like [a, b], found \(user.shortDescription)",
                                              source: user.source))
                return nil
            }
            guard case let .sequence(items) = list.value else { return nil }
            let template = elementTemplates[path.joined(separator: ".")]
            var kept: [ConfigNode] = []
            for (i, item) in items.enumerated() {
                if let template {
                    if let c = check(item, schema: template, path: path + ["\(i)"], problems: &problems) { kept.append(c) }
                } else if case .scalar = item.value {
                    kept.append(item)
                } else {
                    problems.append(ConfigProblem("`\(shown).\(i)`: expected a single value in this list, found "
                                                      + item.shortDescription, source: item.source))
                }
            }
            list.value = .sequence(kept)
            return list
        case .scalar, .null:
            switch user.value {
            case .scalar, .null: return user
            default:
                problems.append(ConfigProblem("`\(shown)`: expected a single value (default "
                                                  + "\(schema.shortDescription)), found \(user.shortDescription)",
                                              source: user.source))
                return nil
            }
        }
    }

    /// "unknown key `rollout.clip_ratio_low`; did you mean `actor.clip_ratio_low`?" plus the valid keys.
    private static func unknownKey(_ entry: ConfigNode.Entry, parent: [String], valid: [String]) -> ConfigProblem {
        let full = (parent + [entry.key]).joined(separator: ".")
        let written = entry.node.writtenPath.map { $0 != full ? "\($0) (= \(full))" : full } ?? full
        var suggestion: String?
        // Inside a list element (merge.models.0) the key may belong one level
        // deeper; otherwise the same key in another section is the likeliest
        // mistake, then a typo of a key of this section, then of any key.
        let listPath = parent.dropLast().joined(separator: ".")
        if let last = parent.last, Int(last) != nil, let template = elementTemplates[listPath],
           let deeper = template.entries?.first(where: { $0.node[entry.key] != nil }) {
            suggestion = (parent + [deeper.key, entry.key]).joined(separator: ".")
        } else if let elsewhere = allPaths.first(where: { $0.last == entry.key && Array($0.dropLast()) != parent }) {
            suggestion = elsewhere.joined(separator: ".")
        } else if let near = Spelling.nearest(entry.key, in: valid + ConfigAliases.aliasChildren(of: parent)) {
            suggestion = (parent + [near]).joined(separator: ".")
        } else if let near = Spelling.nearest(entry.key, in: allPaths.compactMap(\.last)),
                  let path = allPaths.first(where: { $0.last == near }) {
            suggestion = path.joined(separator: ".")
        }
        let scope = parent.isEmpty ? "valid sections" : "valid keys in \(parent.joined(separator: "."))"
        let hint = suggestion.map { "did you mean `\($0)`? " } ?? ""
        return ConfigProblem("unknown key `\(written)`; \(hint)(\(scope): \(valid.joined(separator: ", ")))",
                             source: entry.keySource)
    }

    // MARK: Merging

    /// `over` on top of `base`: mappings merge key by key, anything else is
    /// replaced. A mapping with integer keys patches list elements
    /// (`merge.models.0.parameters.weight=0.5`).
    static func overlay(_ over: ConfigNode, onto base: ConfigNode) -> ConfigNode {
        switch (base.value, over.value) {
        case let (.mapping(b), .mapping(o)):
            var entries = b
            for e in o {
                if let i = entries.firstIndex(where: { $0.key == e.key }) {
                    entries[i].node = overlay(e.node, onto: entries[i].node)
                    entries[i].keySource = e.keySource
                } else {
                    entries.append(e)
                }
            }
            var out = base
            out.value = .mapping(entries)
            return out
        case let (.sequence(items), .mapping(o)) where o.allSatisfy({ Int($0.key).map { items.indices.contains($0) } ?? false }):
            var patched = items
            for e in o { if let i = Int(e.key) { patched[i] = overlay(e.node, onto: patched[i]) } }
            var out = base
            out.value = .sequence(patched)
            return out
        default:
            return over
        }
    }

    /// The checked user tree over the defaults: every key present, so the
    /// synthesized decoders find all of them; list elements over their template.
    static func completed(_ user: ConfigNode) -> ConfigNode {
        completed(user, schema: defaults, path: [])
    }

    private static func completed(_ user: ConfigNode, schema: ConfigNode, path: [String]) -> ConfigNode {
        switch (schema.value, user.value) {
        case let (.mapping(valid), .mapping(given)):
            var out = schema
            out.source = user.source
            out.writtenPath = user.writtenPath
            out.value = .mapping(valid.map { v in
                guard let g = given.first(where: { $0.key == v.key }) else { return v }
                return ConfigNode.Entry(key: v.key, keySource: g.keySource,
                                        node: completed(g.node, schema: v.node, path: path + [v.key]))
            })
            return out
        case let (.sequence, .sequence(items)):
            guard let template = elementTemplates[path.joined(separator: ".")] else { return user }
            var out = user
            out.value = .sequence(items.map { completed($0, schema: template, path: []) })
            return out
        default:
            return user
        }
    }

    // MARK: Reference

    /// Every leaf key with its default, aliases and declaring type.
    static func keyReference() -> [ConfigKeyInfo] {
        var out: [ConfigKeyInfo] = []
        func walk(_ node: ConfigNode, _ path: [String]) {
            guard let entries = node.entries else { return }
            for e in entries {
                let dotted = (path + [e.key]).joined(separator: ".")
                if e.node.entries != nil {
                    walk(e.node, path + [e.key])
                    continue
                }
                out.append(ConfigKeyInfo(key: dotted, defaultValue: ConfigPrinter.inline(e.node),
                                         aliases: ConfigAliases.aliases(of: dotted), declaringType: node.typeName ?? ""))
                if let template = elementTemplates[dotted] { walk(template, path + [e.key + "[]"]) }
            }
        }
        walk(defaults, [])
        return out
    }
}
