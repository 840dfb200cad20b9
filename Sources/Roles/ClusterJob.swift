import Checkpoint
import Comm
import Configs
import Foundation
import Objectives
import Optimization
import Tasks
import Tensors
import Transformer

/// Supervised warm-start settings of a job (the `demo` pipeline's first phase).
public struct WarmStart: Sendable {
    /// Optimizer steps (0 = none).
    public var steps: Int
    /// Sequences per step, over all learners.
    public var batchSize: Int
    /// Peak learning rate (warmup 5% + cosine to 10%).
    public var lr: Double

    /// Creates settings.
    public init(steps: Int, batchSize: Int, lr: Double) { self.steps = steps; self.batchSize = batchSize; self.lr = lr }
}

/// One run of a pipeline on every rank of `world`. All ranks execute the same
/// sequence of collectives; what each does between them depends on its roles.
public final class ClusterJob {
    let world: Communicator
    let layout: RankLayout
    let config: Config
    let warmStart: WarmStart
    let learnerComm: Communicator?
    let model: Model
    let codec: TextCodec
    let data: PromptData
    let validation: [PromptItem]
    let verifier: AnswerVerifier
    let logger: MetricsLogger?
    let runSeed: UInt64
    let runDirectory: String?
    var weightVersion = 0
    /// The RL optimizer (created on first use, kept across steps: AdamW moments persist).
    var actorOptimizerStorage: ShardedOptimizer?
    /// Frozen copy of the policy at RL start: the KL reference on learners,
    /// ISPO's π_base on rollout workers (only where needed).
    var reference: Model?
    /// ISPO's running scale s of the sequence information I (same on every rank).
    var ispoScale = RunningScale()
    /// `distill`: the frozen copy of the starting student that a `student` teacher
    /// spec names (on the teacher ranks with that spec). Checkpoints save it (group
    /// `teacher`), so a resumed run asks the teacher it started with.
    var frozenStudentTeacher: Model?
    /// `mot`: CRC-32C of every teacher's kept traces (saved in the job state; a
    /// resumed run regenerates the traces and must find the same).
    var motTraceCRC: UInt32?
    /// The checkpoint `resumeIfRequested` restored (every rank; nil: fresh start).
    var resumedCheckpoint: String?
    /// Metrics of the evaluations, by step, on the leader (for the final report).
    public internal(set) var evaluations: [(step: Int, metrics: [String: Double])] = []
    /// The run's checkpoints (nil: no run directory, nothing saved); set on every rank by `resumeIfRequested`.
    var checkpointStore: CheckpointStore?
    /// The leader's metrics of the last step or MoT round (for the checkpoint manifest and retention).
    var lastStepMetrics: [String: Double] = [:]
    /// Test-only fault injection.
    var faultHooks = JobFaultHooks()
    /// Test-only records of the MoT pipeline (`ClusterJob+MoT.swift`).
    var motHooks = JobMoTHooks()
    /// Test-only records of the evaluations (`ClusterJob+Eval.swift`).
    var evaluationHooks = JobEvaluationHooks()
    /// Set when `run()` returned early after a stop request (SIGUSR1), with the checkpoint it wrote.
    public internal(set) var stopped: JobStop?

    var isLeader: Bool { world.rank == leaderRank }
    var leaderRank: Int { layout.ranks(.learner)[0] }
    var isLearner: Bool { layout.rank(world.rank, has: .learner) }
    var rolloutRanks: [Int] { layout.ranks(.rollout) }
    var learnerRanks: [Int] { layout.ranks(.learner) }

    /// Builds the model, data and communicators on this rank. `root` is the
    /// repository root (for the data cache); `runDirectory` nil disables files.
    public init(world: Communicator, layout: RankLayout, config: Config, warmStart: WarmStart,
                root: String, runDirectory: String?) throws {
        precondition(layout.worldSize == world.size, "layout has \(layout.worldSize) ranks, world has \(world.size)")
        self.world = world; self.layout = layout; self.config = config; self.warmStart = warmStart
        runSeed = UInt64(config.trainer.seed)
        self.runDirectory = runDirectory
        let isLearner = layout.rank(world.rank, has: .learner)
        learnerComm = try world.split(color: isLearner ? 0 : nil, key: world.rank)
        if config.model.usesTinyModel {
            codec = try CharCodec(alphabet: syntheticAlphabet)
            let t = config.model.tiny
            let mc = Transformer.ModelConfig(vocabSize: codec.vocabSize, dim: t.dim, layers: t.layers, heads: t.heads,
                                             kvHeads: t.kvHeads, ffnDim: t.ffnDim, maxSeqLen: t.maxSeqLen,
                                             ropeTheta: Float(t.ropeTheta))
            model = try Model(config: mc)
            model.initialize(seed: SeedMixer.derive(run: runSeed, purpose: 1))
        } else if CheckpointModels.isCheckpoint(config.model.path) {
            // A tiny model's checkpoint: its weights (and architecture) start this run.
            codec = try CharCodec(alphabet: syntheticAlphabet)
            model = try CheckpointModels.student(path: config.model.path, keepLayers: config.model.keepLayers,
                                                 vocabSize: codec.vocabSize,
                                                 need: config.data.maxPromptLength + config.data.maxResponseLength)
        } else {
            // Every rank reads the same file, so the weights agree before the first sync.
            let need = config.data.maxPromptLength + config.data.maxResponseLength + 64
            let loaded = try ModelLoading.load(path: config.model.path, maxSeqLen: need)
            model = try CheckpointModels.keeping(config.model.keepLayers, of: loaded.model, source: config.model.path)
            codec = BPECodec(tokenizer: loaded.tokenizer)
        }
        data = try PromptData(specs: config.data.trainFiles, root: root,
                              maxSamples: config.data.maxSamples > 0 ? config.data.maxSamples : nil, runSeed: runSeed)
        let valData = config.data.valFiles.isEmpty ? data
            : try PromptData(specs: config.data.valFiles, root: root, maxSamples: nil, runSeed: runSeed)
        validation = valData.validation(countPerSource: config.data.valBatchSize ?? 64)
        verifier = AnswerVerifier(timeout: config.reward.timeoutSeconds)
        let total = config.trainer.totalSteps ?? 0
        logger = world.rank == layout.ranks(.learner)[0] ? try MetricsLogger(runDirectory: runDirectory, totalSteps: total) : nil
    }

