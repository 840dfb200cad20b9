import Foundation
import Layers
import Objectives
import Optimization
import Tensors
import Transformer

/// Measurements behind `ispo-cluster bench model`.
struct ModelBenchmark {
    let config: ModelConfig
    let batch: Int
    let seqLen: Int
    let steps: Int

    /// Best-of-3 sgemm GFLOP/s at a large square size (BLAS's practical peak here).
    static func sgemmGflops(size n: Int = 1536) -> Double {
        let a = FlatBuffer(count: n * n), b = FlatBuffer(count: n * n), c = FlatBuffer(count: n * n)
        var rng = Rng(seed: 1)
        for i in 0..<n * n { a[i] = Float(rng.uniform()); b[i] = Float(rng.uniform()) }
        Blas.gemm(m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, c: c.pointer, ldc: n)
        var best = 0.0
        for _ in 0..<3 {
            let t = Clock.now
            for _ in 0..<3 { Blas.gemm(m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, c: c.pointer, ldc: n) }
            best = max(best, 3 * 2 * Double(n * n * n) / t.elapsed / 1e9)
        }
        return best
    }

    /// Matmul FLOPs of one forward token at context length `context`
    /// (projections, MLP, LM head, and q·kᵀ plus p·v over `context` keys).
    func forwardFlopsPerToken(context: Double) -> Double {
        let c = config, hd = Double(c.headDim), C = Double(c.dim)
        let proj = C * hd * Double(c.heads + 2 * c.kvHeads) + Double(c.heads) * hd * C
        let mlp = 3 * C * Double(c.ffnDim)
        let perLayer = 2 * (proj + mlp) + 4 * context * Double(c.heads) * hd
        return Double(c.layers) * perLayer + 2 * C * Double(c.vocabSize)
    }

    /// Median seconds of one training step (forward, cross-entropy, backward, AdamW).
    func trainStepSeconds(model: Model) -> [Double] {
        var rng = Rng(seed: 2)
        let N = batch * seqLen
        let tokens = (0..<N).map { _ in Int32(rng.below(config.vocabSize)) }
        let targets = (0..<N).map { _ in Int32(rng.below(config.vocabSize)) }
        let tb = TokenBatch(batchSize: batch, seqLen: seqLen, tokens: tokens)
        let opt = AdamW(config: AdamWConfig(lr: 1e-4), shard: 0..<model.layout.totalCount,
                        segments: model.layout.entries.map { DecaySegment(range: $0.range, decays: $0.decays) })
        let loss = CrossEntropy.loss(targets: targets)
        func step() {
            model.zeroGradients()
            model.forwardBackward(batch: tb, loss: loss)
            opt.step(parameters: model.parameters.pointer, gradients: model.gradients.pointer, lr: 1e-4)
        }
        step(); step()
        return (0..<steps).map { _ in let t = Clock.now; step(); return t.elapsed }
    }

    /// Decode tokens/s at `batchSize` sequences: 16-token prompts, `newTokens` sampled each.
    func decodeTokensPerSecond(model: Model, batchSize: Int, newTokens: Int) -> (tokensPerSecond: Double, gflops: Double) {
        var rng = Rng(seed: 3)
        let prompts = (0..<batchSize).map { _ in (0..<16).map { _ in Int32(rng.below(config.vocabSize)) } }
        let opts = SamplingOptions(temperature: 1, maxNewTokens: newTokens)
        _ = model.generate(prompts: prompts, options: SamplingOptions(temperature: 1, maxNewTokens: 4), seeds: (0..<batchSize).map { UInt64($0) })
        // Time prefill alone, then prefill + decode, and keep the difference.
        let t0 = Clock.now
        _ = model.generate(prompts: prompts, options: SamplingOptions(temperature: 1, maxNewTokens: 1), seeds: (0..<batchSize).map { UInt64($0) })
        let prefill = t0.elapsed
        let t1 = Clock.now
        let out = model.generate(prompts: prompts, options: opts, seeds: (0..<batchSize).map { UInt64($0) })
        let total = t1.elapsed
        let decoded = out.map { $0.tokens.count - 1 }.reduce(0, +)
        let seconds = max(total - prefill, 1e-9)
        let flops = Double(decoded) * forwardFlopsPerToken(context: 16 + Double(newTokens) / 2)
        return (Double(decoded) / seconds, flops / seconds / 1e9)
    }
}

/// Monotonic wall clock.
struct Clock {
    let start: UInt64
    static var now: Clock { Clock(start: DispatchTime.now().uptimeNanoseconds) }
    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}

/// Median of a non-empty list.
func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
