import Layers
import Tensors

/// Why a sequence stopped.
public enum FinishReason: String, Sendable, Codable {
    /// Emitted a stop token.
    case stop
    /// Reached `maxNewTokens` or the model's maximum length.
    case length
}

/// A completion with the per-token statistics RL needs.
public struct Completion: Sendable {
    /// New tokens (excluding the prompt; including the stop token if any).
    public var tokens: [Int32]
    /// log π(token) of each new token under the sampling temperature.
    public var logProbs: [Float]
    /// Entropy of each step's distribution.
    public var entropies: [Float]
    /// Why it ended.
    public var finishReason: FinishReason
}

extension Model {
    /// Runs `body` (a decode loop of `extend` calls on a batch of `rows`
    /// sequences) on a packed snapshot of the current weights, as `generate`
    /// does, so a hand-written decode loop gets the same speed and the same
    /// bits. The snapshot is retired when `body` returns; the weights must not
    /// change inside `body`.
    public func withPackedDecodeWeights<T>(rows: Int, _ body: () throws -> T) rethrows -> T {
        let packed = preparePackedWeights(rows: rows)
        defer { packed?.valid = false }
        return try body()
    }

    /// Batched generation: prefill every prompt, then decode all unfinished
    /// sequences together one token per step. Sequence i draws from its own
    /// `Rng(seed: seeds[i])`, so its tokens do not depend on what else is in the batch.
    /// An `observer` sees the residual of every position and the temperature-1
    /// statistics of every drawn token (see `GenerationObserver`). Its extra
    /// last-token rows do not enter the other rows' arithmetic on the packed decode
    /// kernel (rows are independent); where a step's row count picks another GEMM
    /// path (OpenBLAS, or packing from `PackedDecodeWeights.blasMinRows` rows), rounding,
    /// and so a sampled token, can differ from a run without the observer.
    public func generate(prompts: [[Int32]], options: SamplingOptions, seeds: [UInt64],
                         observer: GenerationObserver? = nil) -> [Completion] {
        precondition(prompts.count == seeds.count, "generate: \(prompts.count) prompts but \(seeds.count) seeds")
        precondition(prompts.allSatisfy { !$0.isEmpty }, "generate: empty prompt")
        let B = prompts.count, V = config.vocabSize
        let cache = generationCache(slots: B)
        var rngs = seeds.map { Rng(seed: $0) }
        var results = (0..<B).map { _ in Completion(tokens: [], logProbs: [], entropies: [], finishReason: .length) }
        let scratch = FlatBuffer(count: Parallel.workers * 2 * V)
        // Decode steps run on a packed snapshot of the weights, taken now
        // (parameters may have changed since the last call) and retired on return.
        let packed = preparePackedWeights(rows: B)
        defer { packed?.valid = false }
        // Prefill: all prompts in one call; logits for each prompt's last token.
        var slots: [Int] = [], tokens: [Int32] = [], lastRows: [Int] = []
        for (i, p) in prompts.enumerated() {
            precondition(p.count < cache.maxLen, "prompt \(i) has \(p.count) tokens; the model holds \(cache.maxLen)")
            slots += [Int](repeating: i, count: p.count); tokens += p; lastRows.append(tokens.count - 1)
        }
        // Residual rows of every extend call go to the observer, tagged with their sequence.
        func tap(_ rows: [Int]) -> ResidualTap? {
            observer.map { o in ResidualTap(depth: o.depth) { x, _ in o.appended(sequences: rows, residual: x, channels: self.config.dim) } }
        }
        var logits = extend(cache: cache, slots: slots, tokens: tokens, logitRows: lastRows, tap: tap(slots))
        // Row k of `logits` belongs to sequence active[k].
        var active = Array(0..<B)
        var drawn = [SampledToken](repeating: SampledToken(token: 0, logProb: 0, entropy: 0), count: B)
        // With an observer: temperature-1 log p and entropy of each drawn token, and the
        // finished sequences whose last token still needs its residual row.
        var plain = [(logProb: Float, entropy: Float)](repeating: (0, 0), count: B)
        var lastRowSlots: [Int] = [], lastRowTokens: [Int32] = []
        while !active.isEmpty {
            // Rows are independent and each has its own generator, so drawing
            // them in parallel gives the same tokens as drawing them in order.
            let rowsNow = active
            let block = logits
            let observing = observer != nil
            drawn.withUnsafeMutableBufferPointer { out in
                rngs.withUnsafeMutableBufferPointer { gens in
                    plain.withUnsafeMutableBufferPointer { pl in
                        WorkerTeam.current.forChunks(rowsNow.count, grain: 4) { chunk, range in
                            let sc = scratch.pointer + chunk * 2 * V
                            for k in range {
                                let i = rowsNow[k]
                                out[k] = Sampler.sample(row: block.row(k), count: V, options: options, rng: &gens[i], scratch: sc)
                                if observing {
                                    let e = LogitsMath.logProbAndEntropy(block.row(k), V, index: Int(out[k].token))
                                    pl[k] = (e.logProb, e.entropy)
                                }
                            }
                        }
                    }
                }
            }
            var stillActive: [Int] = [], nextTokens: [Int32] = []
            for (k, i) in rowsNow.enumerated() {
                let s = drawn[k]
                results[i].tokens.append(s.token)
                results[i].logProbs.append(s.logProb)
                results[i].entropies.append(s.entropy)
                observer?.drew(sequence: i, logProb: plain[k].logProb, entropy: plain[k].entropy)
                var finished = false
                if options.stopTokens.contains(s.token) {
                    results[i].finishReason = .stop
                    observer?.endedOnStopToken(sequence: i)
                    continue
                }
                if results[i].tokens.count >= options.maxNewTokens || cache.lengths[i] >= cache.maxLen {
                    results[i].finishReason = .length; finished = true
                }
                if !finished { stillActive.append(i); nextTokens.append(s.token); continue }
                if let observer {
                    if cache.lengths[i] < cache.maxLen { lastRowSlots.append(i); lastRowTokens.append(s.token) }
                    else { observer.finishedWithoutLastRow(sequence: i) }
                }
            }
            active = stillActive
            if active.isEmpty { break }
            // Length-limited sequences' last tokens ride along as extra rows (no logits read for them).
            let rows = active + lastRowSlots
            logits = extend(cache: cache, slots: rows, tokens: nextTokens + lastRowTokens,
                            logitRows: Array(0..<active.count), tap: tap(rows))
            lastRowSlots = []; lastRowTokens = []
        }
        if !lastRowSlots.isEmpty {
            _ = extend(cache: cache, slots: lastRowSlots, tokens: lastRowTokens, logitRows: [0], tap: tap(lastRowSlots))
        }
        return results
    }

