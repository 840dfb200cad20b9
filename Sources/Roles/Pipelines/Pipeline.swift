import Checkpoint

/// A pipeline of the job (`trainer.pipeline`): one type each, owning its
/// state. `ClusterJob` builds the one the config names with an exhaustive
/// `switch` and runs it; the step loop asks it for its part of each checkpoint.
protocol JobPipeline: AnyObject {
    /// Runs to the end, or to a stop request after which it has checkpointed
    /// (the returned stop). `resumed` is the checkpoint the job continues from.
    func run(resumed: ResumedRun?) throws -> JobStop?
    /// This rank's shard files beyond the parameters (optimizer moments,
    /// frozen models), written with `files` into the checkpoint of `step`.
    func writeShards(_ files: ShardFiles, step: Int) throws -> [ShardSummary]
    /// The leader's slice of the resume state, as JSON (`JSONCoding`).
    func encodedState(step: Int) throws -> [UInt8]
}

extension JobPipeline {
    func writeShards(_ files: ShardFiles, step: Int) throws -> [ShardSummary] { [] }
    func encodedState(step: Int) throws -> [UInt8] { try JSONCoding.encode(NoPipelineState()) }
}

/// The slice of a pipeline that keeps nothing across steps.
struct NoPipelineState: Codable {}

/// Where a rank writes its shard files of one checkpoint, with the run's
/// storage options (`checkpoint.dtype`, `checkpoint.shuffle_bytes`).
struct ShardFiles {
    let store: CheckpointStore
    let step: Int
    let options: ShardWriteOptions
    /// The parameters' stored type.
    let parameterType: StoredDType

    /// Writes one flat buffer as tensor `parameters` of `group` (rank 0's file): a frozen model.
    func writeModel(_ values: UnsafeBufferPointer<Float>, group: String) throws -> ShardSummary {
        let w = try store.shardWriter(step: step, group: group, rank: 0, options: options)
        try w.add("parameters", floats: values, dtype: parameterType)
        return try w.finish()
    }
}
