/// `data.prompt`: how a benchmark question becomes the text the model reads:
/// the user message (`template`, per benchmark in `benchmarks`), the chat
/// template it is wrapped in and the system message. The defaults give the
/// prompts of earlier versions byte for byte.
public struct PromptConfig: Codable, Equatable, Sendable {
    /// The user message of a benchmark question (verl files and synthetic
    /// families are used as written unless `benchmarks.synthetic` is set);
    /// `{question}` is the question, `{instruction}` the benchmark's answer-format
    /// wording (word problems such as GSM8K: `Let's think step by step and output
    /// the final answer after "####".`; MATH: `… within \boxed{}.`); `{{` and
    /// `}}` write literal braces. Quote it on the command line
    /// (`'data.prompt.template="Q: {question}"'`): YAML reads `{…}` as a mapping. Default: `"{question}\n{instruction}"`.
    public var template: String = PromptTemplate.defaultText
    /// The chat template around the user message: `model` (the model's own
    /// Jinja template from the GGUF `tokenizer.chat_template` or
    /// `tokenizer_config.json`, as transformers' `apply_chat_template` with the
    /// generation prompt; ChatML when the model has none and its vocabulary has
    /// ChatML's tokens, else the raw text), `chatml`, `none` (alias `raw`: the user
    /// message alone) or the path of a Jinja template file (relative to the
    /// working directory). The built-in tiny model always reads the raw text. Default: `"model"`.
    public var chatTemplate: String = ChatTemplateChoice.model.spelling
    /// System message put before the user turn; null = none (a chat template
    /// may add its own default, as SmolLM2's does). Default: `null`.
    public var system: String? = nil

    /// Per-benchmark templates replacing `template` for one data source; null = `template`.
    public var benchmarks: BenchmarkPromptTemplates = BenchmarkPromptTemplates()
    /// The defaults.
    public init() {}

    /// The template text for items of `dataSource` (a benchmark's data source,
    /// or a synthetic family such as `addition:3`), nil when the question is used
    /// as written (synthetic families without `benchmarks.synthetic`).
    public func templateText(dataSource: String, synthetic: Bool) -> String? {
        if synthetic { return benchmarks.synthetic }
        return benchmarks.text(for: dataSource) ?? template
    }

    /// Every template with the key it came from, for validation.
    public var allTemplates: [(key: String, text: String)] {
        [("data.prompt.template", template)] + benchmarks.given.map { ("data.prompt.benchmarks.\($0.key)", $0.text) }
    }

    /// The parsed `chat_template`.
    public var chatTemplateChoice: ChatTemplateChoice { ChatTemplateChoice(parsing: chatTemplate) }
}

/// `data.prompt.benchmarks`: one template per data source (`gsm8k` covers the
/// GSM8K train and test files, whose rows share that source); null = `data.prompt.template`.
public struct BenchmarkPromptTemplates: Codable, Equatable, Sendable {
    /// GSM8K (train and test). Default: `null`.
    public var gsm8k: String? = nil
    /// GSM-Hard. Default: `null`.
    public var gsmHard: String? = nil
    /// SVAMP. Default: `null`.
    public var svamp: String? = nil
    /// ASDiv. Default: `null`.
    public var asdiv: String? = nil
    /// MAWPS. Default: `null`.
    public var mawps: String? = nil
    /// MATH (the 5,000-problem test file). Default: `null`.
    public var math: String? = nil
    /// MATH-500. Default: `null`.
    public var math500: String? = nil
    /// Every synthetic family (`synthetic:<family>`); `{instruction}` is empty
    /// for them. null = the family's question as written. Default: `null`.
    public var synthetic: String? = nil

    /// The defaults.
    public init() {}

    /// The benchmark templates given, keyed by data source (`synthetic` excluded).
    var bySource: [String: String?] {
        ["gsm8k": gsm8k, "gsm_hard": gsmHard, "svamp": svamp, "asdiv": asdiv, "mawps": mawps, "math": math,
         "math500": math500]
    }

    /// The template of benchmark data source `source`, nil when none is given.
    public func text(for source: String) -> String? { bySource[source] ?? nil }

    /// Every template given, with its key, in a fixed order.
    var given: [(key: String, text: String)] {
        let all = bySource.sorted { $0.key < $1.key } + [("synthetic", synthetic)]
        return all.compactMap { k, v in v.map { (k, $0) } }
    }
}

/// The parsed value of `data.prompt.chat_template`.
public enum ChatTemplateChoice: Equatable, Sendable {
    /// The model's own template (ChatML fallback).
    case model
    /// ChatML, whatever the model has.
    case chatML
    /// No chat template: the user message is the whole prompt.
    case none
    /// A Jinja template read from this file.
    case file(String)

    /// The keyword spellings (anything else is a file path).
    public static let keywords = ["model", "chatml", "none", "raw"]

    /// `model`, `chatml`, `none`/`raw`, else a file path.
    public init(parsing text: String) {
        switch text.lowercased() {
        case "model": self = .model
        case "chatml": self = .chatML
        case "none", "raw": self = .none
        default: self = .file(text)
        }
    }

    /// The keyword nearest to a mistyped `text` (`chatlm` → `chatml`), nil when none is close.
    public static func nearestKeyword(_ text: String) -> String? { Spelling.nearest(text.lowercased(), in: keywords) }

    /// The canonical spelling.
    public var spelling: String {
        switch self {
        case .model: return "model"
        case .chatML: return "chatml"
        case .none: return "none"
        case .file(let path): return path
        }
    }
}

extension PromptConfig {
    /// What `Config.validate()` reports about this section: templates that do
    /// not parse, an empty chat template and a system message that raw prompts
    /// would drop. (A template file's existence is checked when the model loads.)
    var problems: [String] {
        var out: [String] = []
        for t in allTemplates {
            do { _ = try PromptTemplate(parsing: t.text, key: t.key) } catch { out.append("\(error)") }
        }
        if chatTemplate.trimmingCharacters(in: .whitespaces).isEmpty {
            out.append("data.prompt.chat_template is empty: expected model, chatml, none or the path of a Jinja "
                       + "template file; use model for the model's own template")
        }
        if let system, chatTemplateChoice == .none {
            out.append("data.prompt.system (\"\(system.prefix(40))\") is set but data.prompt.chat_template is none: "
                       + "a raw prompt has no system turn; set data.prompt.chat_template to model or chatml, or "
                       + "write the text into data.prompt.template and set data.prompt.system to null")
        }
        return out
    }
}