    /// The RL optimizer over the learners, created once.
    func actorOptimizer(_ lc: Communicator) throws -> ShardedOptimizer {
        if let o = actorOptimizerStorage { return o }
        let o = config.actor.optim
        let adam = AdamWConfig(lr: o.lr, beta1: o.betas.first ?? 0.9, beta2: o.betas.count > 1 ? o.betas[1] : 0.999,
                               eps: o.eps, weightDecay: o.weightDecay)
        let opt = ShardedOptimizer(model: model, comm: lc, config: adam)
        actorOptimizerStorage = opt
        return opt
    }

    /// Learning rate of RL step `step` (1-based) from `actor.optim`.
    func actorLR(step: Int) -> Double {
        let o = config.actor.optim, total = max(1, config.trainer.totalSteps ?? 1)
        let warm = o.lrWarmupSteps > 0 ? o.lrWarmupSteps : Int(o.lrWarmupStepsRatio * Double(total))
        let schedule = LRSchedule(peak: o.lr, warmupSteps: warm, totalSteps: total,
                                  minRatio: o.lrSchedulerType == .cosine ? o.minLrRatio : 1)
        return schedule.lr(at: step - 1)
    }

    /// Answer check for one response.
    func verify(_ response: String, _ item: PromptItem) -> Verdict {
        let r = verifier.verify(response: response, groundTruth: item.groundTruth, source: item.dataSource)
        return Verdict(correct: r.correct, timedOut: r.timedOut)
    }

    /// Broadcasts the leader's weights to every rank and bumps the version.
    func syncWeights() throws -> Double {
        let t = Date()
        try world.broadcast(model.parameters.buffer, root: leaderRank)
        weightVersion += 1
        return Date().timeIntervalSince(t)
    }

    /// Runs the configured pipeline to the end, or until a stop request
    /// (SIGUSR1), after which it checkpoints the step and returns with `stopped` set.
    /// Resumes first when `checkpoint.resume_mode` finds a checkpoint: the `rl`,
    /// `demo`, `distill` and `mot` pipelines continue after its step (`runSteps`).
    public func run() throws {
        let pipeline = config.trainer.pipeline
        let resumed = try resumeIfRequested()
        let hasRL = pipeline == .rl || pipeline == .demo
        let saveFreq = config.checkpoint.saveFreq
        if !(resumed?.warmStartDone ?? false) {
            // A distill run's step 0 is the warm-started student: warm-start before its step-0 evaluation.
            if pipeline == .demo || pipeline == .sft || pipeline == .distill { try supervisedWarmStart() }
        }
        if pipeline == .eval || (resumed == nil && config.trainer.valBeforeTrain) { try evaluate(step: resumed?.step ?? 0) }
        if hasRL {
            try runSteps(resumed: resumed, total: config.trainer.totalSteps ?? 0, testFreq: config.trainer.testFreq) { step in
                try rlStep(step)
            }
        } else if pipeline == .distill {
            try runDistillation(resumed: resumed)
        } else if pipeline == .mot {
            try runMergeOfThought(resumed: resumed)
        } else if pipeline == .sft {
            if resumed == nil {
                try evaluate(step: warmStart.steps)
                // The warm-started policy as step 0, for an rl run to start from (resume_mode=<this checkpoint>).
                if saveFreq > 0 { try saveCheckpoint(step: 0, warmStartDone: true) }
            }
        }
        try world.barrier()
    }

    /// The step loop of the `rl`/`demo`, `distill` and `mot` pipelines (a MoT
    /// step is a round): steps k+1…`total` after the restored step k (0 on a
    /// fresh start), each followed by an evaluation every `testFreq` steps and
    /// at the last, the stop check and a checkpoint every `checkpoint.save_freq`
    /// steps, at the last and on a stop. A stop requested before step 1 (during
    /// the warm start or a pipeline's preparation) is honoured before step 1
    /// with a checkpoint of step 0. Returns early with `stopped` set.
    func runSteps(resumed: JobState?, total: Int, testFreq: Int, _ body: (Int) throws -> Void) throws {
        let saveFreq = config.checkpoint.saveFreq
        var step = resumed?.step ?? 0
        if step == 0, step < total, try stopRequestedEverywhere(afterStep: 0) {
            stopped = JobStop(step: 0, checkpoint: resumed == nil ? try saveCheckpoint(step: 0, warmStartDone: true) : nil)
            return
        }
        while step < total {
            step += 1
            try body(step)
            if (testFreq > 0 && step % testFreq == 0) || step == total { try evaluate(step: step) }
            let stop = try stopRequestedEverywhere(afterStep: step)
            let periodic = saveFreq > 0 && (step % saveFreq == 0 || step == total)
            var saved: String?
            if periodic || stop { saved = try saveCheckpoint(step: step, warmStartDone: true) }
            if stop && step < total {
                stopped = JobStop(step: step, checkpoint: saved)
                return
            }
        }
    }
}

/// A job that cannot run as configured.
public struct JobError: Error, CustomStringConvertible {
    /// What is wrong and what to do.
    public let description: String
    init(_ s: String) { description = s }
}
