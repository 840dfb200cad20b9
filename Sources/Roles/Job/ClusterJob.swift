import Comm
import Configs
import Foundation
import Transformer

/// One run of a pipeline on every rank of `world`. All ranks execute the same
/// sequence of collectives; what each does between them depends on its roles.
/// The job is small: it builds the shared context, resumes, and runs the one
/// pipeline type the config names.
public final class ClusterJob {
    let ctx: JobContext
    /// The pipeline that ran (after `run()`), for tests to inspect its state.
    private(set) var pipeline: RunningPipeline?
    /// Set when `run()` returned early after a stop request (SIGUSR1), with the checkpoint it wrote.
    public private(set) var stopped: JobStop?

    /// The pipeline types, one case each: adding a pipeline is one file and one case.
    enum RunningPipeline {
        case rl(RLPipeline)
        case distill(DistillPipeline)
        case mot(MoTPipeline)
        case sft(SFTPipeline)
        case eval(EvalPipeline)

        var object: JobPipeline {
            switch self {
            case .rl(let p): return p
            case .distill(let p): return p
            case .mot(let p): return p
            case .sft(let p): return p
            case .eval(let p): return p
            }
        }
    }

    /// Builds the model, data and communicators on this rank. `root` is the
    /// repository root (for the data cache); `runDirectory` nil disables files.
    public convenience init(world: Communicator, layout: RankLayout, config: Config, warmStart: WarmStart,
                            root: String, runDirectory: String?) throws {
        try self.init(world: world, layout: layout, config: config, warmStart: warmStart, root: root,
                      runDirectory: runDirectory, observer: nil)
    }

    /// The same with test hooks.
    init(world: Communicator, layout: RankLayout, config: Config, warmStart: WarmStart,
         root: String, runDirectory: String?, observer: JobObserver?) throws {
        ctx = try JobContext(world: world, layout: layout, config: config, warmStart: warmStart, root: root,
                             runDirectory: runDirectory, observer: observer)
    }

    /// Test hooks (set before `run()`).
    var observer: JobObserver? {
        get { ctx.observer }
        set { ctx.observer = newValue }
    }

    /// The model this rank holds.
    public var model: Model { ctx.model }

    /// Metrics of the evaluations, by step, on the leader (for the final report).
    public var evaluations: [(step: Int, metrics: [String: Double])] { ctx.evaluations }

    /// The pipeline `trainer.pipeline` names.
    func makePipeline() throws -> RunningPipeline {
        switch ctx.config.trainer.pipeline {
        case .rl, .demo: return .rl(RLPipeline(ctx: ctx))
        case .distill: return .distill(try DistillPipeline(ctx: ctx))
        case .mot: return .mot(MoTPipeline(ctx: ctx))
        case .sft: return .sft(SFTPipeline(ctx: ctx))
        case .eval: return .eval(EvalPipeline(ctx: ctx))
        }
    }

    /// Runs the configured pipeline to the end, or until a stop request
    /// (SIGUSR1), after which it checkpoints the step and returns with `stopped` set.
    /// Checks the inputs read later (`Preflight`), then resumes when
    /// `checkpoint.resume_mode` finds a checkpoint.
    public func run() throws {
        // Teachers and the run directory are checked now, not after the warm start.
        try Preflight(ctx: ctx).run()
        let resumed = try JobResume(ctx: ctx).restore()
        let p = try makePipeline()
        pipeline = p
        stopped = try p.object.run(resumed: resumed)
        try ctx.world.barrier()
    }
}
