import Comm
import Foundation

extension DistillPipeline {
    /// Collective: the persistent boundaries' τ (`MotabBoundaryStore.metrics`)
    /// averaged over the rollout ranks that have one; empty for `boundary=rollout`.
    func boundaryMetrics() throws -> [String: Double] {
        guard ctx.config.distillation.boundary != .rollout else { return [:] }
        let local = boundaryStore?.metrics(k: ctx.config.distillation.k) ?? [:]
        let names = ["motab/boundary_student_tau", "motab/boundary_teacher_tau"]
        var values: [Double] = []
        for n in names { values += local[n].map { [$0, 1] } ?? [0, 0] }
        let sums = try ctx.world.allreduceSum(values)
        var out: [String: Double] = [:]
        for (i, n) in names.enumerated() where sums[2 * i + 1] > 0 { out[n] = sums[2 * i] / sums[2 * i + 1] }
        return out
    }
}
