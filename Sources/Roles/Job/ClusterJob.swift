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
    private(set) var pipeline: JobPipeline?
    /// Set when `run()` returned early after a stop request (SIGUSR1), with the checkpoint it wrote.
    public private(set) var stopped: JobStop?

    /// Builds the model, data and communicators on this rank. `root` is the
    /// repository root (for the data cache); `runDirectory` nil disables files;
    /// `memoryBytes`, the machine's RAM, refuses a loaded model whose training
    /// state would not fit (nil: no check).
    public convenience init(world: Communicator, layout: RankLayout, config: Config, warmStart: WarmStart,
                            root: String, runDirectory: String?, memoryBytes: Int? = nil) throws {
        try self.init(world: world, layout: layout, config: config, warmStart: warmStart, root: root,
                      runDirectory: runDirectory, observer: nil, memoryBytes: memoryBytes)
    }

    /// The same with test hooks.
    init(world: Communicator, layout: RankLayout, config: Config, warmStart: WarmStart,
         root: String, runDirectory: String?, observer: JobObserver?, memoryBytes: Int? = nil) throws {
        ctx = try JobContext(world: world, layout: layout, config: config, warmStart: warmStart, root: root,
                             runDirectory: runDirectory, observer: observer, memoryBytes: memoryBytes)
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

    /// The pipeline `trainer.pipeline` names: one type per pipeline, one case
    /// each (adding a pipeline is one file and one case here).
    func makePipeline() throws -> JobPipeline {
        switch ctx.config.trainer.pipeline {
        case .rl, .demo: return RLPipeline(ctx: ctx)
        case .distill: return try DistillPipeline(ctx: ctx)
        case .mot: return MoTPipeline(ctx: ctx)
        case .sft: return SFTPipeline(ctx: ctx)
        case .eval: return EvalPipeline(ctx: ctx)
        case .t3s: return T3SPipeline(ctx: ctx)
        case .priority: return TokenPriorityPipeline(ctx: ctx)
        case .p2d: return P2DPipeline(ctx: ctx)
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
        stopped = try p.run(resumed: resumed)
        try ctx.world.barrier()
    }
}
