import ArgumentParser
import Foundation
import Tensors
import Transformer

/// `ispo-cluster bench …`: speed measurements with JSON output.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print measured figures (JSON) and ratios against a reference run.",
        subcommands: [BenchModel.self, BenchSmolLM.self, BenchCheckpoint.self, BenchISPO.self, BenchComm.self, BenchFLaG.self])
}

/// `ispo-cluster bench model`: training and decoding throughput of the
/// reference config, side by side with PyTorch when it is importable.
struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Training tokens/s, GFLOP/s and decode tokens/s of the reference config (6×256, vocab 8192).")

    @Option(help: "Threads for OpenBLAS and the elementwise kernels.") var threads = 2
    @Option(help: "Timed training steps per repeat.") var steps = 5
    @Option(help: "Repeats (ours and PyTorch alternate; medians are reported).") var repeats = 3
    @Option(help: "Sequences per training batch.") var batch = 8
    @Option(help: "Tokens per training sequence.") var seqLen = 256
    @Option(help: "New tokens per sequence in the decode measurement.") var decodeTokens = 128
    @Option(help: "Python interpreter for the PyTorch reference ('' to skip).") var python = "python3"
    @Option(help: "Write the JSON report here as well as to stdout.") var output: String?
    @Flag(help: "Measure decoding only (for profiling).") var decodeOnly = false
    @Option(help: "Batch sizes of the decode measurement, comma-separated.") var decodeBatches = "1,16,64"
    @Option(help: "Decode repeats per batch size (the median is reported).") var decodeRepeats = 3

    func run() throws {
        Blas.configure(threads: threads)
        let config = ModelConfig.benchReference
        let bench = ModelBenchmark(config: config, batch: batch, seqLen: seqLen, steps: steps)
        let model = try Model(config: config)
        model.initialize(seed: 1)
        log("sgemm peak …")
        let peak = ModelBenchmark.sgemmGflops()
        let torchScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Launch/bench_torch.py").path
        var ours: [Double] = [], theirs: [Double] = [], ratios: [Double] = []
        var torchNote = "not run"
        for r in 0..<(decodeOnly ? 0 : repeats) {
            let t = median(bench.trainStepSeconds(model: model))
            ours.append(t)
            log("repeat \(r + 1): ours \(String(format: "%.3f", t)) s/step")
            if !python.isEmpty, let torch = runTorch(script: torchScript, threads: threads) {
                theirs.append(torch.seconds); ratios.append(torch.seconds / t); torchNote = torch.framework
                log("repeat \(r + 1): pytorch \(String(format: "%.3f", torch.seconds)) s/step")
            } else if r == 0 {
                torchNote = "unavailable (\(python) cannot import torch, or the script failed)"
            }
        }
        let tokensPerStep = Double(batch * seqLen)
        // Causal attention: token t attends to t+1 keys, (T+1)/2 on average.
        let flopsPerStep = 3 * tokensPerStep * bench.forwardFlopsPerToken(context: Double(seqLen + 1) / 2)
        let trainSeconds = ours.isEmpty ? Double.nan : median(ours)
        let trainGflops = flopsPerStep / trainSeconds / 1e9
        var decode: [String: Any] = [:]
        for b in try parseBatches(decodeBatches) {
            log("decode batch \(b) …")
            // Each repeat pairs a decode run with an sgemm run just before it, so
            // the fraction is a ratio taken under the same machine load.
            var gflops: [Double] = [], tokens: [Double] = [], fractions: [Double] = []
            for _ in 0..<max(1, decodeRepeats) {
                let localPeak = ModelBenchmark.sgemmGflops()
                let d = bench.decodeTokensPerSecond(model: model, batchSize: b, newTokens: decodeTokens)
                gflops.append(d.gflops); tokens.append(d.tokensPerSecond); fractions.append(d.gflops / localPeak)
            }
            decode["batch_\(b)"] = ["tokens_per_s": median(tokens), "gflops": median(gflops),
                                    "fraction_of_sgemm": median(fractions), "fraction_repeats": fractions,
                                    "gflops_repeats": gflops]
            log("decode batch \(b): \(String(format: "%.1f", median(gflops))) GFLOP/s, "
                + "\(String(format: "%.0f", 100 * median(fractions)))% of sgemm (median of \(fractions.count) paired repeats)")
        }
        var report: [String: Any] = [
            "config": ["layers": config.layers, "dim": config.dim, "heads": config.heads, "kv_heads": config.kvHeads,
                       "ffn": config.ffnDim, "vocab": config.vocabSize, "batch": batch, "seq_len": seqLen, "dtype": "fp32"],
            "threads": threads,
            "sgemm_peak_gflops": peak,
            "train": ["step_seconds_median": trainSeconds, "step_seconds_repeats": ours,
                      "tokens_per_s": tokensPerStep / trainSeconds, "gflops": trainGflops,
                      "fraction_of_sgemm": trainGflops / peak,
                      "flops_counted": "useful matmul FLOPs: 3 × forward (projections, MLP, LM head, causal attention)"],
            "decode": decode,
            "pytorch": ["framework": torchNote],
        ]
        if ours.isEmpty { report["train"] = ["skipped": "--decode-only"] }
        if !theirs.isEmpty {
            report["pytorch"] = ["framework": torchNote, "step_seconds_median": median(theirs), "step_seconds_repeats": theirs,
                                 "tokens_per_s": tokensPerStep / median(theirs)]
            report["train_speed_ratio_ours_over_pytorch"] = ["median": median(ratios), "repeats": ratios]
        }
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        if let output { try data.write(to: URL(fileURLWithPath: output), options: .atomic) }
    }

    func log(_ s: String) { FileHandle.standardError.write(Data(("[bench] " + s + "\n").utf8)) }

    /// Runs Launch/bench_torch.py; nil when Python or torch is missing.
    /// "1,16,64" → [1, 16, 64]; anything else is a usage error naming the bad entry.
    func parseBatches(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map { part in
            guard let b = Int(part.trimmingCharacters(in: .whitespaces)), b > 0 else {
                throw ValidationError("--decode-batches: expected positive integers separated by commas (e.g. 1,16,64), found '\(part)'")
            }
            return b
        }
    }

    func runTorch(script: String, threads: Int) -> (seconds: Double, framework: String)? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, script, "--threads", "\(threads)", "--steps", "\(steps)", "--batch", "\(batch)", "--seq", "\(seqLen)"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let s = obj["step_seconds_median"] as? Double else { return nil }
        return (s, obj["framework"] as? String ?? "pytorch")
    }
}
