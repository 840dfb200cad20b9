import Foundation

extension ClusterJob {
    /// `trainer.pipeline=distill`: MOTAB and its baselines (METHODS §2).
    func runDistillation() throws {
        throw JobError("trainer.pipeline=distill is not available yet: MOTAB's components exist (MotabRollout, TeacherServer, "
                       + "DistillationLoss) but the pipeline is not wired; use pipeline rl, sft, eval or demo")
    }
}
