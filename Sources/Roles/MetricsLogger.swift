import Foundation

/// Writes one JSON line per step, `{"step": N, "data": {...}}`, with verl's
/// metric names, and a human progress line (rewritten in place on a terminal).
public final class MetricsLogger {
    let handle: FileHandle?
    let totalSteps: Int
    let start = Date()
    /// Rewrite the progress line in place only on a real terminal of a single
    /// process (MPI launchers may hand ranks a pty whose output is interleaved).
    let isTerminal = isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] == nil
        && ProcessInfo.processInfo.environment["PMIX_RANK"] == nil
    let sftHandle: FileHandle?

    /// Appends to `<runDirectory>/metrics.jsonl` (created if needed); nil directory logs to stdout only.
    public init(runDirectory: String?, totalSteps: Int) throws {
        self.totalSteps = totalSteps
        if let dir = runDirectory {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let path = dir + "/metrics.jsonl"
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
            guard let h = FileHandle(forWritingAtPath: path) else {
                throw MetricsError(description: "cannot open \(path) for writing; check permissions and free space")
            }
            h.seekToEndOfFile()
            handle = h
            let sftPath = dir + "/sft_metrics.jsonl"
            if !FileManager.default.fileExists(atPath: sftPath) { FileManager.default.createFile(atPath: sftPath, contents: nil) }
            sftHandle = FileHandle(forWritingAtPath: sftPath)
            sftHandle?.seekToEndOfFile()
        } else {
            handle = nil
            sftHandle = nil
        }
    }

    /// Logs a supervised warm-start step to `sft_metrics.jsonl` (same line format) and a plain progress line.
    public func logWarmStart(step: Int, of total: Int, _ data: [String: Double]) {
        sftHandle?.write(Data(Self.jsonLine(step: step, data).utf8))
        var s = "sft step \(step)/\(total)"
        for k in data.keys.sorted() { s += String(format: "  %@ %.4g", k, data[k]!) }
        print(s)
    }

    static func jsonLine(step: Int, _ data: [String: Double]) -> String {
        var parts: [String] = []
        for (k, v) in data.sorted(by: { $0.key < $1.key }) {
            parts.append("\"\(k)\":" + (v.isFinite ? "\(v)" : "null"))
        }
        return "{\"step\":\(step),\"data\":{" + parts.joined(separator: ",") + "}}\n"
    }

    deinit { try? handle?.close(); try? sftHandle?.close() }

    /// Logs step `step`'s metrics (non-finite values are written as null).
    public func log(step: Int, _ data: [String: Double]) {
        handle?.write(Data(Self.jsonLine(step: step, data).utf8))
        progress(step: step, data)
    }

    func progress(step: Int, _ d: [String: Double]) {
        let elapsed = Date().timeIntervalSince(start)
        let eta = step > 0 ? elapsed / Double(step) * Double(max(0, totalSteps - step)) : 0
        var s = String(format: "step %d/%d", step, totalSteps)
        if let r = d["critic/score/mean"] { s += String(format: "  reward %.3f", r) }
        if let a = d.first(where: { $0.key.hasPrefix("val-core/") })?.value { s += String(format: "  val %.3f", a) }
        if let l = d["actor/pg_loss"] ?? d["train/loss"] { s += String(format: "  loss %.4f", l) }
        if let t = d["perf/throughput"] { s += String(format: "  %.0f tok/s", t) }
        s += String(format: "  elapsed %.0fs  eta %.0fs", elapsed, eta)
        if isTerminal { print("\r\u{1B}[2K" + s, terminator: step >= totalSteps ? "\n" : ""); fflush(stdout) } else { print(s) }
    }
}

/// A metrics file that cannot be written.
public struct MetricsError: Error, CustomStringConvertible {
    /// What is wrong and what to do.
    public let description: String
}
