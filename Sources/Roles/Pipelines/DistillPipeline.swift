import Checkpoint
import Comm
import Configs
import Foundation
import Objectives
import Tensors
import Transformer

/// What a distill run keeps across checkpoints: only the optimizer's step
/// count (its moments are shards; the frozen `student` teacher is a shard).
struct DistillState: Codable, Equatable {
    /// AdamW steps of the actor optimizer; nil before the first update.
    var adamStep: Int?
}

/// `trainer.pipeline=distill`: MOTAB and its baselines in one loop (METHODS §2).
///
/// Each step: weight sync → rollout ranks generate G samples per prompt
/// (`motab`: with the entropy monitor and teacher backtracking; `on_policy`:
/// the same without the monitor), have the teacher score them, and verify
/// them; or (`sft`) teacher ranks write traces and keep the correct ones →
/// allgather → learners minimise `DistillationLoss` (or cross-entropy on the
/// traces) with ZeRO-1 → metrics. The student may be warm-started first
/// (before the step-0 evaluation, so step 0 is the warm-started student).
///
/// Resume: the student and its AdamW moments come back from the checkpoint
/// of step k and the run continues at step k+1. Nothing else carries over:
/// each rollout's monitor starts empty, a `TeacherServer` session and the
/// generator last one step, the prompts and sampling seeds are functions of
/// (seed, step), and the teachers are reloaded from
/// `distillation.teacher_models`, except a `student` teacher, the frozen
/// starting student, which the checkpoint holds. A stopped and resumed run
/// ends on the uninterrupted run's parameters bit for bit (`DistillResumeTests`).
final class DistillPipeline: JobPipeline {
    let ctx: JobContext
    let mode: DistillationMode
    let estimator: DistillationEstimator
    /// Which teacher each rollout rank asks.
    let assignment: TeacherAssignment
    /// The actor optimizer (learners; created at the first update or the resume).
    var optimizer: ShardedOptimizer?
    /// This rank's teacher network (teacher ranks only, after `prepare`).
    var teacher: Model?
    /// Monitor and intervention settings (after `prepare`).
    var settings: MotabSettings?
    /// Whether this rank's teacher is the frozen starting student (checkpoints save it).
    var teacherIsFrozenStudent = false
    /// Rollout ranks, `distillation.boundary` `family` / `global`: the statistics kept across steps.
    var boundaryStore: MotabBoundaryStore?

    /// Checkpoint group of the frozen `student` teacher.
    static let studentTeacherGroup = "teacher"

    init(ctx: JobContext) throws {
        self.ctx = ctx
        let d = ctx.config.distillation
        guard let estimator = DistillationEstimator(rawValue: d.estimator) else {
            throw JobError("distillation.estimator=\(d.estimator): expected full or sampled")
        }
        guard !ctx.teacherRanks.isEmpty else {
            throw JobError("trainer.pipeline=distill needs a teacher rank; the layout has roles \(ctx.layout.describe())")
        }
        mode = d.mode
        self.estimator = estimator
        assignment = try TeacherAssignment(layout: ctx.layout)
    }

    private var saver: CheckpointSaver {
        CheckpointSaver(ctx: ctx, pipeline: self)
    }

    func run(resumed: ResumedRun?) throws -> JobStop? {
        if let resumed { try restoreOptimizer(resumed) }
        if !(resumed?.state.warmStartDone ?? false) { try WarmStartTrainer(ctx: ctx).run() }
        let evaluator = Evaluator(ctx: ctx)
        if resumed == nil && ctx.config.trainer.valBeforeTrain { try evaluator.evaluate(step: 0) }
        try prepare(resumed: resumed)
        return try StepLoop(ctx: ctx, saver: saver, evaluator: evaluator)
            .run(resumed: resumed, total: ctx.config.trainer.totalSteps ?? 0, testFreq: ctx.config.trainer.testFreq) { step in
                try self.step(step)
            }
    }

