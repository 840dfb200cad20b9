import Checkpoint
import Comm
import Configs
import Foundation
import Tensors

/// What a MoT run keeps across checkpoints.
struct MoTState: Codable, Equatable {
    /// CRC-32C of the teachers' kept traces the rounds trained on (nil in checkpoints that predate it).
    var motTraceCRC: UInt32?
}

/// What a teacher rank reports after writing its traces (an error travels
/// to every rank, so that all of them throw together).
private struct MoTTraceReport: Codable {
    var traces: [MoTTrace] = []
    var written = 0
    var correct = 0
    var error: String?
}

/// `trainer.pipeline=mot`: Merge-of-Thought (METHODS §3).
///
/// 1. Teacher rank k loads `distillation.teacher_models[k]` and writes greedy traces
///    for the same `merge.trace_prompts` training prompts; only those whose answer
///    verifies are kept (all with `merge.keep_wrong_traces`); every rank receives
///    every teacher's traces.
/// 2. Round t = 1…T (`merge.rounds`): teacher rank k trains branch k, a copy of the
///    student θ̄, on teacher k's traces for E epochs (`merge.epochs_per_round`;
///    batch and peak lr from the SFT settings, fresh AdamW each round, cross-entropy
///    on completion tokens); the branches merge with `merge.merge_method` by an
///    allreduce over the teacher ranks, the first teacher rank broadcasts θ̄ to
///    every rank, and θ̄ is evaluated.
/// 3. Baselines (`merge.baseline`), on the first teacher rank: `teacher` trains θ̄
///    on teacher `merge.teacher_index`'s traces (one single-teacher run; the best
///    of the K runs is the best-single-teacher baseline, `Launch/mot-experiment.sh`),
///    `most_traces` on the traces of the teacher with the most correct traces,
///    `union` on all traces pooled; each for as many optimizer steps per round as
///    all MoT branches together take (`merge.baseline_budget=steps`) or for E
///    epochs over its own traces (`epochs`).
///
/// Resume: a checkpoint is saved after a round (`checkpoint.save_freq` counts
/// rounds), and a rerun continues after the last saved round k. The traces are
/// regenerated rather than saved (a pure function of the teachers and the
/// seed); the checkpoint keeps their CRC-32C, so a changed teacher is refused.
/// Each round starts a fresh AdamW, its batch order and DARE mask are seeded
/// by the round number, and its base is θ̄, so a run resumed after round k
/// ends on the uninterrupted run's θ̄ bit for bit (`MoTResumeTests`).
final class MoTPipeline: JobPipeline {
    let ctx: JobContext
    /// CRC-32C of every teacher's kept traces (after they are collected).
    var traceCRC: UInt32?

    init(ctx: JobContext) { self.ctx = ctx }

    func encodedState(step: Int) throws -> [UInt8] { try JSONCoding.encode(MoTState(motTraceCRC: traceCRC)) }

