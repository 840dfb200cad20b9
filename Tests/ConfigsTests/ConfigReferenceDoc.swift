import Foundation
@testable import Configs

/// Builds Docs/ConfigReference.md from the Swift definitions: keys, defaults
/// and aliases from `Config.keyReference`, meanings from the `///` comments of
/// the section properties in Sources/Configs, allowed values from the choice
/// types. A test compares it with the file, so the doc cannot drift.
enum ConfigReferenceDoc {
    /// The package root (three levels above this file).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Allowed spellings of every choice type, by type name.
    static let choices: [String: [String]] = [
        "AdvantageEstimator": AdvantageEstimator.spellings, "LossAggMode": LossAggMode.spellings,
        "KLLossType": KLLossType.spellings, "LRSchedulerType": LRSchedulerType.spellings,
        "ISPOSetMode": ISPOSetMode.spellings, "ISPODrift": ISPODrift.spellings, "ISPOTokenCredit": ISPOTokenCredit.spellings,
        "DistillationMode": DistillationMode.spellings, "DistillationTrigger": DistillationTrigger.spellings,
        "DistillationBoundary": DistillationBoundary.spellings,
        "MoTBaselineBudget": MoTBaselineBudget.spellings,
        "MergeMethod": MergeMethod.spellings, "MoTBaseline": MoTBaseline.spellings,
        "ComputeDType": ComputeDType.spellings, "CheckpointDType": CheckpointDType.spellings,
        "NaNPolicy": NaNPolicy.spellings, "Pipeline": Pipeline.spellings,
        "T3SArm": T3SArm.spellings, "T3SVariant": T3SVariant.spellings,
        "PriorityMode": PriorityMode.spellings, "PriorityTestbed": PriorityTestbed.spellings,
        "P2DArm": P2DArm.spellings, "P2DDataScore": P2DDataScore.spellings,
    ]

    /// A documented stored property of a section type.
    struct Property {
        /// The `///` text, lines joined by spaces.
        var doc: String
        /// The declared Swift type (`Int`, `[String]`, `LossAggMode`, `Double?`).
        var type: String
    }

