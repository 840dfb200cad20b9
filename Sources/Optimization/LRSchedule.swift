import Foundation

/// Learning-rate schedule: linear warmup then cosine decay to a floor.
public struct LRSchedule: Codable, Equatable, Sendable {
    /// Peak learning rate.
    public var peak: Double
    /// Warmup steps (lr rises linearly to `peak` over these).
    public var warmupSteps: Int
    /// Total steps; decay ends here.
    public var totalSteps: Int
    /// Final lr as a fraction of `peak` (verl's `min_lr_ratio`).
    public var minRatio: Double

    /// Creates a schedule.
    public init(peak: Double, warmupSteps: Int, totalSteps: Int, minRatio: Double = 0) {
        self.peak = peak; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps; self.minRatio = minRatio
    }

    /// lr for 0-based `step`: peak·(step+1)/warmup during warmup, then
    /// min + (peak − min)·½(1 + cos(π·progress)), progress clamped to [0, 1].
    public func lr(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, Double(step - warmupSteps) / Double(span))
        let floor = peak * minRatio
        return floor + (peak - floor) * 0.5 * (1 + cos(Double.pi * progress))
    }
}
