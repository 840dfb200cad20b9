import Foundation
import Tokenization

/// verl's dataset rows as JSONL: `data_source`, `prompt` (a string or a chat
/// list of `{role, content}`), `reward_model.ground_truth` (string or number),
/// optional `ability` and `extra_info`, one object per line. A chat prompt's
/// text is its user turns joined by a blank line; the whole chat (system
/// message included) stays in `TaskExample.messages`.
public enum VerlJSONL {
    /// Reads up to `maxSamples` rows (all when nil), streaming; throws
    /// `DataLoadError` naming file, line and field for malformed rows.
    public static func read(path: String, maxSamples: Int? = nil) throws -> [TaskExample] {
        precondition((maxSamples ?? 0) >= 0, "maxSamples must be non-negative")
        var out: [TaskExample] = []
        if maxSamples == 0 { return out }
        try JSONLReader.forEachRecord(path: path) { r in
            out.append(try example(r))
            return maxSamples.map { out.count < $0 } ?? true
        }
        return out
    }

    /// The example for one verl row.
    static func example(_ r: JSONRecord) throws -> TaskExample {
        let source = try r.string("data_source")
        let prompt: String
        var messages: [ChatMessage]?
        switch try r.value("prompt") {
        case let .string(s):
            prompt = s
        case let .array(items):
            var chat: [ChatMessage] = []
            for (k, item) in items.enumerated() {
                guard case let .object(m) = item, case let .string(role)? = m["role"], case let .string(content)? = m["content"] else {
                    throw DataLoadError.wrongType(path: r.path, line: r.line, field: "prompt[\(k)]",
                                                  expected: "an object {\"role\": string, \"content\": string}",
                                                  found: describe(item))
                }
                chat.append(ChatMessage(role: role, content: content))
            }
            let userTurns = chat.filter { $0.role == "user" }.map(\.content)
            guard !userTurns.isEmpty else {
                throw DataLoadError.badValue(path: r.path, line: r.line, field: "prompt",
                                             detail: "expected a chat with at least one 'user' message, found roles \(chat.map(\.role))")
            }
            // Several user turns (few-shot chats) are kept as one text, in order.
            prompt = userTurns.joined(separator: "\n\n")
            messages = chat
        case let other:
            throw DataLoadError.wrongType(path: r.path, line: r.line, field: "prompt",
                                          expected: "a string or a list of {role, content}", found: other.typeName)
        }
        let reward = try r.value("reward_model")
        guard case let .object(rm) = reward else {
            throw DataLoadError.wrongType(path: r.path, line: r.line, field: "reward_model",
                                          expected: "an object with 'ground_truth'", found: reward.typeName)
        }
        let truth = try JSONRecord(path: r.path, line: r.line, fields: rm, fieldPrefix: "reward_model.").scalarText("ground_truth")
        var extra: [String: String] = [:]
        switch r.fields["extra_info"] {
        case nil, .null?: break
        case let .object(o)?: extra = o.mapValues(\.text)
        case let other?:
            throw DataLoadError.wrongType(path: r.path, line: r.line, field: "extra_info", expected: "an object", found: other.typeName)
        }
        return TaskExample(dataSource: source, prompt: prompt, groundTruth: truth, extraInfo: extra, messages: messages)
    }

    private static func describe(_ v: JSONValue) -> String {
        guard case let .object(m) = v else { return v.typeName }
        return "an object with fields \(m.keys.sorted())"
    }

    /// One example as a verl row (keys sorted, no trailing newline): the prompt
    /// as a chat list (its `messages`, or one user message), `ability` "math",
    /// `reward_model` `{"style": "rule", "ground_truth": …}`, `extra_info`.
    public static func line(_ e: TaskExample) throws -> String {
        let chat = e.messages ?? [ChatMessage(role: "user", content: e.prompt)]
        let row: [String: Any] = [
            "data_source": e.dataSource,
            "prompt": chat.map { ["role": $0.role, "content": $0.content] },
            "ability": "math",
            "reward_model": ["style": "rule", "ground_truth": e.groundTruth],
            "extra_info": e.extraInfo,
        ]
        let data = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// Writes `examples` to `path` atomically (a temporary file renamed into place).
    public static func write(_ examples: [TaskExample], to path: String) throws {
        var text = ""
        for e in examples { text += try line(e) + "\n" }
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw DataLoadError.cannotOpen(path: path, reason: "write failed: \(error.localizedDescription); check the folder exists and is writable")
        }
    }
}
