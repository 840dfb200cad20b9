import Checkpoint
import Comm
import Configs
import Foundation
import Tasks
import Tensors
import Transformer

/// What every pipeline of a job shares on this rank: the world and its
/// layout, the model and its codec, the data, the logger and the checkpoint
/// store. It holds no pipeline's state; pipelines hold a reference to it.
final class JobContext {
    let world: Communicator
    let layout: RankLayout
    let config: Config
    let warmStart: WarmStart
    /// The learners' communicator (nil on other ranks).
    let learnerComm: Communicator?
    let model: Model
    let codec: TextCodec
    let data: PromptData
    let validation: [PromptItem]
    /// The first `trainer.val_loss_examples` validation prompts per source that
    /// have a reference completion, with it (ReferenceLoss).
    let validationReferences: [(item: PromptItem, completion: String)]
    let verifier: AnswerVerifier
    /// The FLaG head that scores every rollout (`flag.enable`; nil when off).
    let flag: FLaGLive?
    /// The leader's metrics logger (nil elsewhere).
    let logger: MetricsLogger?
    let runSeed: UInt64
    /// The run directory on the leader (nil elsewhere, or when the job writes no files).
    let runDirectory: String?
    /// Test hooks (nil from the CLI).
    var observer: JobObserver?
    /// Weight broadcasts so far.
    var weightVersion = 0
    /// The run's checkpoints (nil: no run directory, nothing saved); set on every rank by the resume.
    var checkpointStore: CheckpointStore?
    /// Metrics of the evaluations, by step, on the leader (for the final report and the job state).
    var evaluations: [(step: Int, metrics: [String: Double])] = []
    /// The leader's metrics of the last step or MoT round (for the checkpoint manifest and retention).
    var lastStepMetrics: [String: Double] = [:]
    /// The current phase's time limit (see `startPhase`).
    private(set) var deadline: Deadline?
    /// Seconds the last checkpoint took on this rank (0 before the first): whether a signalled job's save fits its grace time.
    var lastSaveSeconds = 0.0

    var leaderRank: Int { layout.ranks(.learner)[0] }
    var isLeader: Bool { world.rank == leaderRank }
    var isLearner: Bool { layout.rank(world.rank, has: .learner) }
    var learnerRanks: [Int] { layout.ranks(.learner) }
    var rolloutRanks: [Int] { layout.ranks(.rollout) }
    var teacherRanks: [Int] { layout.ranks(.teacher) }
    var isRolloutRank: Bool { rolloutRanks.contains(world.rank) }

    /// Builds the model, data and communicators on this rank. `root` is the
    /// repository root (for the data cache); `runDirectory` nil disables files.
    init(world: Communicator, layout: RankLayout, config: Config, warmStart: WarmStart,
         root: String, runDirectory: String?, observer: JobObserver?, memoryBytes: Int? = nil) throws {
        precondition(layout.worldSize == world.size, "layout has \(layout.worldSize) ranks, world has \(world.size)")
        self.world = world; self.layout = layout; self.config = config; self.warmStart = warmStart
        self.observer = observer
        runSeed = UInt64(config.trainer.seed)
        let t = config.trainer
        // The start-up (loading, resume, warm start, preparation) and the first step share one budget.
        deadline = Deadline(phase: "start-up and the first step", seconds: t.firstStepBudgetS,
                            key: t.firstStepTimeoutS == nil ? "trainer.step_timeout_s (×3 for the first step)" : "trainer.first_step_timeout_s")
        world.setDeadline(deadline)
        self.runDirectory = runDirectory
        let isLearner = layout.rank(world.rank, has: .learner)
        learnerComm = try world.split(color: isLearner ? 0 : nil, key: world.rank)
        (model, codec) = try StudentModel.load(config: config, runSeed: runSeed)
        flag = try FLaGLive(config: config.flag, model: model.config)
        if !config.model.usesTinyModel, let memoryBytes {
            // The model file is read; refuse before the gradients, moments and caches are allocated.
            let c = model.config
            let dims = ModelDimensions(vocabSize: c.vocabSize, dim: c.dim, layers: c.layers, heads: c.heads,
                                       kvHeads: c.kvHeads, ffnDim: c.ffnDim)
            if let problem = config.memoryProblem(model: dims, memoryBytes: memoryBytes) { throw JobError(problem.message) }
        }
        data = try PromptData(specs: config.data.trainFiles, root: root,
                              maxSamples: config.data.maxSamples > 0 ? config.data.maxSamples : nil, runSeed: runSeed,
                              prompt: config.data.prompt)
        let valData = config.data.valFiles.isEmpty ? data
            : try PromptData(specs: config.data.valFiles, root: root, maxSamples: nil, runSeed: runSeed,
                             prompt: config.data.prompt, key: "data.val_files")
        validation = valData.validation(countPerSource: config.data.valBatchSize)
        validationReferences = config.trainer.valLossExamples == 0 ? []
            : valData.validationWithReferences(countPerSource: config.trainer.valLossExamples)
                .compactMap { ref in ref.completion.map { (ref.item, $0) } }
        verifier = AnswerVerifier(timeout: config.reward.timeoutSeconds)
        let total = config.trainer.totalSteps ?? 0
        logger = world.rank == layout.ranks(.learner)[0] ? try MetricsLogger(runDirectory: runDirectory, totalSteps: total) : nil
    }

