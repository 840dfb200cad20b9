import Tasks

/// Held-out teacher-forced loss (`trainer.val_loss_examples`): the mean
/// per-token negative log-likelihood of the validation prompts' reference
/// completions under the current model, per source and over all sources,
/// token-weighted (what TRL reports as eval_loss). Each completion ends in EOS
/// and is cut to `data.max_response_length` tokens and to the model's context.
struct ReferenceLoss {
    let ctx: JobContext

    /// The metrics `val-aux/<source>/ref_loss` and `val-core/all/ref_loss`; empty
    /// when no example has a reference completion.
    func metrics() throws -> [String: Double] {
        let examples = try ctx.validationReferences.map { ref -> T3SExample in
            let prompt = try ctx.codec.encode(try ctx.codec.formatPrompt(ref.item.prompt))
            let room = max(1, ctx.model.config.maxSeqLen + 1 - prompt.count)
            let limit = min(room, ctx.config.data.maxResponseLength)
            let completion = Array((try ctx.codec.encode(ref.completion) + [ctx.codec.eos]).prefix(limit))
            return T3SExample(item: ref.item, prompt: prompt, completion: completion)
        }
        guard !examples.isEmpty else { return [:] }
        let logProbs = TokenPriorityWeights.logProbs(model: ctx.model, pad: ctx.codec.pad, examples: examples)
        var sums: [String: (nll: Double, tokens: Int)] = [:]
        for (e, lp) in zip(examples, logProbs) {
            for key in [e.item.dataSource, "all"] {
                let old = sums[key] ?? (0, 0)
                sums[key] = (old.nll - lp.reduce(0.0) { $0 + Double($1) }, old.tokens + lp.count)
            }
        }
        var out: [String: Double] = [:]
        for (key, s) in sums {
            let name = key == "all" ? "val-core/all/ref_loss" : "val-aux/\(key)/ref_loss"
            out[name] = s.nll / Double(max(1, s.tokens))
        }
        return out
    }
}