    func run(resumed: ResumedRun?) throws -> JobStop? {
        let evaluator = Evaluator(ctx: ctx)
        if resumed == nil && ctx.config.trainer.valBeforeTrain { try evaluator.evaluate(step: 0) }
        let teachers = ctx.teacherRanks
        let K = teachers.count
        let mc = ctx.config.merge
        let specs = ctx.config.distillation.teacherModels
        guard K >= 1 else { throw JobError("trainer.pipeline=mot needs teacher ranks; the layout has none (\(ctx.layout.describe()))") }
        guard specs.count == K else {
            throw JobError("trainer.pipeline=mot: distillation.teacher_models lists \(specs.count) model(s) but the layout "
                           + "has \(K) teacher rank(s) (\(ctx.layout.describe())); list one teacher per teacher rank "
                           + "(a checkpoint directory, a model file or reference@styleN)")
        }
        guard mc.tracePrompts >= 1 else { throw JobError("merge.trace_prompts (\(mc.tracePrompts)) must be ≥ 1") }
        let warm = ctx.warmStart
        guard warm.batchSize >= 1, warm.lr > 0 else {
            throw JobError("trainer.pipeline=mot trains branches with the SFT settings: sft.batch_size (\(warm.batchSize)) "
                           + "must be ≥ 1 and sft.lr (\(warm.lr)) > 0")
        }
        let myBranch = teachers.firstIndex(of: ctx.world.rank)

        // 1. Traces.
        let tTraces = Date()
        let (traces, written, correct) = try collectTraces(specs: specs, myBranch: myBranch, resumed: resumed)
        var traceMetrics: [String: Double] = ["timing_s/mot_traces": Date().timeIntervalSince(tTraces)]
        for (k, t) in traces.enumerated() {
            traceMetrics["mot/teacher_\(k)/traces"] = Double(t.count)
            traceMetrics["mot/teacher_\(k)/trace_acc"] = Double(correct[k]) / Double(max(1, written[k]))
        }

        // Steps: branch k takes E epochs over its traces per round; a baseline takes their sum.
        let B = warm.batchSize, E = mc.epochsPerRound
        let branchSteps = traces.map { E * MoTData.stepsPerEpoch($0.count, batch: B) }
        let roundSteps = branchSteps.reduce(0, +)
        guard roundSteps > 0 else {
            throw JobError("mot: no teacher wrote a correct trace for the \(mc.tracePrompts) prompts; train stronger "
                           + "teachers (Launch/mot-teachers.sh) or check distillation.teacher_models")
        }
        // The teacher with the most correct traces, ties to the lower index (`most_traces`).
        let mostTraces = correct.indices.max { (correct[$0], -$0) < (correct[$1], -$1) }!
        traceMetrics["mot/most_traces_teacher"] = Double(mostTraces)
        if mc.baseline == .teacher && mc.teacherIndex >= K {
            throw JobError("merge.teacher_index (\(mc.teacherIndex)) names no teacher: the run has \(K) (0…\(K - 1))")
        }
        traceMetrics["mot/steps_per_round"] = Double(roundSteps)
        if ctx.isLeader {
            let counts = traces.indices.map { k in
                "teacher \(k): \(correct[k])" + (mc.keepWrongTraces ? " (+\(traces[k].count - correct[k]) wrong kept)" : "")
            }.joined(separator: ", ")
            print("mot: \(mc.baseline == .none ? "merge-of-thought (\(mc.mergeMethod.rawValue))" : "baseline \(mc.baseline.rawValue)"), "
                  + "\(K) teacher(s), correct traces of \(mc.tracePrompts) prompts: \(counts); \(mc.rounds) round(s) of "
                  + "\(roundSteps) optimizer step(s) in all")
            if let state = resumed?.state, state.step > 0 { print("mot: rounds 1…\(state.step) done (checkpoint), continuing") }
            fflush(stdout)
        }
        let branchComm = try ctx.world.split(color: myBranch == nil ? nil : 0, key: ctx.world.rank)
        let round = MoTRound(ctx: ctx, traces: traces, branchSteps: branchSteps, mostTraces: mostTraces, myBranch: myBranch,
                             branchComm: branchComm)
        let saver = CheckpointSaver(ctx: ctx, pipeline: self)
        // Evaluation and checkpoints after every round.
        return try StepLoop(ctx: ctx, saver: saver, evaluator: evaluator).run(resumed: resumed, total: mc.rounds, testFreq: 1) { r in
            let t = Date()
            let mine = try round.run(r)
            try ctx.world.broadcast(ctx.model.parameters.buffer, root: teachers[0])
            // Every rank's round metrics (keys differ by rank) to every rank.
            let all = try ctx.world.allgatherBytes(Array(try JSONEncoder().encode(mine)))
                .map { try JSONDecoder().decode([String: Double].self, from: Data($0)) }
            if ctx.isLeader {
                var m = r == 1 ? traceMetrics : [:]
                for d in all { m.merge(d) { $1 } }
                m["mot/round"] = Double(r)
                m["timing_s/mot_round"] = Date().timeIntervalSince(t)
                if mc.baseline == .none {
                    m["mot/branch_loss/mean"] = (0..<K).map { m["mot/branch_\($0)/loss"] ?? 0 }.reduce(0, +) / Double(K)
                }
                ctx.logStep(r, m)
            }
        }
    }

    /// Collective: every teacher's kept traces on every rank, how many each wrote and how
    /// many of those were correct; checked against the CRC a resumed run trained on.
    private func collectTraces(specs: [String], myBranch: Int?, resumed: ResumedRun?) throws -> ([[MoTTrace]], [Int], [Int]) {
        var report = MoTTraceReport()
        if let k = myBranch {
            do {
                let source = try MoTTeacherSource.parse(specs[k])
                let w = try MoTTraceWriter(ctx: ctx).traces(source: source, count: ctx.config.merge.tracePrompts)
                (report.traces, report.written, report.correct) = (w.traces, w.written, w.correct)
            } catch { report.error = "teacher rank \(ctx.world.rank) (\(specs[k])): \(error)" }
        }
        let reports = try ctx.world.allgatherBytes(Array(try JSONEncoder().encode(report)))
            .map { try JSONDecoder().decode(MoTTraceReport.self, from: Data($0)) }
        if let e = reports.compactMap({ $0.error }).first { throw JobError("mot traces: \(e)") }
        let teachers = ctx.teacherRanks
        let traces = teachers.map { reports[$0].traces }
        ctx.observer?.didCollectTraces(traces)
        let crc = CRC32C.checksum(try JSONCoding.encode(traces))
        traceCRC = crc
        if let resumed, resumed.state.step > 0 {
            let saved = try resumed.pipelineState(MoTState.self).motTraceCRC
            if let saved, saved != crc {
                throw JobError("mot: the regenerated teacher traces differ from those rounds 1…\(resumed.state.step) trained on (CRC "
                               + "\(CRC32C.hex(crc)), the checkpoint expects \(CRC32C.hex(saved))): distillation.teacher_models, "
                               + "merge.trace_prompts or a teacher's weights changed. Resume with the original teachers, or "
                               + "checkpoint.resume_mode=disable to start over.")
            } else if saved == nil && ctx.isLeader {
                print("ispo-cluster: note: the checkpoint of round \(resumed.state.step) records no trace CRC; the regenerated traces are not checked")
            }
        }
        return (traces, teachers.map { reports[$0].written }, teachers.map { reports[$0].correct })
    }
}