    /// Sequences per teacher-forced scoring pass (ledger, priority reference,
    /// P2D probe loss, held-out loss): `sft.micro_batch_size`, or 16 when that is 0.
    var scoringChunk: Int { config.sft.microBatchSize > 0 ? config.sft.microBatchSize : 16 }

    /// Answer check for one response.
    func verify(_ response: String, _ item: PromptItem) -> Verdict {
        let r = verifier.verify(response: response, groundTruth: item.groundTruth, source: item.dataSource)
        return Verdict(correct: r.correct, timedOut: r.timedOut)
    }

    /// Broadcasts the leader's weights to every rank and bumps the version; returns the seconds it took.
    func syncWeights() throws -> Double {
        let t = Date()
        try world.broadcast(model.parameters.buffer, root: leaderRank)
        weightVersion += 1
        return Date().timeIntervalSince(t)
    }

    /// Every rank learns whether the leader failed; all throw the same error.
    func agreeOrThrow(_ leaderError: String?, what: String) throws {
        let bytes = try world.broadcastBytes(isLeader ? Array((leaderError ?? "").utf8) : [], root: leaderRank)
        if !bytes.isEmpty { throw JobError("\(what): \(String(decoding: bytes, as: UTF8.self))") }
    }

    /// The stop any rank was asked for (SIGUSR1, SIGTERM, SIGINT or a test hook),
    /// or nil: one small allreduce at each step boundary so every rank stops
    /// after the same step and takes the same decision about its checkpoint.
    func stopRequestedEverywhere(afterStep step: Int) throws -> AgreedStop? {
        let hook = observer?.shouldStop(afterStep: step) ?? false
        let signal = StopRequest.isRequested ? StopRequest.signal : (hook ? SIGUSR1 : 0)
        let agreed = try world.allreduceMax([AgreedStop.code(signal), StopRequest.secondsSinceSignal, lastSaveSeconds])
        guard agreed[0] > 0 else { return nil }
        return AgreedStop(signal: AgreedStop.signal(code: agreed[0]), elapsed: agreed[1], lastSave: agreed[2])
    }

    /// Starts a phase of the job with its own time limit on waiting for the other
    /// ranks (`seconds` from the config key `key`; 0 = none). See `Deadline`.
    func startPhase(_ phase: String, seconds: Double, key: String) {
        deadline = Deadline(phase: phase, seconds: seconds, key: key)
        world.setDeadline(deadline)
    }

    /// Runs `body` as a phase with its own budget, then resumes the enclosing phase
    /// with its deadline moved by the time `body` took (an evaluation does not eat
    /// into its step's budget).
    func inOwnPhase<T>(_ phase: String, seconds: Double, key: String, _ body: () throws -> T) rethrows -> T {
        let outer = deadline, start = Deadline.now()
        startPhase(phase, seconds: seconds, key: key)
        defer {
            deadline = outer?.extended(by: Deadline.now() - start)
            world.setDeadline(deadline)
        }
        return try body()
    }

    /// The sampling settings of training rollouts (`rollout.*`), for RL and distillation.
    func trainingSamplingOptions() -> SamplingOptions {
        SamplingOptions(temperature: Float(config.rollout.temperature), topP: Float(config.rollout.topP),
                        maxNewTokens: config.rollout.maxNewTokens ?? config.data.maxResponseLength)
    }

    /// The CRC-32C of the prompts the RL (or distill) step after `step` draws first.
    func nextBatchCRC(after step: Int) -> UInt32 {
        let items = data.batch(step: PromptStream.firstBatch(ofStep: step + 1), count: config.data.trainBatchSize)
        return CRC32C.checksum(Array(items.map { $0.prompt + "\u{1}" + $0.groundTruth }.joined(separator: "\u{2}").utf8))
    }

    /// Learners, after an optimizer step: parameters that became non-finite
    /// cannot be skipped (the step is applied), so the job stops whatever the NaN policy.
    func checkParametersFinite(step: Int) throws {
        let p = model.parameters.pointer
        var finite = true
        for i in 0..<model.parameters.count where !p[i].isFinite { finite = false; break }
        guard finite else {
            throw JobError("step \(step): the optimizer step made parameters non-finite (actor.optim.lr=\(config.actor.optim.lr) too large?). "
                           + "The model cannot continue: resume from the last checkpoint (checkpoint.resume_mode=auto) with a lower "
                           + "actor.optim.lr or a tighter actor.grad_clip.")
        }
    }

    /// Logs a step's metrics on the leader and keeps them for the checkpoint manifest.
    func logStep(_ step: Int, _ metrics: [String: Double]) {
        guard isLeader else { return }
        lastStepMetrics = metrics
        logger?.log(step: step, metrics)
    }
}

/// A job that cannot run as configured.
public struct JobError: Error, CustomStringConvertible {
    /// What is wrong and what to do.
    public let description: String
    init(_ s: String) { description = s }
}
