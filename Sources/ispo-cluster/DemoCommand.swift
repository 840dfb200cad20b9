import ArgumentParser
import Foundation
import Objectives
import Optimization
import Tasks
import Tensors
import Tokenization
import Transformer

/// The built-in default job for now: supervised training of a tiny model on
/// multi-digit addition with written-out carries, greedy accuracy before and
/// after, and a few samples. Runs in a couple of minutes on two cores.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a tiny model on a synthetic task (addition with carries) and sample from it.")

    @Option(help: "Digits per operand.") var digits = 2
    @Option(help: "Training steps.") var steps = 400
    @Option(help: "Problems per step.") var batch = 32
    @Option(help: "Peak learning rate (warmup + cosine).") var lr = 3e-3
    @Option(help: "Held-out problems for accuracy.") var evalProblems = 200
    @Option(help: "Run seed.") var seed: UInt64 = 1
    @Option(help: "Threads for BLAS and elementwise kernels.") var threads = 2

    func run() throws {
        Blas.configure(threads: threads)
        let task = AdditionTask(digits: digits)
        let tok = try CharTokenizer(alphabet: syntheticAlphabet, specials: ["<pad>", "<eos>"])
        let eos = tok.specialID("<eos>")!, pad = tok.specialID("<pad>")!
        let config = ModelConfig(vocabSize: tok.vocabSize, dim: 128, layers: 4, heads: 4, kvHeads: 2, ffnDim: 384,
                                 maxSeqLen: 32 + 14 * digits, ropeTheta: 10000)
        let model = try Model(config: config)
        model.initialize(seed: SeedMixer.derive(run: seed, purpose: 1))
        print("demo: \(digits)-digit addition with carries; model \(config.layers)×\(config.dim), "
              + "\(model.layout.totalCount) parameters, BLAS kernels \(Blas.coreName)")

        var evalRng = Rng(seed: SeedMixer.derive(run: seed, purpose: 2))
        let held = (0..<evalProblems).map { _ in task.sample(&evalRng) }
        let before = try accuracy(model, held, tok, eos)
        print(String(format: "accuracy before training: %.1f%% (greedy, %d held-out problems)", 100 * before, held.count))

        let opt = AdamW(config: AdamWConfig(lr: lr, weightDecay: 0.01), shard: 0..<model.layout.totalCount,
                        segments: model.layout.entries.map { DecaySegment(range: $0.range, decays: $0.decays) })
        let schedule = LRSchedule(peak: lr, warmupSteps: steps / 20, totalSteps: steps, minRatio: 0.1)
        var trainRng = Rng(seed: SeedMixer.derive(run: seed, purpose: 3))
        let start = Clock.now
        var tokensSeen = 0
        for step in 0..<steps {
            let problems = (0..<batch).map { _ in task.sample(&trainRng) }
            let (tb, targets) = try sftBatch(problems, tok, eos: eos, pad: pad)
            model.zeroGradients()
            let loss = model.forwardBackward(batch: tb, loss: CrossEntropy.loss(targets: targets))
            let norm = GradientClipping.clip(model.gradients.pointer, count: model.gradients.count, maxNorm: 1)
            opt.step(parameters: model.parameters.pointer, gradients: model.gradients.pointer, lr: schedule.lr(at: step))
            tokensSeen += tb.tokens.count
            if step % 50 == 0 || step == steps - 1 {
                let t = start.elapsed
                print(String(format: "step %4d/%d  loss %.4f  grad_norm %.3f  lr %.2e  %.0f tok/s  %.0fs",
                             step + 1, steps, loss, norm, schedule.lr(at: step), Double(tokensSeen) / t, t))
            }
        }
        let after = try accuracy(model, held, tok, eos)
        print(String(format: "accuracy after training: %.1f%% (was %.1f%%)", 100 * after, 100 * before))
        let shown = model.generate(prompts: try held.prefix(4).map { try tok.encode($0.prompt) },
                                   options: SamplingOptions(temperature: 0.7, maxNewTokens: config.maxSeqLen - 12, stopTokens: [eos]),
                                   seeds: (0..<4).map { SeedMixer.derive(run: seed, step: UInt64(steps), sample: UInt64($0)) })
        for (p, c) in zip(held.prefix(4), shown) {
            let text = tok.decode(c.tokens, skipSpecials: true)
            let ok = extractFinalAnswer(text) == p.answer ? "✓" : "✗"
            print("sample (T=0.7) \(ok) \(p.prompt.dropLast()) → \(text.replacingOccurrences(of: "\n", with: " | "))")
        }
    }

    /// Prompt + completion + <eos>, right-padded; loss on completion tokens only.
    func sftBatch(_ problems: [SyntheticProblem], _ tok: CharTokenizer, eos: Int32, pad: Int32) throws -> (TokenBatch, [Int32]) {
        let seqs = try problems.map { (try tok.encode($0.prompt), try tok.encode($0.completion) + [eos]) }
        let T = seqs.map { $0.0.count + $0.1.count - 1 }.max()!
        var tokens = [Int32](repeating: pad, count: problems.count * T), targets = [Int32](repeating: -1, count: problems.count * T)
        for (b, (prompt, completion)) in seqs.enumerated() {
            let full = prompt + completion
            for t in 0..<(full.count - 1) {
                tokens[b * T + t] = full[t]
                if t + 1 >= prompt.count { targets[b * T + t] = full[t + 1] }
            }
        }
        return (TokenBatch(batchSize: problems.count, seqLen: T, tokens: tokens), targets)
    }

    /// Greedy pass@1 on `problems`.
    func accuracy(_ model: Model, _ problems: [SyntheticProblem], _ tok: CharTokenizer, _ eos: Int32) throws -> Double {
        let prompts = try problems.map { try tok.encode($0.prompt) }
        let maxNew = model.config.maxSeqLen - (prompts.map(\.count).max() ?? 0) - 1
        let outs = model.generate(prompts: prompts, options: SamplingOptions(greedy: true, maxNewTokens: maxNew, stopTokens: [eos]),
                                  seeds: [UInt64](repeating: 0, count: prompts.count))
        let correct = zip(problems, outs).filter { p, o in extractFinalAnswer(tok.decode(o.tokens, skipSpecials: true)) == p.answer }.count
        return Double(correct) / Double(problems.count)
    }
}
