import ArgumentParser
import Comm
import Configs
import Foundation
import Roles
import Tensors

/// `ispo-cluster run` (the default): the cluster job. Every MPI rank runs it;
/// the rank layout decides what each does. Without MPI it is one process
/// holding every role, on the same code path.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a pipeline (demo: SFT warm start → eval → GRPO → eval) on every rank.",
        discussion: """
        With no arguments this runs the built-in default job: a tiny model warm-started on \
        2-digit addition with written-out carries, then GRPO, with greedy accuracy before and after. \
        Launch it as `mpirun -n 8 ispo-cluster` (see Launch/run.sh) or alone.
        Overrides are dotted keys: `ispo-cluster run trainer.total_steps=40 rollout.n=16`.
        """)

    @Option(name: .customLong("config"), help: "YAML config file (sections as in Docs/ConfigReference.md).") var configFile: String?
    @Option(help: "Warm-start (SFT) steps before RL in the demo pipeline; sets sft.steps (default 180).") var sftSteps: Int?
    @Option(help: "Warm-start sequences per step (all learners together); sets sft.batch_size (default 32).") var sftBatch: Int?
    @Option(help: "Warm-start peak learning rate; sets sft.lr (default 0.003).") var sftLr: Double?
    @Argument(help: "Dotted overrides, key=value.") var overrides: [String] = []

    func run() throws {
        let underMPI = MPIRuntime.isLaunchedUnderMPI
        if underMPI { try MPIRuntime.initialize() }
        let world: Communicator = underMPI ? try MPICommunicator.world() : LoopbackWorld(size: 1).communicator(rank: 0)
        var exitCode: Int32 = 0
        do {
            exitCode = try runJob(world: world)
        } catch let error as RunLockRefused {
            // Every rank learned the refusal from the leader: end together, without an abort.
            if error.isLeader { FileHandle.standardError.write(Data("ispo-cluster: \(error.reason)\n".utf8)) }
            if underMPI { try MPIRuntime.finalize() }
            throw ExitCode(1)
        } catch {
            FileHandle.standardError.write(Data("ispo-cluster rank \(world.rank): \(error)\n".utf8))
            // One rank failing must not leave the others waiting in a collective.
            if world.size > 1 { world.abort(code: 1) }
            throw ExitCode(1)
        }
        if underMPI { try MPIRuntime.finalize() }
        if exitCode != 0 { throw ExitCode(exitCode) }
    }

    /// Runs the job; returns the exit code: 0 at its end, `JobStop.exitCode` after a stop on a signal.
    func runJob(world: Communicator) throws -> Int32 {
        let usesPreset = DefaultJob.applies(configFile: configFile, overrides: overrides)
        let config = try Config.load(yamlFile: configFile, preset: usesPreset ? DefaultJob.overrides : [],
                                     overrides: overrides + flagOverrides)
        try config.validate(memoryBytes: Self.machineMemoryBytes())
        // SIGUSR1 (Slurm's --signal=B:USR1@…), SIGTERM (preemption, scancel), SIGINT (Ctrl-C): checkpoint
        // at the end of the step within trainer.signal_grace_s and exit; a second signal exits at once.
        StopRequest.installSignalHandler(graceSeconds: config.trainer.signalGraceS)
        // The start-up (the run lock here; then loading, resume, warm start: JobContext) and the first step
        // share one budget; StepLoop sets the next ones.
        world.setDeadline(Deadline(phase: "start-up and the first step", seconds: config.trainer.firstStepBudgetS,
                                   key: config.trainer.firstStepTimeoutS == nil ? "trainer.step_timeout_s (×3 for the first step)"
                                                                                 : "trainer.first_step_timeout_s"))
        let threads = config.cluster.threadsPerRank > 0 ? config.cluster.threadsPerRank : (world.size > 1 ? 1 : 2)
        Blas.configure(threads: threads)
        let root = FileManager.default.currentDirectoryPath
        let layout = config.cluster.layout.isEmpty
            ? try RankLayout.derived(worldSize: world.size, teachers: config.trainer.pipeline.usesTeachers)
            : try RankLayout.load(nameOrPath: config.cluster.layout, clusterDirectory: root + "/Cluster", worldSize: world.size)
        // Batch arithmetic depends on how many learners the layout has.
        try config.validate(learners: layout.ranks(.learner).count)
        let leader = layout.ranks(.learner)[0]
        let runDir = config.trainer.runDirectory
        // One job per run directory: every rank learns whether the leader got the lock.
        let lock: RunLock?
        do { lock = try RunLock.acquire(world: world, leader: leader, runDirectory: runDir) } catch {
            throw RunLockRefused(reason: "\(error)", isLeader: world.rank == leader)
        }
        if world.rank == leader {
            print("ispo-cluster: \(world.size) rank(s), layout \(layout.describe()), \(threads) thread(s)/rank, BLAS \(Blas.coreName)")
            if usesPreset { print(DefaultJob.logLine) }
            try RunDirectory.requireWritable(runDir)
            try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
            try config.resolvedYAML().write(toFile: runDir + "/config.yaml", atomically: true, encoding: .utf8)
            print("resolved config saved to \(runDir)/config.yaml")
        }
        let warm = WarmStart(steps: config.sft.steps, batchSize: config.sft.batchSize, lr: config.sft.lr)
        let job = try ClusterJob(world: world, layout: layout, config: config, warmStart: warm, root: root,
                                 runDirectory: world.rank == leader ? runDir : nil, memoryBytes: Self.machineMemoryBytes())
        try job.run()
        lock?.release()
        if let stop = job.stopped {
            if world.rank == leader {
                let what = stop.checkpoint.map { "checkpoint \($0) saved" }
                    ?? stop.skipped.map { "no checkpoint written: \($0); the previous checkpoint stands" }
                    ?? "no run directory, nothing saved"
                print("ispo-cluster: stopped on request (\(stop.signal)) after step \(stop.step); \(what). "
                      + "Exit code \(stop.exitCode): run the same command again (checkpoint.resume_mode=auto) to continue.")
            }
            return stop.exitCode
        }
        if world.rank == leader { printReport(job.evaluations, runDir: runDir) }
        return 0
    }

    /// The `--sft-*` flags as overrides of the keys they alias, after the user's
    /// own (so they win, and the user's overrides keep their numbers).
    var flagOverrides: [String] {
        [sftSteps.map { "sft.steps=\($0)" }, sftBatch.map { "sft.batch_size=\($0)" },
         sftLr.map { "sft.lr=\($0)" }].compactMap { $0 }
    }

    /// The machine's RAM from /proc/meminfo (`MemTotal:  16318480 kB`); nil where
    /// there is no such file (then the memory estimate is not checked).
    static func machineMemoryBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }) else { return nil }
        let fields = line.split(separator: " ")
        guard fields.count >= 2, let kib = Int(fields[1]) else { return nil }
        return kib.multipliedReportingOverflow(by: 1024).overflow ? nil : kib * 1024
    }

    /// The validation metrics of the run (`FinalReport`).
    func printReport(_ evals: [(step: Int, metrics: [String: Double])], runDir: String) {
        for line in FinalReport.lines(evals, runDirectory: runDir) { print(line) }
    }
}

