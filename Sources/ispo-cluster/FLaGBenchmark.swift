import ArgumentParser
import Comm
import Configs
import Foundation
import Objectives
import Roles
import Tensors
import Transformer

/// `ispo-cluster bench flag`: the cost of scoring every rollout with FLaG live,
/// as the ratio of an RL step with `flag.enable=true` to the same step without
/// it (same job, same seed; the arms alternate; medians of the timed steps).
struct BenchFLaG: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flag",
        abstract: "FLaG's live-scoring overhead per RL step as a ratio to the same step without it (one process).")

    @Option(help: "Threads for OpenBLAS and the elementwise kernels.") var threads = 2
    @Option(help: "RL steps per run; the first is not timed.") var steps = 6
    @Option(help: "Runs per arm (off and live alternate; medians are reported); 0 = no RL runs, generation pairs only.") var repeats = 5
    @Option(help: "SFT warm-start steps before RL (tiny model only; they count in the CPU figure, not in the step times).") var sftSteps = 0
    @Option(help: "A head from `detect train` for this job's model; default: a random K=4 head for the tiny model (the cost does not depend on the weights).")
    var head: String?
    @Option(name: .customLong("set"), help: "A config override for both arms (key=value), e.g. model.path=…; repeatable.")
    var overrides: [String] = []
    @Option(help: "Paired generation-only measurements (the job's model: tiny, or model.path with --head; off and live in alternating order); 0 = skip.")
    var genPairs = 20
    @Option(help: "Write the JSON report here as well as to stdout.") var output: String?

    func validate() throws {
        guard threads > 0, steps >= 2, repeats >= 0, sftSteps >= 0 else {
            throw ValidationError("--threads ≥ 1, --steps ≥ 2 (the first is not timed), --repeats ≥ 0, --sft-steps ≥ 0.")
        }
        guard repeats > 0 || genPairs > 0 else {
            throw ValidationError("--repeats 0 and --gen-pairs 0 leave nothing to measure; give one of them a positive count.")
        }
    }

    func run() throws {
        Blas.configure(threads: threads)
        let base = try Config.load(yamlFile: nil, preset: DefaultJob.overrides, overrides: overrides)
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-bench-flag-\(getpid())").path
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let headPath: String
        if let head { headPath = head } else {
            guard base.model.usesTinyModel else {
                throw ValidationError("--set model.path=… needs --head: a head trained with `detect train` on that model's features.")
            }
            headPath = tmp + "/head.shard"
            try Self.randomHead(dim: base.model.tiny.dim, groups: 4).write(path: headPath)
        }
        var perArm: [String: [[String: Double]]] = [:]
        var ratios: [Double] = [], cpuRatios: [Double] = [], cpu: [String: [Double]] = [:]
        for r in 0..<repeats {
            var stepSeconds: [String: Double] = [:], runCPU: [String: Double] = [:]
            for arm in ["off", "live"] {
                let flag = arm == "live" ? ["flag.enable=true", "flag.head=\(headPath)"] : ["flag.enable=false"]
                let (xs, cpuSeconds) = try timedSteps(arm: arm, extra: flag, directory: tmp)
                perArm[arm, default: []] += xs
                stepSeconds[arm] = median(xs.compactMap { $0["timing_s/step"] })
                runCPU[arm] = cpuSeconds; cpu[arm, default: []].append(cpuSeconds)
                log("repeat \(r + 1) \(arm): \(String(format: "%.3f", stepSeconds[arm]!)) s/step, whole run \(String(format: "%.2f", cpuSeconds)) CPU s")
            }
            ratios.append(stepSeconds["live"]! / stepSeconds["off"]!)
            cpuRatios.append(runCPU["live"]! / runCPU["off"]!)
        }
        func summary(_ arm: String) -> [String: Double] {
            var s: [String: Double] = [:]
            for key in ["timing_s/step", "timing_s/gen", "timing_s/update_actor", "flag/auroc", "flag/scored_frac"] {
                let xs = perArm[arm]!.compactMap { $0[key] }
                if !xs.isEmpty { s[key + "_median"] = median(xs) }
            }
            return s
        }
        var report: [String: Any] = [
            "setup": "default job\(overrides.isEmpty ? "" : " with \(overrides.joined(separator: " "))"), \(sftSteps) SFT steps (tiny model), "
                + "\(steps - 1) timed RL steps per run, \(repeats) runs per arm, 1 process, \(threads) threads",
            "head": head ?? "random K=4 head (cost only)",
            "note": "live = features from the generating forward (one extra decode row per finished answer, a temperature-1 "
                + "log-softmax per drawn token, hidden-state sums) + the head + flag/* metrics; no second forward",
        ]
        if repeats > 0 { report.merge([
            "off": summary("off"), "live": summary("live"),
            "live_over_off_step_ratio": ["median": median(ratios), "repeats": ratios],
            "live_over_off_cpu_ratio": ["median": median(cpuRatios), "repeats": cpuRatios,
                                        "off_cpu_s": cpu["off"]!, "live_cpu_s": cpu["live"]!,
                                        "what": "process CPU seconds of the whole run (load, warm start, all RL steps): less sensitive than wall time to other jobs on the machine"],
        ]) { $1 } }
        if genPairs > 0 { report["generation_only"] = try generationPairs(config: base, head: headPath) }
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        if let output { try data.write(to: URL(fileURLWithPath: output), options: .atomic) }
    }

    /// A random FLaG head on 3·dim + 7 features (standardiser fitted on noise).
    static func randomHead(dim: Int, groups: Int) -> FLaGHeadFile {
        let R = 3 * dim, T = FLaGTokenFeatures.count, rows = 8
        var rng = Rng(seed: 1)
        let noise = FLaGDataset(features: (0..<(rows * (R + T))).map { _ in rng.normal() }, labels: [Int](repeating: 0, count: rows),
                                groups: [String](repeating: "", count: rows), representationDim: R, tokenDim: T)
        let shape = FLaGHeadShape(representationDim: R, tokenDim: T, groups: groups)
        return FLaGHeadFile(kind: "flag", shape: shape, weights: FLaGLossWeights(), hidden: nil, standardizer: FLaGStandardizer(fitting: noise),
                            parameters: FLaGHead.initialParameters(shape: shape, seed: 2), validationAUROC: nil, epochs: 0)
    }

    /// The rollout generation alone (the only part FLaG changes besides its
    /// metrics): one RL step's batch (train_batch_size × rollout.n sequences of the
    /// job's model, rollout.max_new_tokens, no stop token, 12 random prompt tokens)
    /// generated without and with live features + scoring, `genPairs` times in
    /// alternating order; CPU-second ratios per pair. The tiny model is randomly
    /// initialised (vocabulary 40); a model.path is loaded as the job would load it.
    func generationPairs(config: Config, head: String) throws -> [String: Any] {
        let promptTokens = 12
        let B = config.data.trainBatchSize * config.rollout.n, newTokens = config.rollout.maxNewTokens ?? config.data.maxResponseLength
        let model: Model
        if config.model.usesTinyModel {
            let t = config.model.tiny
            model = try Model(config: Transformer.ModelConfig(vocabSize: 40, dim: t.dim, layers: t.layers, heads: t.heads,
                                                              kvHeads: t.kvHeads, ffnDim: t.ffnDim, maxSeqLen: t.maxSeqLen))
            model.initialize(seed: 7)
        } else {
            model = try ModelLoading.load(path: config.model.path, maxSeqLen: promptTokens + newTokens + 1).model
        }
        let vocab = model.config.vocabSize, positions = model.config.maxSeqLen
        var flagConfig = FLaGConfig()
        flagConfig.enable = true; flagConfig.head = head
        let live = try FLaGLive(config: flagConfig, model: model.config)!
        var rng = Rng(seed: 5)
        let prompts = (0..<B).map { _ in (0..<promptTokens).map { _ in Int32(rng.below(vocab)) } }
        let seeds = (0..<B).map { UInt64($0) }
        let options = SamplingOptions(temperature: 1, maxNewTokens: min(newTokens, positions - promptTokens))
        func measure(_ flag: Bool) throws -> (cpu: Double, wall: Double) {
            let c0 = Self.cpuSeconds(), w0 = Date()
            let out = try SamplingGenerator(model: model, flagDepth: flag ? live.depth : nil).generate(prompts: prompts, options: options, seeds: seeds)
            if flag { for g in out { _ = g.flagFeatures.map(live.score) } }
            return (Self.cpuSeconds() - c0, Date().timeIntervalSince(w0))
        }
        _ = try measure(false); _ = try measure(true)  // warm-up: caches, packed weights
        var cpuRatios: [Double] = [], wallRatios: [Double] = [], offCPU: [Double] = []
        for p in 0..<genPairs {
            let first = p % 2 == 0
            let a = try measure(!first), b = try measure(first)
            let (off, on) = first ? (b, a) : (a, b)
            cpuRatios.append(on.cpu / off.cpu); wallRatios.append(on.wall / off.wall); offCPU.append(off.cpu)
        }
        log("generation only: live/off CPU ratio median \(String(format: "%.3f", median(cpuRatios))) over \(genPairs) pairs")
        return ["model": config.model.usesTinyModel ? "tiny (random init)" : config.model.path, "vocab": vocab,
                "sequences": B, "new_tokens": options.maxNewTokens, "pairs": genPairs,
                "cpu_ratio_median": median(cpuRatios), "cpu_ratio_repeats": cpuRatios,
                "wall_ratio_median": median(wallRatios), "off_cpu_s_median": median(offCPU)]
    }

    /// Process CPU seconds (user + system, all threads).
    static func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Runs the job's RL for `steps` steps in one process: the metrics of steps 2…steps
    /// and the CPU seconds of the whole run.
    func timedSteps(arm: String, extra: [String], directory: String) throws -> ([[String: Double]], Double) {
        let dir = directory + "/run-\(arm)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try Config.load(yamlFile: nil, preset: DefaultJob.overrides, overrides: overrides + extra + [
            "trainer.total_steps=\(steps)", "trainer.test_freq=-1", "trainer.val_before_train=false",
        ])
        try config.validate()
        let world = LoopbackWorld(size: 1).communicator(rank: 0)
        let layout = try RankLayout.derived(worldSize: 1, teachers: false)
        let warm = WarmStart(steps: config.model.usesTinyModel ? sftSteps : 0, batchSize: config.sft.batchSize, lr: config.sft.lr)
        let cpuStart = Self.cpuSeconds()
        try BenchISPO().silencingStdout {
            let job = try ClusterJob(world: world, layout: layout, config: config, warmStart: warm,
                                     root: FileManager.default.currentDirectoryPath, runDirectory: dir)
            try job.run()
        }
        let cpuSeconds = Self.cpuSeconds() - cpuStart
        let text = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8)
        return (try text.split(separator: "\n").compactMap { line -> [String: Double]? in
            guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let step = obj["step"] as? Int, step >= 2, let d = obj["data"] as? [String: Any],
                  d["timing_s/step"] != nil else { return nil }
            return d.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        }, cpuSeconds)
    }

    func log(_ s: String) { FileHandle.standardError.write(Data(("[bench flag] " + s + "\n").utf8)) }
}
