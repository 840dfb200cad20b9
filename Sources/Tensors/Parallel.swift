import Dispatch

/// Splits independent row work over the machine's cores.
public enum Parallel {
    /// Worker count for elementwise kernels (BLAS keeps its own pool).
    nonisolated(unsafe) public static var workers: Int = 2

    /// Runs `body(range)` over `0..<count` cut into at most `workers` contiguous
    /// chunks; runs inline when the work is small (`count < minPerWorker · 2`).
    @inline(__always)
    public static func forRanges(_ count: Int, minPerWorker: Int = 1, _ body: (Range<Int>) -> Void) {
        forChunks(count, minPerWorker: minPerWorker) { _, r in body(r) }
    }

    /// Like `forRanges`, also passing the chunk index (< `workers`) so callers
    /// can keep per-chunk partial sums and merge them in a fixed order.
    @inline(__always)
    public static func forChunks(_ count: Int, minPerWorker: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        let w = Swift.min(workers, Swift.max(1, count / Swift.max(minPerWorker, 1)))
        if w <= 1 { body(0, 0..<count); return }
        DispatchQueue.concurrentPerform(iterations: w) { j in
            let lo = count * j / w, hi = count * (j + 1) / w
            if lo < hi { body(j, lo..<hi) }
        }
    }
}
