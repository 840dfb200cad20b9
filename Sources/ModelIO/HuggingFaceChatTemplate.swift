import Foundation
import Tokenization

/// The chat template of a Hugging Face model folder, found where transformers
/// looks: `chat_template.jinja`, else `chat_template.json`'s `chat_template`,
/// else `tokenizer_config.json`'s `chat_template` (a string, or a list of
/// `{"name", "template"}` from which `templateName` or `"default"` is taken).
/// `bos_token` / `eos_token` come from `tokenizer_config.json`, else
/// `special_tokens_map.json` (a string or an `{"content": …}` added-token
/// object). A folder with no template gives `ModelChatTemplate.chatML`.
///
/// Throws a `ModelIOError` naming the file that is unreadable, malformed, or
/// whose template uses Jinja outside the supported subset.
public func loadChatTemplate(huggingFaceDirectory directory: String, templateName: String? = nil,
                             now: @escaping @Sendable () -> JinjaDateTime = { JinjaDateTime.now() }) throws
    -> ModelChatTemplate {
    let configPath = directory + "/tokenizer_config.json"
    let config = try jsonObject(at: configPath) ?? [:]
    let mapPath = directory + "/special_tokens_map.json"
    let specialTokens = try jsonObject(at: mapPath) ?? [:]
    /// A special token's text from tokenizer_config.json, else from special_tokens_map.json (older folders).
    func token(_ key: String) throws -> String? {
        for (object, path) in [(config, configPath), (specialTokens, mapPath)] {
            switch object[key] {
            case nil, is NSNull: continue
            case let s as String: return s
            case let d as [String: Any]:
                if let s = d["content"] as? String { return s }
                fallthrough
            default:
                throw ModelIOError(.malformed, file: path,
                                   expected: "'\(key)' to be a string or an object with a string 'content'",
                                   found: "\(object[key] ?? "nothing")", remedy: "Fix or re-save the file.")
            }
        }
        return nil
    }
    let bos = try token("bos_token"), eos = try token("eos_token")

    guard let (source, file) = try chatTemplateText(huggingFaceDirectory: directory, templateName: templateName,
                                                    tokenizerConfig: config) else { return .chatML }
    return try parsedChatTemplate(source, bosToken: bos, eosToken: eos, file: file, now: now)
}

/// The raw chat template text of a Hugging Face folder and the file it came from, looked up as
/// `loadChatTemplate(huggingFaceDirectory:)` does; nil when the folder has none.
public func chatTemplateText(huggingFaceDirectory directory: String, templateName: String? = nil) throws
    -> (text: String, file: String)? {
    let config = try jsonObject(at: directory + "/tokenizer_config.json") ?? [:]
    return try chatTemplateText(huggingFaceDirectory: directory, templateName: templateName, tokenizerConfig: config)
}

private func chatTemplateText(huggingFaceDirectory directory: String, templateName: String?,
                              tokenizerConfig config: [String: Any]) throws -> (text: String, file: String)? {
    let jinjaPath = directory + "/chat_template.jinja"
    if FileManager.default.fileExists(atPath: jinjaPath) {
        guard let data = FileManager.default.contents(atPath: jinjaPath), let text = String(data: data, encoding: .utf8)
        else {
            throw ModelIOError(.unreadable, file: jinjaPath, expected: "a readable UTF-8 Jinja template",
                               found: "a file that cannot be read as UTF-8", remedy: "Re-save the template as UTF-8.")
        }
        return (text, jinjaPath)
    }
    let jsonPath = directory + "/chat_template.json"
    if let separate = try jsonObject(at: jsonPath), let value = separate["chat_template"] {
        return (try templateText(value, name: templateName, file: jsonPath), jsonPath)
    }
    let configPath = directory + "/tokenizer_config.json"
    guard let value = config["chat_template"], !(value is NSNull) else { return nil }
    return (try templateText(value, name: templateName, file: configPath), configPath)
}

/// The JSON object in `path`, nil when the file does not exist.
private func jsonObject(at path: String) throws -> [String: Any]? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw ModelIOError(.unreadable, file: path, expected: "a readable JSON file", found: "a file that cannot be read",
                           remedy: "Check the file's permissions.")
    }
    guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
        throw ModelIOError(.wrongFormat, file: path, expected: "a JSON object", found: "something else or invalid JSON",
                           remedy: "Re-save the file from the model's repository.")
    }
    return object
}

/// `chat_template` as a string, or the named entry of its list form.
private func templateText(_ value: Any, name: String?, file: String) throws -> String {
    if let s = value as? String { return s }
    if let list = value as? [[String: Any]] {
        var named: [String: String] = [:]
        for entry in list {
            if let n = entry["name"] as? String, let t = entry["template"] as? String { named[n] = t }
        }
        let wanted = name ?? "default"
        if let t = named[wanted] { return t }
        throw ModelIOError(.missing, file: file, expected: "a chat template named '\(wanted)'",
                           found: "templates named \(named.keys.sorted())",
                           remedy: "Pass one of those names as templateName.")
    }
    throw ModelIOError(.malformed, file: file,
                       expected: "'chat_template' to be a string or a list of {\"name\", \"template\"} objects",
                       found: "a value of another type", remedy: "Fix or re-save the tokenizer config.")
}
