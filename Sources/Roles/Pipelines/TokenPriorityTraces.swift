import Configs
import Foundation
import Objectives
import Tensors

/// The training traces of a `priority` run with their testbed corruption
/// ([ours], METHODS §5): the examples as trained on, and per completion
/// token whether it was injected (noise) or belongs to a toxic answer.
struct TokenPriorityTraces {
    /// The examples, corrupted where the testbed says.
    var examples: [T3SExample]
    /// Per example, per completion token: a junk token the `noise` testbed inserted.
    var noise: [[Bool]]
    /// Per example, per completion token: a token of the wrong answer the `toxic` testbed wrote.
    var toxic: [[Bool]]

    /// The tokens the testbed marks (noise or toxic): what `hard` drops and `signed` unlearns.
    var marked: [[Bool]] { zip(noise, toxic).map { zip($0, $1).map { $0 || $1 } } }

    /// The first `settings.examples` traces of the stream, the seeded
    /// `noise_rate` / `toxic_rate` share of them corrupted.
    static func build(ctx: JobContext, settings: PriorityConfig) throws -> TokenPriorityTraces {
        let n = settings.examples, codec = ctx.codec
        var clean = try T3STraining.examples(ctx: ctx, count: n)
        let rate = settings.testbed == .noise ? settings.noiseRate : settings.testbed == .toxic ? settings.toxicRate : 0
        let seed = SeedMixer.derive(run: ctx.runSeed, purpose: SeedPurpose.priorityCorruption.rawValue)
        let corrupted = Set(MoTData.permutation(n, seed: seed).prefix(TopFraction.count(fraction: rate, of: n)))
        var noise = clean.map { [Bool](repeating: false, count: $0.completion.count) }, toxic = noise
        // Junk is drawn from the tokens the clean traces use (plausible symbols, never EOS).
        let alphabet = Array(Set(clean.flatMap(\.completion)).subtracting([codec.eos, codec.pad])).sorted()
        for i in corrupted.sorted() {
            var rng = Rng(seed: SeedMixer.derive(run: seed, sample: UInt64(i)))
            switch settings.testbed {
            case .clean: break
            case .noise:
                var tokens = clean[i].completion, flags = noise[i]
                for _ in 0..<settings.noiseTokens {
                    let at = rng.below(tokens.count)          // before the final EOS at the latest
                    tokens.insert(alphabet[rng.below(alphabet.count)], at: at)
                    flags.insert(true, at: at)
                }
                clean[i].completion = tokens; noise[i] = flags; toxic[i] = flags.map { _ in false }
            case .toxic:
                let (item, completion) = ctx.data.item(step: 0, index: i, purpose: SeedPurpose.warmStartData.rawValue)
                guard let completion, let mark = completion.range(of: "A:", options: .backwards) else {
                    throw JobError("priority.testbed=toxic rewrites the answer after the last `A:` of a trace; "
                                   + "\(item.dataSource) trace \(i) has none: use a synthetic data set or priority.testbed=clean")
                }
                let answer = completion[mark.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
                let tail = String(completion[mark.upperBound...].drop { !$0.isWhitespace })
                let head = try codec.encode(String(completion[..<mark.upperBound]))
                let wrong = try codec.encode(Self.toxicAnswer(answer)), rest = try codec.encode(tail) + [codec.eos]
                clean[i].completion = head + wrong + rest
                toxic[i] = head.map { _ in false } + wrong.map { _ in true } + rest.map { _ in false }
                noise[i] = toxic[i].map { _ in false }
            }
        }
        return TokenPriorityTraces(examples: clean, noise: noise, toxic: toxic)
    }

    /// The toxic mode's systematic error: an integer answer plus one, any other answer with a `0` appended.
    static func toxicAnswer(_ answer: String) -> String {
        Int(answer).map { String($0 + 1) } ?? answer + "0"
    }
}