/// The built-in default job, written once: what `mpirun -n 8 ispo-cluster`
/// runs with no arguments (printed in full in the run's config.yaml).
/// Its warm start is the `sft` section's defaults (180 steps of 32 sequences at lr 3e-3).
///
/// It applies whenever `ispo-cluster run` gets no `--config`, whatever the
/// overrides (a `trainer.pipeline=` override included): the Launch scripts
/// and sbatch files run their pipelines as overrides on top of it. It is never
/// hidden: the leader logs `using the built-in default job preset (…)` with its
/// settings and the run's config.yaml holds every resolved key. A config file
/// starts from the plain defaults of Docs/ConfigReference.md instead.
enum DefaultJob {
    /// Whether the preset applies: no config file given.
    static func applies(configFile: String?, overrides: [String]) -> Bool { configFile == nil }

    /// The leader's log line when the preset is in use.
    static var logLine: String {
        "ispo-cluster: using the built-in default job preset (\(overrides.joined(separator: " "))) under your "
            + "overrides; give --config <file> to start from the plain defaults instead"
    }

    /// The preset's settings, under the user's overrides.
    static let overrides = [
        "trainer.pipeline=demo",
        "trainer.experiment_name=default",
        "trainer.total_steps=16",
        "trainer.test_freq=8",
        "data.train_files=[synthetic:addition:2]",
        "data.train_batch_size=16",
        "data.val_batch_size=128",
        "data.max_prompt_length=16",
        "data.max_response_length=48",
        "rollout.n=8",
        "rollout.max_new_tokens=48",
        "actor.ppo_mini_batch_size=16",
        "actor.ppo_micro_batch_size_per_gpu=32",
        "actor.optim.lr=3e-5",
        "model.tiny.max_seq_len=72",
    ]
}

/// The run directory is held by another job: every rank throws it, so all end together.
struct RunLockRefused: Error {
    /// The leader's message (the holder and what to do).
    let reason: String
    /// Whether this rank prints it (the leader only, so it appears once).
    let isLeader: Bool
}
