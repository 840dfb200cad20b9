import ArgumentParser
import Checkpoint
import Foundation
import Tensors

/// `ispo-cluster bench checkpoint`: shard save/load throughput and compression
/// ratio for fp32 and bf16, with and without byte shuffling, side by side with
/// the `zstd` command-line tool on the same raw bytes.
struct BenchCheckpoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Checkpoint shard save/load MB/s and compression ratio (fp32/bf16 × shuffle), vs the zstd CLI.")

    @Option(help: "Floats in the buffer (normal × 0.02, like initialised weights).") var elements = 30_000_000
    @Option(help: "zstd level for ours and the CLI.") var level = 3
    @Option(help: "Repeats per case (medians are reported).") var repeats = 3
    @Option(help: "Scratch directory (default: a new one under the system temporary directory).") var dir: String?
    @Option(help: "zstd command-line tool to compare with ('' to skip).") var zstd = "zstd"
    @Option(help: "Write the JSON report here as well as to stdout.") var output: String?

    func run() throws {
        let scratch = dir ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("ispo-bench-ckpt-\(getpid())")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: scratch) } }
        log("generating \(elements) floats …")
        var rng = Rng(seed: 20_261_127)
        let values = (0 ..< elements).map { _ in Float(rng.normal() * 0.02) }
        let mb = Double(elements * 4) / 1e6
        var cases: [[String: Any]] = []
        var loaded = [Float](repeating: 0, count: elements)
        for dtype in [StoredDType.fp32, .bf16] {
            for shuffle in [true, false] {
                let path = (scratch as NSString).appendingPathComponent("bench-\(dtype.rawValue)-\(shuffle).shard")
                var saves: [Double] = [], unsynced: [Double] = [], loads: [Double] = [], bytes = 0
                for r in 0 ..< repeats {
                    let tu = Date()
                    let u = try ShardWriter(path: path + ".nosync", options: ShardWriteOptions(level: level, shuffle: shuffle, sync: false))
                    try u.add("params", floats: values, dtype: dtype)
                    try u.finish()
                    unsynced.append(Date().timeIntervalSince(tu))
                    try FileManager.default.removeItem(atPath: path + ".nosync")
                    let t0 = Date()
                    let w = try ShardWriter(path: path, options: ShardWriteOptions(level: level, shuffle: shuffle))
                    try w.add("params", floats: values, dtype: dtype)
                    bytes = try w.finish().bytes
                    let t1 = Date()
                    try loaded.withUnsafeMutableBufferPointer { try ShardReader(path: path).read("params", into: $0) }
                    let t2 = Date()
                    saves.append(t1.timeIntervalSince(t0))
                    loads.append(t2.timeIntervalSince(t1))
                    log("\(dtype.rawValue) shuffle=\(shuffle) repeat \(r + 1): save \(fmt(saves.last!)) s, load \(fmt(loads.last!)) s, \(bytes) bytes")
                }
                if dtype == .fp32, loaded != values { throw ValidationError("fp32 round trip is not exact") }
                cases.append(["dtype": dtype.rawValue, "shuffle": shuffle, "file_bytes": bytes,
                              "ratio_vs_fp32": Double(elements * 4) / Double(bytes),
                              "ratio_vs_stored": Double(elements * dtype.elementSize) / Double(bytes),
                              "save_s_median": median(saves), "load_s_median": median(loads),
                              "save_mb_per_s": mb / median(saves), "load_mb_per_s": mb / median(loads),
                              "save_without_fsync_mb_per_s": mb / median(unsynced)])
            }
        }
        var report: [String: Any] = [
            "components_mb_per_s": components(values),
            "elements": elements, "fp32_mb": mb, "level": level, "repeats": repeats, "libzstd": Zstd.version,
            "data": "normal(0, 0.02) fp32, seeded", "throughput_basis": "fp32 MB (elements × 4) per second; save includes fsync",
            "ours": cases,
        ]
        report["zstd_cli"] = zstd.isEmpty ? "skipped" : try runCLI(values: values, scratch: scratch, mb: mb)
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        if let output { try data.write(to: URL(fileURLWithPath: output), options: .atomic) }
    }

    /// Throughput of the pieces of a save/load on the raw fp32 bytes (medians of 3).
    func components(_ values: [Float]) -> [String: Double] {
        let raw = values.withUnsafeBytes { [UInt8]($0) }
        var scratch = [UInt8](repeating: 0, count: raw.count)
        let mb = Double(raw.count) / 1e6
        func rate(_ body: () -> Void) -> Double { mb / median((0 ..< 3).map { _ in let t = Date(); body(); return Date().timeIntervalSince(t) }) }
        var sink: UInt32 = 0
        let result = [
            "crc32c": rate { sink ^= CRC32C.checksum(raw) },
            "shuffle_fp32": rate { raw.withUnsafeBytes { s in scratch.withUnsafeMutableBytes { ByteShuffle.shuffle(s, into: $0, elementSize: 4) } } },
            "unshuffle_fp32": rate { raw.withUnsafeBytes { s in scratch.withUnsafeMutableBytes { ByteShuffle.unshuffle(s, into: $0, elementSize: 4) } } },
            "bf16_round": rate { values.withUnsafeBufferPointer { v in scratch.withUnsafeMutableBytes { BFloat16.encode(v.baseAddress!, count: v.count, into: $0.baseAddress!) } } },
        ]
        log("components (MB/s): \(result.mapValues { Int($0) }) [\(sink & 1)]")
        return result
    }

    /// Times `zstd -<level>` and `zstd -d` on the raw and on the shuffled fp32 bytes.
    func runCLI(values: [Float], scratch: String, mb: Double) throws -> Any {
        guard let version = shell([zstd, "--version"]).output, !version.isEmpty else {
            log("zstd command-line tool missing (apt-get install zstd)")
            return "missing: '\(zstd)' is not installed (apt-get install zstd)"
        }
        var out: [String: Any] = ["version": version.trimmingCharacters(in: .whitespacesAndNewlines)]
        let raw = values.withUnsafeBytes { [UInt8]($0) }
        for (name, bytes) in [("raw_fp32", raw), ("shuffled_fp32", ByteShuffle.shuffled(raw, elementSize: 4))] {
            let input = (scratch as NSString).appendingPathComponent("\(name).bin")
            try Data(bytes).write(to: URL(fileURLWithPath: input))
            var comp: [Double] = [], decomp: [Double] = [], size = 0
            for _ in 0 ..< repeats {
                let c = shell([zstd, "-\(level)", "-q", "-f", input, "-o", input + ".zst"])
                let d = shell([zstd, "-d", "-q", "-f", input + ".zst", "-o", input + ".out"])
                guard c.ok, d.ok else { return "failed: \(zstd) exited with an error" }
                comp.append(c.seconds); decomp.append(d.seconds)
                size = (try FileManager.default.attributesOfItem(atPath: input + ".zst")[.size] as? Int) ?? 0
            }
            log("zstd CLI \(name): compress \(fmt(median(comp))) s, decompress \(fmt(median(decomp))) s, \(size) bytes")
            out[name] = ["file_bytes": size, "ratio": Double(raw.count) / Double(size),
                         "compress_mb_per_s": mb / median(comp), "decompress_mb_per_s": mb / median(decomp)]
        }
        out["note"] = "process wall time incl. reading and writing files (page cache), no fsync"
        return out
    }

    /// Runs a command; wall time, success and stdout.
    func shell(_ args: [String]) -> (ok: Bool, seconds: Double, output: String?) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        let t0 = Date()
        do { try p.run() } catch { return (false, 0, nil) }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let ok = p.terminationStatus == 0
        return (ok, Date().timeIntervalSince(t0), ok ? String(decoding: data, as: UTF8.self) : nil)
    }

    func fmt(_ x: Double) -> String { String(format: "%.3f", x) }
    func log(_ s: String) { FileHandle.standardError.write(Data(("[bench] " + s + "\n").utf8)) }
}
