import Transformer

/// The teachers of a `distill` run (`distillation.teacher_models`): one spec
/// for every teacher rank or one per rank, each a model path (`ModelSource`)
/// or `student`, a frozen copy of the starting student (tests).
enum TeacherSpecs {
    /// The spec of a frozen copy of the starting student.
    static let student = "student"

    /// The spec of teacher rank number `index` (in rank order).
    static func spec(_ specs: [String], index: Int, teacherRanks: Int) throws -> String {
        guard !specs.isEmpty else {
            throw JobError("trainer.pipeline=distill needs distillation.teacher_models: a checkpoint directory (e.g. "
                           + "runs/<teacher>/checkpoints/global_step_0, or the run directory for its latest), a .gguf file "
                           + "or Hugging Face folder, or `student` (a frozen copy of the student at the start, for tests)")
        }
        guard specs.count == 1 || specs.count == teacherRanks else {
            throw JobError("distillation.teacher_models has \(specs.count) entries but the layout has \(teacherRanks) teacher ranks; "
                           + "give one model for all, or one per teacher rank")
        }
        return specs.count == 1 ? specs[0] : specs[index]
    }

    /// Loads `spec`; `student` is copied for `spec == "student"`. The teacher must
    /// share the student's vocabulary (one tokenizer for both) and hold `maxSeqLen` positions.
    static func load(_ spec: String, student: Model, maxSeqLen: Int) throws -> Model {
        let teacher: Model
        if spec == Self.student {
            teacher = try Model(config: student.config)
            teacher.parameters.pointer.update(from: student.parameters.pointer, count: student.parameters.count)
        } else {
            teacher = try ModelSource.load(spec, maxSeqLen: maxSeqLen)
        }
        guard teacher.config.vocabSize == student.config.vocabSize else {
            throw JobError("teacher \(spec): vocabulary of \(teacher.config.vocabSize) tokens, the student has "
                           + "\(student.config.vocabSize); student and teacher must share a tokenizer")
        }
        guard teacher.config.maxSeqLen >= maxSeqLen else {
            throw JobError("teacher \(spec): holds \(teacher.config.maxSeqLen) tokens, a rollout needs up to \(maxSeqLen) "
                           + "(prompt + response); train the teacher with a larger model.tiny.max_seq_len or shorten the responses")
        }
        return teacher
    }
}