    /// Collective: syncs the starting student, loads each teacher rank's teacher, builds the settings.
    func prepare(resumed: ResumedRun?) throws {
        let d = ctx.config.distillation
        // A resumed run's `student` teacher is the student it started with, not the restored one.
        var savedStudentTeacher: FlatBuffer?
        if let resumed, studentTeacherWriter != nil {
            savedStudentTeacher = try restoreStudentTeacher(path: resumed.path, step: resumed.state.step)
        }
        _ = try ctx.syncWeights()  // every rank holds the starting student (a `student` teacher copies it)
        let model = ctx.model
        let need = ctx.config.data.maxPromptLength + (ctx.config.rollout.maxNewTokens ?? ctx.config.data.maxResponseLength)
        if let index = ctx.teacherRanks.firstIndex(of: ctx.world.rank) {
            let spec = try TeacherSpecs.spec(d.teacherModels, index: index, teacherRanks: ctx.teacherRanks.count)
            if spec == TeacherSpecs.student, let saved = savedStudentTeacher {
                let t = try Model(config: model.config)
                t.parameters.pointer.update(from: saved.pointer, count: saved.count)
                teacher = t
            } else {
                teacher = try TeacherSpecs.load(spec, student: model, maxSeqLen: min(need, model.config.maxSeqLen))
            }
            teacherIsFrozenStudent = spec == TeacherSpecs.student
        }
        let boundary = Set(try [";", "\n"].flatMap { try ctx.codec.encode($0) })
        settings = MotabSettings(config: d, boundaryTokens: boundary)
        if ctx.rolloutRanks.contains(ctx.world.rank) {
            boundaryStore = MotabBoundaryStore(mode: d.boundary, decay: d.boundaryDecay, teacherLogRatio: d.trigger.teacherSignalIsLogRatio)
        }
        if ctx.isLeader {
            let from = resumed.map { ", continuing after step \($0.state.step)" } ?? ""
            print("ispo-cluster: distill mode \(d.mode.rawValue), trigger \(d.trigger.rawValue), boundary \(d.boundary.rawValue), estimator \(estimator.rawValue), "
                  + "teachers on ranks \(ctx.teacherRanks) (\(d.teacherModels.joined(separator: ", ")))\(from)")
        }
    }

    // MARK: Checkpoint

    /// The rank that saves the frozen `student` teacher: the first teacher rank
    /// whose spec is `student` (nil: none). Computable on every rank.
    var studentTeacherWriter: Int? {
        let ranks = ctx.teacherRanks, specs = ctx.config.distillation.teacherModels
        let index = ranks.indices.first { i in
            (try? TeacherSpecs.spec(specs, index: i, teacherRanks: ranks.count)) == TeacherSpecs.student
        }
        return index.map { ranks[$0] }
    }

    func writeShards(_ files: ShardFiles, step: Int) throws -> [ShardSummary] {
        var out: [ShardSummary] = []
        if let opt = optimizer, ctx.isLearner { out.append(try ActorOptimizer.writeShard(opt, files: files)) }
        if ctx.world.rank == studentTeacherWriter, teacherIsFrozenStudent, let t = teacher {
            out.append(try files.writeModel(UnsafeBufferPointer(start: t.parameters.pointer, count: t.parameters.count),
                                            group: Self.studentTeacherGroup))
        }
        return out
    }

    func encodedState(step: Int) throws -> [UInt8] { try JSONCoding.encode(DistillState(adamStep: optimizer?.adam.stepCount)) }

    /// The optimizer moments of `resumed` on the learners.
    func restoreOptimizer(_ resumed: ResumedRun) throws {
        let state = try resumed.pipelineState(DistillState.self)
        if let adamStep = state.adamStep, ctx.isLearner, let lc = ctx.learnerComm {
            let opt = ActorOptimizer.make(model: ctx.model, learners: lc, config: ctx.config)
            try ActorOptimizer.restore(opt, from: resumed.path, adamStep: adamStep)
            optimizer = opt
        }
    }

    /// Collective, on resume from `path` (step `step`): the frozen `student`
    /// teacher the checkpoint holds, on every rank; nil when a step-0 checkpoint
    /// has none (its student is the starting student, which the teacher copies as usual).
    func restoreStudentTeacher(path: String, step: Int) throws -> FlatBuffer? {
        let group = Self.studentTeacherGroup
        let values = FlatBuffer(count: ctx.model.parameters.count)
        var readError: String?, found = false
        if ctx.isLeader {
            do {
                let reader = try CheckpointReader(directory: path)
                if !reader.manifest.shards(group: group).isEmpty {
                    let stored = try reader.concatenated(tensor: "parameters", group: group)
                    guard stored.count == values.count else {
                        throw JobError("\(path)/\(group): expected \(values.count) floats, found \(stored.count)")
                    }
                    stored.withUnsafeBufferPointer { values.pointer.update(from: $0.baseAddress!, count: stored.count) }
                    found = true
                } else if step > 0 {
                    throw JobError("\(path) is step \(step) of a distill run with a `student` teacher, but it holds no `\(group)` "
                                   + "group with that frozen starting student (expected \(group)/rank_00000.shard), so the teacher "
                                   + "cannot be rebuilt. Start from a step-0 checkpoint (checkpoint.resume_mode=<path>), or resume_mode=disable.")
                }
            } catch { readError = "\(error)" }
        }
        try ctx.agreeOrThrow(readError, what: "restoring the `student` teacher of \(path)")
        guard try ctx.world.allreduceMax([found ? 1 : 0])[0] > 0 else { return nil }
        try ctx.world.broadcast(values.buffer, root: ctx.leaderRank)
        return values
    }
}
