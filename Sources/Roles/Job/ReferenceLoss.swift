import Foundation
import Tasks

/// Held-out teacher-forced loss (`trainer.val_loss_examples`): the mean
/// per-token negative log-likelihood of the validation prompts' reference
/// completions under the current model, per source and over all sources,
/// token-weighted (what TRL reports as eval_loss). Each completion ends in EOS
/// and is cut to `data.max_response_length` tokens and to the model's context.
struct ReferenceLoss {
    /// One reference completion's summed NLL.
    struct Item {
        var index: Int
        var dataSource: String
        var tokens: Int
        var nll: Double
    }

    /// The folder under the run directory for the per-example values.
    static let folder = "ref_loss"

    let ctx: JobContext

    /// Every reference completion's summed NLL and token count, in validation order.
    func items() throws -> [Item] {
        let examples = try ctx.validationReferences.map { ref -> T3SExample in
            let prompt = try ctx.codec.encode(try ctx.codec.formatPrompt(ref.item.prompt))
            let room = max(1, ctx.model.config.maxSeqLen + 1 - prompt.count)
            let limit = min(room, ctx.config.data.maxResponseLength)
            let completion = Array((try ctx.codec.encode(ref.completion) + [ctx.codec.eos]).prefix(limit))
            return T3SExample(item: ref.item, prompt: prompt, completion: completion)
        }
        guard !examples.isEmpty else { return [] }
        let logProbs = CompletionBatch.logProbs(model: ctx.model, pad: ctx.codec.pad, examples: examples, chunk: ctx.scoringChunk)
        return zip(examples, logProbs).enumerated().map { i, pair in
            Item(index: i, dataSource: pair.0.item.dataSource, tokens: pair.1.count,
                 nll: -pair.1.reduce(0.0) { $0 + Double($1) })
        }
    }

    /// `val-aux/<source>/ref_loss` and `val-core/all/ref_loss` of `items`; empty when there are none.
    static func metrics(_ items: [Item]) -> [String: Double] {
        var sums: [String: (nll: Double, tokens: Int)] = [:]
        for item in items {
            for key in [item.dataSource, "all"] {
                let old = sums[key] ?? (0, 0)
                sums[key] = (old.nll + item.nll, old.tokens + item.tokens)
            }
        }
        var out: [String: Double] = [:]
        for (key, s) in sums {
            out[key == "all" ? "val-core/all/ref_loss" : "val-aux/\(key)/ref_loss"] = s.nll / Double(max(1, s.tokens))
        }
        return out
    }

    /// Writes `<directory>/ref_loss/<step>.jsonl`, one line per completion
    /// (index, data_source, tokens, nll: the summed NLL), atomically, for paired
    /// comparisons of runs on the same completions.
    static func write(_ items: [Item], step: Int, directory: String) throws {
        let dir = directory + "/" + folder
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var text = ""
        for item in items {
            let obj: [String: Any] = ["index": item.index, "data_source": item.dataSource, "tokens": item.tokens, "nll": item.nll]
            text += String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self) + "\n"
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(dir)/\(step).jsonl"), options: .atomic)
    }
}
