import Foundation

/// Writes one JSON line per step, `{"step": N, "data": {...}}`, with verl's
/// metric names, and a human progress line (rewritten in place on a terminal).
public final class MetricsLogger {
    let handle: FileHandle?
    let totalSteps: Int
    let start = Date()
    let isTerminal = isatty(STDOUT_FILENO) != 0

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
        } else {
            handle = nil
        }
    }

    deinit { try? handle?.close() }

    /// Logs step `step`'s metrics (non-finite values are written as null).
    public func log(step: Int, _ data: [String: Double]) {
        var parts: [String] = []
        for (k, v) in data.sorted(by: { $0.key < $1.key }) {
            parts.append("\"\(k)\":" + (v.isFinite ? "\(v)" : "null"))
        }
        let line = "{\"step\":\(step),\"data\":{" + parts.joined(separator: ",") + "}}\n"
        handle?.write(Data(line.utf8))
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
