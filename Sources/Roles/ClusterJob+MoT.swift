import Foundation

extension ClusterJob {
    /// `trainer.pipeline=mot`: Merge-of-Thought rounds (METHODS §3).
    func runMergeOfThought() throws {
        throw JobError("trainer.pipeline=mot is not available yet: the merges exist (Merging, ispo-cluster merge) but the "
                       + "branch training loop is not wired; use pipeline rl, sft, eval or demo")
    }
}