    /// Type name → property name → doc and type, read from the section sources.
    static func properties() throws -> [String: [String: Property]] {
        let dir = root.appendingPathComponent("Sources/Configs")
        var out: [String: [String: Property]] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where file.hasSuffix(".swift") {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            var type = "", pending: [String] = []
            for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if raw.hasPrefix("public struct ") || raw.hasPrefix("public enum ") || raw.hasPrefix("struct ") {
                    type = raw.split(separator: " ").drop(while: { $0 != "struct" && $0 != "enum" }).dropFirst()
                        .first.map { String($0.prefix(while: { $0.isLetter || $0.isNumber })) } ?? ""
                }
                if line.hasPrefix("///") {
                    pending.append(line.dropFirst(3).trimmingCharacters(in: .whitespaces))
                    continue
                }
                if line.hasPrefix("public var "), let colon = line.firstIndex(of: ":") {
                    let name = String(line[line.index(line.startIndex, offsetBy: 11)..<colon])
                    let rest = line[line.index(after: colon)...]
                    let declared = rest.split(separator: "=").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                    out[type, default: [:]][name] = Property(doc: pending.joined(separator: " "), type: declared)
                }
                pending = []
            }
        }
        return out
    }

    /// The property behind a key: (declaring type, camelCase name) looked up by snake_case.
    static func property(for info: ConfigKeyInfo, in props: [String: [String: Property]]) -> Property? {
        let leaf = info.key.split(separator: ".").last.map(String.init) ?? ""
        return props[info.declaringType]?.first(where: { KeyNaming.snakeCase($0.key) == leaf })?.value
    }

    /// Splits "Meaning. Default: `x`." into ("Meaning.", "x").
    static func splitDefault(_ doc: String) -> (meaning: String, documentedDefault: String?) {
        guard let r = doc.range(of: "Default: `", options: .backwards),
              let end = doc[r.upperBound...].firstIndex(of: "`") else { return (doc, nil) }
        let meaning = doc[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
        return (meaning, String(doc[r.upperBound..<end]))
    }

    /// True when the documented default names the same value as the real one.
    static func sameDefault(_ documented: String, _ actual: String) -> Bool {
        func strip(_ s: String) -> String {
            s.count >= 2 && s.hasPrefix("\"") && s.hasSuffix("\"") ? String(s.dropFirst().dropLast()) : s
        }
        let a = strip(documented), b = strip(actual)
        if let x = Double(a), let y = Double(b) { return x == y }
        return a == b
    }

    /// The Swift type of the mapping at `path` of the schema (`merge.models[]` = a list element).
    static func typeName(at path: [String]) -> String? {
        var node: ConfigNode? = ConfigSchema.defaults
        var walked: [String] = []
        for part in path {
            if part.hasSuffix("[]") {
                walked.append(String(part.dropLast(2)))
                node = ConfigSchema.elementTemplates[walked.joined(separator: ".")]
            } else {
                walked.append(part)
                node = node?[part]
            }
        }
        return node?.typeName
    }

    private static func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }

    /// The whole Markdown document.
    static func markdown() throws -> String {
        let props = try properties()
        var lines = header
        let sectionDocs = props["Config"] ?? [:]
        let keys = Config.keyReference
        var section = "", subsection = ""
        for info in keys {
            let parts = info.key.split(separator: ".").map(String.init)
            if parts[0] != section {
                section = parts[0]
                let aliases = Config.aliasTable.filter { $0.canonical == section }.map { "`\($0.alias)`" }
                let doc = sectionDocs.first(where: { KeyNaming.snakeCase($0.key) == section })?.value.doc ?? ""
                lines += ["", "## `\(section)`" + (aliases.isEmpty ? "" : " (alias \(aliases.joined(separator: ", ")))"),
                          "", doc, "", "| key | default | meaning | aliases |", "|---|---|---|---|"]
            }
            let parent = Array(parts.dropLast())
            if parent.count >= 2, parent.joined(separator: ".") != subsection, !(parent.last ?? "").hasSuffix("[]") {
                subsection = parent.joined(separator: ".")
                let owner = typeName(at: Array(parent.dropLast())) ?? ""
                let doc = props[owner]?.first(where: { KeyNaming.snakeCase($0.key) == parent.last })?.value.doc ?? ""
                let aliases = Config.aliasTable.filter { $0.canonical == subsection }.map { "`\($0.alias)`" }
                lines.append("| `\(subsection)` | (section) | \(cell(doc)) | \(aliases.joined(separator: ", ")) |")
            }
            let prop = property(for: info, in: props)
            var meaning = splitDefault(prop?.doc ?? "").meaning
            if let type = prop?.type, let values = choices[type] {
                meaning += " One of: " + values.map { "`\($0)`" }.joined(separator: ", ") + "."
            }
            let aliases = info.aliases.map { "`\($0)`" }.joined(separator: ", ")
            lines.append("| `\(info.key)` | `\(cell(info.defaultValue))` | \(cell(meaning)) | \(aliases) |")
        }
        lines += ["", "## Hard limits", "",
                  "Upper bounds on the keys that size something (`ConfigBounds.sizeLimits`); a larger value is refused",
                  "by `Config.validate()` with a message naming the key. Whether a run fits in memory is checked",
                  "separately (`MemoryEstimate`).", "", "| key | at most | counts |", "|---|---|---|"]
        lines += ConfigBounds.sizeLimits.map { "| `\($0.key)` | \($0.max) | \($0.counts) |" }
        return lines.joined(separator: "\n") + "\n"
    }

    private static let header = [
        "# Config reference",
        "",
        "<!-- Generated from Sources/Configs by Tests/ConfigsTests/ConfigReferenceDoc.swift; do not edit by hand.",
        "     Regenerate: UPDATE_CONFIG_REFERENCE=1 swift test --scratch-path .build-cfg --filter ConfigReferenceTests -->",
        "",
        "A run is configured by one YAML file plus dotted command-line overrides:",
        "",
        "```bash",
        "ispo-cluster rl --config Launch/gsm8k-ispo.yaml rollout.n=16 actor.optim.betas=[0.9,0.95] trainer.total_steps=200",
        "```",
        "",
        "- **Precedence**: built-in defaults < the file < the overrides, in order (a later override of the same key wins).",
        "  Override values are YAML: `8`, `1e-5`, `true`, `null`, `[a, b]`, `{weight: 0.5}`; quote strings that look",
        "  like something else. List elements are addressed by index: `merge.models.0.parameters.weight=0.5`.",
        "- **Keys** are verl's names. TRL, NeMo-RL and older verl names are accepted as aliases (last column and the",
        "  section headings); giving an alias and its key with different values is an error naming both.",
        "- **Unknown keys are errors** naming the full key, file:line (or the override number) and the nearest valid",
        "  key, including keys of other sections (`rollout.clip_ratio_low` → `actor.clip_ratio_low`). Type errors name",
        "  the expected type and the value found. All problems are reported at once.",
        "- **Validation** (`Config.validate()`) checks the rules between keys: G ≥ 2 for GRPO, batch arithmetic",
        "  (`data.train_batch_size` × `rollout.n` divisible by `actor.ppo_mini_batch_size` × `rollout.n`, and that by",
        "  `actor.ppo_micro_batch_size_per_gpu` × learners), clip ranges, `algorithm.ispo.lambda_seq + lambda_tok ≤ 0.4`,",
        "  lengths against `model.tiny.max_seq_len`, merge weights, checkpoint settings.",
        "- **Limits**: every number must be finite (`.nan`, `.inf` and literals beyond ±1.8e308 such as `1e309` are",
        "  refused, naming the key); keys that size something have hard upper bounds (table at the end). With the",
        "  built-in tiny model, `ispo-cluster run` also refuses a config whose memory estimate (parameters, gradients,",
        "  AdamW moments, the rollout batch's KV caches, one micro-batch of activations) exceeds the machine's RAM,",
        "  and prints the estimate part by part. A YAML document may have at most \(YAMLLimits.maxDocumentBytes) bytes, nest lists and",
        "  mappings at most \(YAMLLimits.maxNestingDepth) deep and expand to at most \(YAMLLimits.maxExpandedValues) values once its aliases",
        "  (`*name`) are replaced by their anchors.",
        "- **Presets**: the default job's settings (`DefaultJob` in Sources/ispo-cluster/RunCommand.swift) apply whenever",
        "  `ispo-cluster run` gets no `--config`, under your overrides (a `trainer.pipeline=` override included: the",
        "  Launch and sbatch scripts run their pipelines on top of it). The leader logs `using the built-in default job",
        "  preset (…)` with its settings, and `<run>/config.yaml` holds every resolved key. With a file the run starts",
        "  from the plain defaults below. Messages number only your own overrides (`command-line override 1` is the",
        "  first you wrote).",
        "- **Data files**: `data.train_files` / `data.val_files` take verl's JSONL rows (`prompt` a string or a chat",
        "  list `[{role, content}]`: the user turns are the prompt, a system message is kept for the chat template;",
        "  `reward_model.ground_truth`; `data_source` picks the verifier, e.g. `openai/gsm8k` → GSM8K's `####`,",
        "  `lighteval/MATH` → `\\boxed{}`, unknown sources → automatic; `extra_info`), used as written (no instruction",
        "  is appended). Parquet is not read directly: no maintained Swift parquet reader exists among the packages",
        "  this project may depend on (reading it needs Thrift metadata plus Snappy/zstd/gzip pages), so convert",
        "  verl's parquet files once with `python3 Launch/parquet-to-jsonl.py in.parquet out.jsonl` (pyarrow). A",
        "  mistyped path is reported as \"no such file\" naming the key and the path.",
        "- **Prompts** (`data.prompt`): a benchmark question becomes the user message `data.prompt.template`",
        "  (`{question}`, `{instruction}` = the benchmark's answer-format wording; default: the question, a newline,",
        "  the instruction), or its `data.prompt.benchmarks.<source>` entry (`gsm8k`, `svamp`, `math500`, …,",
        "  `synthetic` for every synthetic family); that message is wrapped by `data.prompt.chat_template` (`model`:",
        "  the model's own Jinja template as transformers' `apply_chat_template` renders it, `chatml`, `none`, or a",
        "  template file) after `data.prompt.system`. An unknown placeholder, a template without `{question}`, a",
        "  mistyped benchmark name or a missing template file is an error naming the key, what was expected and the",
        "  nearest valid value. Evaluations save each prompt as rendered (`rendered_prompt`, `prompt_ids`).",
        "- `ispo-cluster run --sft-steps N --sft-batch B --sft-lr LR` are aliases of `sft.steps`, `sft.batch_size` and",
        "  `sft.lr`; a given flag wins over the key.",
        "- **null** means \"derive it\" where the meaning says so; a list key also accepts a single value.",
        "- `Config.resolvedYAML()` writes every key (loadable again with `--config`) for the leader to print and save",
        "  with the run; `Config.json()` is the same config as one JSON line for checkpoints and metrics.",
        "",
        "Keys inside list elements are written `list[].key` (e.g. `merge.models[].model`).",
    ]
}
