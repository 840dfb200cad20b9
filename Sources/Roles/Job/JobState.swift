import Foundation

/// One evaluation of the run (saved so a resumed run reports the whole history).
struct SavedEvaluation: Codable, Equatable {
    var step: Int
    var metrics: [String: Double]
}

/// What every resumed job needs that is not a tensor, whatever its pipeline.
/// The leader writes it as JSON (`job_state` in `state/rank_00000.shard`) and
/// broadcasts it on resume; the pipeline's own slice travels next to it
/// (`pipeline_state`, see `PipelineState`).
struct JobState: Codable, Equatable {
    /// Version of this record; readers reject newer ones. Version 1 kept the
    /// pipelines' fields (`adamStep`, `ispoScale`, `hasReference`, `motTraceCRC`)
    /// in this record: a version-1 checkpoint's slice is decoded from it.
    var version = JobState.currentVersion
    /// Steps completed: RL or distill steps, MoT rounds (0: the warm start or
    /// preparation is done, no step yet).
    var step: Int
    /// Weight broadcasts so far.
    var weightVersion: Int
    /// The supervised warm start has run (a resumed job skips it).
    var warmStartDone: Bool
    /// Evaluations so far (the leader's report).
    var evaluations: [SavedEvaluation]
    /// `trainer.seed` of the run: every random stream and the data order derive from it.
    var seed: Int
    /// CRC-32C of the prompts of the next RL or distill step's first batch: the data cursor is
    /// `PromptData.batch(step:)`, a pure function of the step, so equal CRCs on
    /// resume show the data stream is the one the run was saved with.
    var nextBatchCRC: UInt32
    /// Floats in the flat parameter buffer.
    var parameterCount: Int
    /// Learner ranks that wrote the `model` shards.
    var learners: Int
    /// `trainer.pipeline` of the run that saved it (nil: written before it was
    /// recorded). A checkpoint of step > 0 continues only its own pipeline.
    var pipeline: String? = nil

    static let currentVersion = 2
}

/// A pipeline's slice of the resume state: a `Codable` value the pipeline
/// alone defines, saved as JSON beside the job state.
enum PipelineState {
    /// Name of the slice's tensor in `state/rank_00000.shard`.
    static let tensor = "pipeline_state"
    /// Name of the job state's tensor there.
    static let jobTensor = "job_state"

    /// Decodes a slice; `legacy` (a version-1 job state, which held the
    /// slices' fields itself) stands in when the checkpoint has no slice tensor.
    static func decode<S: Decodable>(_ type: S.Type, slice: [UInt8]?, legacy: [UInt8]) throws -> S {
        try JSONCoding.decode(type, slice ?? legacy)
    }
}

/// What the leader decided about resuming, broadcast to every rank.
struct ResumePlan: Codable {
    /// The run's checkpoints directory (nil: the job writes no files, so no checkpoints).
    var checkpointsRoot: String?
    /// The checkpoint to resume from (nil: start fresh).
    var path: String?
    /// Its job state.
    var state: JobState?
    /// The pipeline's slice as JSON (the job state itself for a version-1 checkpoint).
    var slice: [UInt8]?
    /// Why the leader cannot resume (every rank throws it).
    var error: String?
}

/// The checkpoint a job continues from, as every rank sees it after the resume.
struct ResumedRun {
    /// Its directory.
    var path: String
    /// Its job state.
    var state: JobState
    /// The pipeline's slice as JSON.
    var slice: [UInt8]

    /// The slice decoded as the pipeline's state type.
    func pipelineState<S: Decodable>(_ type: S.Type) throws -> S { try JSONCoding.decode(type, slice) }
}

/// Why `run()` returned before the last step.
public struct JobStop: Sendable {
    /// The last completed step (RL or distill step, MoT round; 0: after the warm start or preparation).
    public let step: Int
    /// The checkpoint written at that step (nil when the job has no run directory or skipped it).
    public let checkpoint: String?
    /// The signal that asked for the stop (SIGUSR1 for a test hook), by name.
    public let signal: String
    /// Why no checkpoint was written although the job has a run directory (the grace time), or nil.
    public let skipped: String?
    /// The process exit code (`StopRequest`): 75, 130, or 76 when the checkpoint was skipped.
    public let exitCode: Int32
}

/// JSON as the job state is written: sorted keys, non-finite numbers as strings.
enum JSONCoding {
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }
    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
    static func encode<T: Encodable>(_ v: T) throws -> [UInt8] { Array(try encoder().encode(v)) }
    static func decode<T: Decodable>(_ t: T.Type, _ bytes: [UInt8]) throws -> T { try decoder().decode(t, from: Data(bytes)) }
}
