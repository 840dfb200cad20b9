import CBLAS

/// The only Swift file that calls OpenBLAS. Matrices are row-major.
public enum Blas {
    /// How the process uses its cores: OpenBLAS and our own kernels each get
    /// `threads` workers. (Splitting GEMMs over our own workers on single-
    /// threaded OpenBLAS was measured too: equal for training, 25–45% slower
    /// for batched decoding, so OpenBLAS keeps its own threads.)
    public static func configure(threads: Int) {
        Parallel.workers = threads
        setThreads(threads)
    }

    /// Sets OpenBLAS's worker-thread count (process-wide).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// The kernel family OpenBLAS picked at load time (e.g. "Haswell", "SkylakeX").
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// Runs `body` with OpenBLAS limited to `n` threads, then restores the
    /// previous count. Used where the caller parallelises many small GEMMs
    /// itself (attention heads): one BLAS thread per caller thread.
    @inline(__always)
    public static func withThreads<R>(_ n: Int, _ body: () throws -> R) rethrows -> R {
        let previous = threads
        if previous == n { return try body() }
        setThreads(n)
        defer { setThreads(previous) }
        return try body()
    }

    /// OpenBLAS's current worker-thread count.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// C = alpha · op(A) · op(B) + beta · C, row-major.
    /// op(A): (m, k), op(B): (k, n), C: (m, n); `lda`/`ldb`/`ldc` are row strides.
    @inline(__always)
    public static func gemm(transA: Bool = false, transB: Bool = false,
                            m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0,
                            c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
