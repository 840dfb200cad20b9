import ArgumentParser
import Comm
import Configs
import Foundation
import Roles
import Tensors

/// `ispo-cluster bench ispo`: the cost of ISPO's extra passes, as the ratio of
/// an ISPO step to a GRPO step on the same warm-started model, same seed.
struct BenchISPO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ispo",
        abstract: "ISPO's overhead per RL step as a ratio to GRPO (one process, default job's model and data).")

    @Option(help: "Threads for OpenBLAS and the elementwise kernels.") var threads = 2
    @Option(help: "RL steps per run; the first is not timed.") var steps = 6
    @Option(help: "Runs per arm (GRPO and ISPO alternate; medians are reported).") var repeats = 3
    @Option(help: "SFT warm-start steps before RL, so responses have the answer format.") var sftSteps = 120
    @Option(help: "Write the JSON report here as well as to stdout.") var output: String?

    func run() throws {
        Blas.configure(threads: threads)
        var perArm: [String: [[String: Double]]] = [:]
        var ratios: [Double] = []
        for r in 0..<repeats {
            var stepSeconds: [String: Double] = [:]
            for arm in ["grpo", "ispo"] {
                let steps = try timedSteps(arm: arm)
                perArm[arm, default: []] += steps
                stepSeconds[arm] = median(steps.compactMap { $0["timing_s/step"] })
                log("repeat \(r + 1) \(arm): \(String(format: "%.3f", stepSeconds[arm]!)) s/step")
            }
            ratios.append(stepSeconds["ispo"]! / stepSeconds["grpo"]!)
        }
        func summary(_ arm: String) -> [String: Double] {
            var s: [String: Double] = [:]
            for key in ["timing_s/step", "timing_s/gen", "timing_s/ispo_signals", "timing_s/update_actor", "timing_s/reward"] {
                let xs = perArm[arm]!.compactMap { $0[key] }
                if !xs.isEmpty { s[key + "_median"] = median(xs) }
            }
            return s
        }
        let report: [String: Any] = [
            "setup": "default job (tiny model, addition:2, 16 prompts × 8 samples), \(sftSteps) SFT steps, "
                + "\(steps - 1) timed RL steps per run, 1 process, \(threads) threads",
            "grpo": summary("grpo"),
            "ispo": summary("ispo"),
            "ispo_over_grpo_step_ratio": ["median": median(ratios), "repeats": ratios],
            "note": "GRPO runs without the signals (no diagnostics); ISPO adds the frozen-base pass and the emptied-thinking pass",
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        if let output { try data.write(to: URL(fileURLWithPath: output), options: .atomic) }
    }

    /// Runs the default job's RL for `steps` steps in one process and returns
    /// the metrics of steps 2…steps.
    func timedSteps(arm: String) throws -> [[String: Double]] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-bench-\(getpid())-\(arm)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let overrides = [
            "trainer.total_steps=\(steps)", "trainer.test_freq=-1", "trainer.val_before_train=false",
            arm == "ispo" ? "algorithm.ispo.enable=true" : "algorithm.ispo.enable=false",
        ]
        let config = try Config.load(yamlFile: nil, preset: DefaultJob.overrides, overrides: overrides)
        try config.validate()
        let world = LoopbackWorld(size: 1).communicator(rank: 0)
        let layout = try RankLayout.derived(worldSize: 1, teachers: false)
        let warm = WarmStart(steps: sftSteps, batchSize: config.sft.batchSize, lr: config.sft.lr)
        try silencingStdout {
            let job = try ClusterJob(world: world, layout: layout, config: config, warmStart: warm,
                                     root: FileManager.default.currentDirectoryPath, runDirectory: dir)
            try job.run()
        }
        let text = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").compactMap { line -> [String: Double]? in
            guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let step = obj["step"] as? Int, step >= 2, let d = obj["data"] as? [String: Any],
                  d["timing_s/step"] != nil else { return nil }
            return d.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        }
    }

    /// Runs `body` with the job's progress lines sent to /dev/null, so stdout carries only the JSON.
    func silencingStdout(_ body: () throws -> Void) throws {
        fflush(stdout)
        let saved = dup(1), null = open("/dev/null", O_WRONLY)
        dup2(null, 1)
        defer { fflush(stdout); dup2(saved, 1); close(saved); close(null) }
        try body()
    }

    func log(_ s: String) { FileHandle.standardError.write(Data(("[bench ispo] " + s + "\n").utf8)) }
}
