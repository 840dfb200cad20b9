import Foundation
import Merging
import ModelIO

/// mergekit's `tokenizer_source` and `chat_template` for `ispo-cluster merge`.
///
/// - `tokenizer_source` null: the donor's tokenizer files (base model, else first model) are
///   copied — or, for a GGUF donor, written from its metadata.
/// - `tokenizer_source: base` or a model path: that tokenizer, when its vocabulary is the one
///   the embeddings already use (same token → id map as the donor's, and exactly as many tokens
///   as embedding rows). mergekit would otherwise permute or resize the embedding rows, which is
///   not done here; `union` (a merged vocabulary) is not supported either.
/// - `chat_template`: a Jinja template given literally (mergekit's rule: a `{` and at least 20
///   characters), or `auto` — the template most input models carry (stripped, as mergekit
///   does; a tie goes to the donor, then to the models in listed order). It is written to
///   `chat_template.jinja`, which transformers prefers to any other copy.
enum MergeTokenizer {
    /// Names of the templates mergekit ships; their text is not copied into this project.
    static let mergekitTemplateNames = ["alpaca", "chatml", "exaone", "llama3", "mistral"]

    /// The path whose tokenizer the output takes. `tokenizerSource` as written in the config
    /// (resolved with `resolve`), `donor` the base or first model, `vocabSize` the embedding rows.
    static func source(_ tokenizerSource: String?, donor: String, vocabSize: Int,
                       resolve: (String) -> String) throws -> String {
        guard let tokenizerSource else { return donor }
        if tokenizerSource == "union" {
            throw MergeError("tokenizer_source", expected: "`base` or a model whose tokenizer has the same vocabulary",
                             found: "`union`",
                             remedy: "A merged vocabulary (mergekit permutes every model's embedding rows for it) is "
                                + "not supported; use `base`, or remove tokenizer_source to copy the base's tokenizer.")
        }
        let source = tokenizerSource == "base" ? donor : resolve(tokenizerSource)
        guard TokenizerFiles.hasTokenizer(source) else {
            throw MergeError("tokenizer_source `\(tokenizerSource)`",
                             expected: "a Hugging Face folder with tokenizer.json, or a .gguf file",
                             found: "`\(source)` without a tokenizer",
                             remedy: "Name a local model folder that has its tokenizer files (Hub ids are not "
                                + "downloaded here).")
        }
        guard let vocabulary = try vocabulary(of: source) else {
            throw MergeError("tokenizer_source `\(tokenizerSource)`", expected: "tokenizer.json, to check its vocabulary",
                             found: "only tokenizer.model in `\(source)`",
                             remedy: "Remove tokenizer_source to copy the base's tokenizer files as they are.")
        }
        guard vocabulary.count == vocabSize, Set(vocabulary.values) == Set(0..<vocabSize) else {
            throw MergeError("tokenizer_source `\(tokenizerSource)`",
                             expected: "ids 0..<\(vocabSize), one per embedding row",
                             found: "\(vocabulary.count) tokens in `\(source)`",
                             remedy: "mergekit would resize the embeddings to the tokenizer, which is not done here; "
                                + "remove tokenizer_source to keep every row and the base's tokenizer files.")
        }
        if source != donor, TokenizerFiles.hasTokenizer(donor), let donorVocabulary = try self.vocabulary(of: donor),
           donorVocabulary != vocabulary {
            let differing = vocabulary.filter { donorVocabulary[$0.key] != $0.value }.keys.sorted().prefix(3)
            throw MergeError("tokenizer_source `\(tokenizerSource)`",
                             expected: "the vocabulary of `\(donor)` (the embeddings are indexed by it)",
                             found: "other ids, e.g. for \(differing.map { "`\($0)`" }.joined(separator: ", "))",
                             remedy: "mergekit would permute the embedding rows, which is not done here; use "
                                + "`tokenizer_source: base`, or a tokenizer with the same vocabulary.")
        }
        return source
    }

    /// token → id of the tokenizer at `path`: `tokenizer.json`'s model vocabulary (a map, or
    /// Unigram's list) and its added tokens, or a GGUF file's tokens; nil when a folder has no
    /// tokenizer.json.
    static func vocabulary(of path: String) throws -> [String: Int]? {
        if TokenizerFiles.isFolder(path) == false {
            let tokens = try tokenizerSpec(from: GGUFFile(path: path)).tokens
            return Dictionary(tokens.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        }
        let file = path + "/tokenizer.json"
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let model = json["model"] as? [String: Any] else {
            throw MergeError("`\(file)`", expected: "a tokenizer.json object with a `model`", found: "something else",
                             remedy: "Re-save the tokenizer from its model repository.")
        }
        var out: [String: Int] = [:]
        if let map = model["vocab"] as? [String: Int] {
            out = map
        } else if let list = model["vocab"] as? [[Any]] {
            for (id, entry) in list.enumerated() { if let token = entry.first as? String { out[token] = id } }
        }
        for added in json["added_tokens"] as? [[String: Any]] ?? [] {
            if let token = added["content"] as? String, let id = added["id"] as? Int { out[token] = id }
        }
        return out
    }

    /// The template `setting` asks for, nil for none. `models`: the donor first, then the models
    /// in listed order (for `auto`).
    static func chatTemplate(_ setting: String?, models: [String]) throws -> String? {
        guard let setting else { return nil }
        if setting == "auto" {
            var counts: [String: Int] = [:], order: [String] = []
            for m in models {
                guard let t = try template(of: m)?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty
                else { continue }
                if counts[t] == nil { order.append(t) }
                counts[t, default: 0] += 1
            }
            let best = counts.values.max() ?? 0
            return order.first { counts[$0] == best }
        }
        if mergekitTemplateNames.contains(setting) {
            throw MergeError("chat_template", expected: "a Jinja template or `auto`", found: "mergekit's bundled name `\(setting)`",
                             remedy: "mergekit's bundled templates are not part of this project: paste the template "
                                + "text (from a model that uses it) as chat_template.")
        }
        guard setting.count >= 20, setting.contains("{") else {
            throw MergeError("chat_template", expected: "a Jinja template (with `{`, at least 20 characters) or `auto`",
                             found: "`\(setting)`", remedy: "Give the template text, or `auto` to take the models' own.")
        }
        return setting
    }

    /// The chat template a model carries: a Hugging Face folder's, or a GGUF file's metadata.
    static func template(of model: String) throws -> String? {
        switch TokenizerFiles.isFolder(model) {
        case true?: return try chatTemplateText(huggingFaceDirectory: model)?.text
        case false? where model.hasSuffix(".gguf"): return try tokenizerSpec(from: GGUFFile(path: model)).chatTemplate
        default: return nil
        }
    }

    /// Writes `template` to `chat_template.jinja` in `folder` and drops any other copy (the
    /// `chat_template` of tokenizer_config.json, chat_template.json), so no reader sees another.
    static func write(template: String, to folder: String) throws {
        let fm = FileManager.default
        try Data(template.utf8).write(to: URL(fileURLWithPath: folder + "/chat_template.jinja"), options: .atomic)
        try? fm.removeItem(atPath: folder + "/chat_template.json")
        let configPath = folder + "/tokenizer_config.json"
        if let data = fm.contents(atPath: configPath),
           var config = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], config["chat_template"] != nil {
            config["chat_template"] = nil
            let out = try JSONSerialization.data(withJSONObject: config,
                                                 options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try out.write(to: URL(fileURLWithPath: configPath), options: .atomic)
        }
    }
}