    /// A KV cache with at least `slots` empty slots, reused across calls so
    /// rollouts do not pay for hundreds of MB of fresh pages every time.
    func generationCache(slots: Int) -> KVCache {
        if let c = cachedGenerationKV, c.slots >= slots {
            for s in 0..<c.slots { c.reset(slot: s) }
            return c
        }
        cachedGenerationKV = nil
        let c = KVCache(config: config, slots: slots)
        cachedGenerationKV = c
        return c
    }

    /// Teacher-forced scoring: for each sequence, log π(x_t | x_<t) and the
    /// entropy at every position t ≥ 1 (so `count − 1` values per sequence).
    public func score(sequences: [[Int32]]) -> [(logProbs: [Float], entropies: [Float])] {
        precondition(sequences.allSatisfy { $0.count >= 2 }, "score: each sequence needs at least 2 tokens")
        let T = sequences.map(\.count).max() ?? 0, B = sequences.count, V = config.vocabSize
        // Right-pad with token 0: causal attention keeps padding out of earlier positions.
        var flat = [Int32](repeating: 0, count: B * T)
        for (b, s) in sequences.enumerated() { for (t, x) in s.enumerated() { flat[b * T + t] = x } }
        let logits = forward(TokenBatch(batchSize: B, seqLen: T, tokens: flat))
        return sequences.enumerated().map { b, s in
            var lp: [Float] = [], ent: [Float] = []
            for t in 0..<(s.count - 1) {
                let r = logits.row(b * T + t)
                let x = LogitsMath.logProbAndEntropy(r, V, index: Int(s[t + 1]))
                lp.append(x.logProb); ent.append(x.entropy)
            }
            return (lp, ent)
        }
    }
}
