import Comm
import Configs
import Foundation
@testable import Roles
import Tensors

/// An `eval` job of an untrained tiny model on one rank (learner + rollout) over
/// the loopback world, with addition:1 and chain:2 as validation sets; `extra`
/// overrides come last and win. Returns the job after its run.
func runTinyEvalJob(_ extra: [String], dir: String?) throws -> ClusterJob {
    let config = try Config.load(yamlFile: nil, overrides: [
        "trainer.pipeline=eval", "data.train_files=[synthetic:addition:1]",
        "data.val_files=[synthetic:addition:1,synthetic:chain:2]", "data.val_batch_size=4",
        "data.max_prompt_length=16", "data.max_response_length=24", "rollout.max_new_tokens=24",
        "model.tiny.dim=32", "model.tiny.layers=2", "model.tiny.heads=4", "model.tiny.kv_heads=2",
        "model.tiny.ffn_dim=48", "model.tiny.max_seq_len=48",
    ] + extra)
    try config.validate()
    var job: ClusterJob?
    Parallel.workers = 1
    defer { Parallel.workers = 2 }
    try LoopbackWorld.run(size: 1) { comm in
        let j = try ClusterJob(world: comm, layout: try RankLayout(roles: [[.learner, .rollout]]), config: config,
                               warmStart: WarmStart(steps: 0, batchSize: 4, lr: 1e-3), root: LoopbackJobTests.root,
                               runDirectory: dir)
        try j.run()
        job = j
    }
    return job!
}
