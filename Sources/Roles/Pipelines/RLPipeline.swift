import Checkpoint
import Comm
import Configs
import Foundation
import Objectives
import Tensors
import Transformer

/// What an RL run keeps across steps and checkpoints.
struct RLState: Codable, Equatable {
    /// AdamW steps of the actor optimizer (the same on every learner); nil before the first update.
    var adamStep: Int?
    /// ISPO's running scale of the sequence information.
    var ispoScale: RunningScale
    /// A frozen reference (KL reference / ISPO's π_base) is saved in group `reference`.
    var hasReference: Bool

    init(adamStep: Int?, ispoScale: RunningScale, hasReference: Bool) {
        self.adamStep = adamStep; self.ispoScale = ispoScale; self.hasReference = hasReference
    }

    /// A step-0 checkpoint of another pipeline (an `sft` warm start) has no RL
    /// slice: an RL run starts from it with a fresh optimizer, scale and reference.
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        adamStep = try c.decodeIfPresent(Int.self, forKey: .adamStep)
        ispoScale = try c.decodeIfPresent(RunningScale.self, forKey: .ispoScale) ?? RunningScale()
        hasReference = try c.decodeIfPresent(Bool.self, forKey: .hasReference) ?? false
    }
}

/// `trainer.pipeline=rl` (and `demo`: an SFT warm start first): synchronous
/// GRPO-family steps with ISPO's signals. Each step: weight sync → rollout
/// ranks sample G completions per prompt (refilled by dynamic sampling) →
/// allgather → rewards (overlong shaping, ISPO's composite) → advantages →
/// the learners' ZeRO-1 update → metrics.
final class RLPipeline: JobPipeline {
    let ctx: JobContext
    /// The actor optimizer (learners; created at the first update or the resume).
    var optimizer: ShardedOptimizer?
    /// Frozen copy of the policy at RL start: the KL reference on learners,
    /// ISPO's π_base on rollout workers (only where needed).
    var reference: Model?
    /// ISPO's running scale s of the sequence information I (same on every rank).
    var ispoScale = RunningScale()
    let ispo: ISPOStage
    /// FLaG's live scores: metrics, filter, penalty (`flag.*`).
    var flagStage: FLaGStage { FLaGStage(config: ctx.config.flag) }

    init(ctx: JobContext) {
        self.ctx = ctx
        ispo = ISPOStage(config: ctx.config)
    }

    private var loop: StepLoop {
        StepLoop(ctx: ctx, saver: CheckpointSaver(ctx: ctx, pipeline: self), evaluator: Evaluator(ctx: ctx))
    }

    func run(resumed: ResumedRun?) throws -> JobStop? {
        if let resumed { try restore(resumed) }
        if !(resumed?.state.warmStartDone ?? false), ctx.config.trainer.pipeline == .demo { try WarmStartTrainer(ctx: ctx).run() }
        if resumed == nil && ctx.config.trainer.valBeforeTrain { try Evaluator(ctx: ctx).evaluate(step: 0) }
        return try loop.run(resumed: resumed, total: ctx.config.trainer.totalSteps ?? 0,
                            testFreq: ctx.config.trainer.testFreq) { step in try self.step(step) }
    }

    // MARK: Reference

    /// Whether rank `r` holds a frozen reference: learners for the KL term,
    /// rollout workers for ISPO's drift.
    func rankNeedsReference(_ r: Int) -> Bool {
        (ctx.layout.rank(r, has: .learner) && ctx.config.actor.useKLLoss)
            || (ctx.rolloutRanks.contains(r) && ctx.config.algorithm.ispo.computesSignals)
    }

    var needsReference: Bool { rankNeedsReference(ctx.world.rank) }

    /// Freezes the current policy as π_base / the KL reference (once, at the
    /// first RL step, after the weights are synchronised).
    func freezeReferenceIfNeeded() throws {
        guard needsReference, reference == nil else { return }
        let ref = try Model(config: ctx.model.config)
        ref.parameters.pointer.update(from: ctx.model.parameters.pointer, count: ctx.model.parameters.count)
        reference = ref
    }

    // MARK: Checkpoint

    func writeShards(_ files: ShardFiles, step: Int) throws -> [ShardSummary] {
        var out: [ShardSummary] = []
        if let opt = optimizer, ctx.isLearner { out.append(try ActorOptimizer.writeShard(opt, files: files)) }
        // The reference is the same on every rank that holds one: the first such rank saves it.
        if ctx.world.rank == (0..<ctx.world.size).first(where: rankNeedsReference), let ref = reference {
            out.append(try files.writeModel(UnsafeBufferPointer(start: ref.parameters.pointer, count: ref.parameters.count),
                                            group: "reference"))
        }
        return out
    }

    func encodedState(step: Int) throws -> [UInt8] {
        let hasWriter = (0..<ctx.world.size).contains(where: rankNeedsReference)
        return try JSONCoding.encode(RLState(adamStep: optimizer?.adam.stepCount, ispoScale: ispoScale,
                                             hasReference: hasWriter && step > 0))
    }

    /// Collective: the reference, the optimizer moments and ISPO's scale of `resumed`.
    func restore(_ resumed: ResumedRun) throws {
        let state = try resumed.pipelineState(RLState.self)
        let path = resumed.path, model = ctx.model
        if state.hasReference {
            let ref = FlatBuffer(count: model.parameters.count)
            var readError: String?
            if ctx.isLeader {
                do {
                    let values = try CheckpointReader(directory: path).concatenated(tensor: "parameters", group: "reference")
                    guard values.count == ref.count else {
                        throw JobError("\(path)/reference: expected \(ref.count) floats, found \(values.count)")
                    }
                    values.withUnsafeBufferPointer { ref.pointer.update(from: $0.baseAddress!, count: values.count) }
                } catch { readError = "\(error)" }
            }
            try ctx.agreeOrThrow(readError, what: "reading the frozen reference of \(path)")
            try ctx.world.broadcast(ref.buffer, root: ctx.leaderRank)
            if needsReference {
                let r = try Model(config: model.config)
                r.parameters.pointer.update(from: ref.pointer, count: ref.count)
                reference = r
            }
        } else if needsReference && resumed.state.step > 0 && ctx.isLeader {
            print("ispo-cluster: note: \(path) has no frozen reference; this config needs one, so the policy at step "
                  + "\(resumed.state.step + 1) becomes the reference")
        }
        if let adamStep = state.adamStep, ctx.isLearner, let lc = ctx.learnerComm {
            let opt = ActorOptimizer.make(model: model, learners: lc, config: ctx.config)
            try ActorOptimizer.restore(opt, from: path, adamStep: adamStep)
            optimizer = opt
        }
        ispoScale = state.ispoScale
    }
}
