import ArgumentParser
import Comm
import Configs
import Foundation
import Merging
import Roles
import Tasks
import Tensors
import Transformer

/// `ispo-cluster bench comm` (under mpirun): allreduce and broadcast bandwidth over a range
/// of sizes, the job's weight sync at model sizes against a plain broadcast of the same
/// size, and a Merge-of-Thought merge round among the branch ranks.
///
/// Every timed collective starts after a barrier; its time is the slowest rank's (one
/// `allreduceMax` after it), and each figure is the median of `--repeats` such times.
/// Bandwidths follow the nccl-tests convention: algorithm bandwidth = bytes / time; bus
/// bandwidth = algbw × 2(n−1)/n for allreduce and = algbw for broadcast, so that it is
/// comparable with the link's speed whatever the rank count.
/// Rank 0 prints a table and one JSON line per measurement (lines starting with `{`).
struct BenchComm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comm",
        abstract: "Allreduce/broadcast GB/s (algbw, busbw), weight-sync fraction of raw broadcast, MoT merge time (run under mpirun).")

    @Option(help: "Message sizes in MB (10^6 bytes of fp32), comma-separated.") var sizesMb = "1,4,16,64,256"
    @Option(help: "Largest message size in MB: larger entries of --sizes-mb are dropped.") var maxMb = 256.0
    @Option(help: "Largest model buffer in MB for weight sync and merge: larger models are cut to it (the table says so).")
    var modelMaxMb = 600.0
    @Option(help: "Timed repeats per measurement (medians are reported).") var repeats = 5
    @Option(help: "Untimed warm-up calls per measurement.") var warmup = 1
    @Option(help: "MoT branch ranks (the last N ranks, as in cluster.layout=mot-8); 0 = skip the merge.") var mergeBranches = 3
    @Option(help: "A label copied into every JSON line (e.g. '2 nodes, tbf 10gbit').") var label = ""
    @Option(help: "Append the JSON lines to this file as well.") var output: String?

    func run() throws {
        try MPIRuntime.initialize()
        let world = try MPICommunicator.world()
        do {
            try measure(world)
        } catch {
            FileHandle.standardError.write(Data("bench comm rank \(world.rank)/\(world.size): \(error)\n".utf8))
            world.abort(code: 3)
        }
        try MPIRuntime.finalize()
    }

    /// The models whose parameter count sizes the weight-sync and merge buffers.
    static func models() throws -> [(name: String, floats: Int)] {
        let t = Config().model.tiny
        let vocab = try CharCodec(alphabet: syntheticAlphabet).vocabSize
        let tiny = Transformer.ModelConfig(vocabSize: t.vocabSize ?? vocab, dim: t.dim, layers: t.layers, heads: t.heads,
                               kvHeads: t.kvHeads, ffnDim: t.ffnDim, maxSeqLen: t.maxSeqLen)
        // SmolLM2-135M(-Instruct): the shape its GGUF declares (tied embeddings).
        let smol = Transformer.ModelConfig(vocabSize: 49152, dim: 576, layers: 30, heads: 9, kvHeads: 3, ffnDim: 1536,
                               maxSeqLen: 2048, tiedEmbeddings: true)
        return [("tiny (default)", ParameterLayout(config: tiny).totalCount),
                ("SmolLM2-135M", ParameterLayout(config: smol).totalCount)]
    }

    func measure(_ world: MPICommunicator) throws {
        let n = world.size, r = world.rank
        let hosts = try world.allgatherBytes(Array(ProcessInfo.processInfo.hostName.utf8)).map { String(decoding: $0, as: UTF8.self) }
        let nodeCount = Set(hosts).count
        let sizes = try parseSizes().filter { $0 <= maxMb }
        let models = try Self.models().map { m -> (name: String, floats: Int, cut: Bool) in
            let cap = Int(modelMaxMb * 1e6 / 4)
            return (m.name, min(m.floats, cap), m.floats > cap)
        }
        let largest = max(sizes.map { Int($0 * 1e6 / 4) }.max() ?? 0, models.map(\.floats).max() ?? 0)
        var lines: [String] = []
        func emit(_ row: [String: Any]) throws {
            guard r == 0 else { return }
            var row = row
            row["bench"] = "comm"; row["ranks"] = n; row["nodes"] = nodeCount; row["repeats"] = repeats
            if !label.isEmpty { row["label"] = label }
            let data = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
            lines.append(String(decoding: data, as: UTF8.self))
        }
        func say(_ s: String) { if r == 0 { print(s); fflush(stdout) } }
        // The slowest rank's time for `body`, median over the repeats (after a barrier each).
        func timed(_ body: () throws -> Void) throws -> (median: Double, all: [Double]) {
            for _ in 0..<warmup { try body() }
            var times: [Double] = []
            for _ in 0..<max(1, repeats) {
                try world.barrier()
                let c = Clock.now
                try body()
                times.append(try world.allreduceMax([c.elapsed])[0])
            }
            return (median(times), times)
        }
        let perHost = Dictionary(grouping: hosts.indices, by: { hosts[$0] }).map { "\($0.key):\($0.value.count)" }.sorted()
        say("bench comm: \(n) ranks on \(nodeCount) node(s) (\(perHost.joined(separator: ", "))), fp32, "
            + "median of \(repeats) repeats (slowest rank each)\(label.isEmpty ? "" : ", label '\(label)'")")
        var raw = [Float](repeating: Float(r + 1), count: largest)

        // 1. Size sweep: allreduce (sum) and broadcast (root 0).
        say("")
        say("| MB | allreduce s | allreduce algbw GB/s | allreduce busbw GB/s | broadcast s | broadcast algbw = busbw GB/s |")
        say("|---:|---:|---:|---:|---:|---:|")
        let arFactor = n > 1 ? 2 * Double(n - 1) / Double(n) : 0
        for mb in sizes {
            let count = Int(mb * 1e6 / 4), bytes = Double(count * 4)
            let ar = try raw.withUnsafeMutableBufferPointer { all in
                try timed { try world.allreduceSum(UnsafeMutableBufferPointer(rebasing: all[0..<count])) }
            }
            let bc = try raw.withUnsafeMutableBufferPointer { all in
                try timed { try world.broadcast(UnsafeMutableBufferPointer(rebasing: all[0..<count]), root: 0) }
            }
            let arAlg = bytes / ar.median / 1e9, bcAlg = bytes / bc.median / 1e9
            say(String(format: "| %g | %.4f | %.3f | %.3f | %.4f | %.3f |", mb, ar.median, arAlg, arAlg * arFactor, bc.median, bcAlg))
            try emit(["op": "allreduce", "mb": mb, "bytes": bytes, "seconds": ar.median, "seconds_repeats": ar.all,
                      "algbw_gb_s": arAlg, "busbw_gb_s": arAlg * arFactor])
            try emit(["op": "broadcast", "mb": mb, "bytes": bytes, "seconds": bc.median, "seconds_repeats": bc.all,
                      "algbw_gb_s": bcAlg, "busbw_gb_s": bcAlg])
        }

        // 2. Weight sync: the job's broadcast of the model's flat parameter buffer from the
        // leader (JobContext.syncWeights: world.broadcast of a FlatBuffer, root 0), paired in
        // each repeat with a plain broadcast of an array of the same size.
        say("")
        say("| weight sync | floats | MB | raw broadcast s | weight sync s | weight sync GB/s | fraction of raw (repeats) |")
        say("|---|---:|---:|---:|---:|---:|---|")
        for m in models {
            let params = FlatBuffer(count: m.floats)
            let bytes = Double(m.floats * 4)
            var rawTimes: [Double] = [], syncTimes: [Double] = [], fractions: [Double] = []
            try raw.withUnsafeMutableBufferPointer { all in
                let plain = UnsafeMutableBufferPointer(rebasing: all[0..<m.floats])
                for _ in 0..<warmup { try world.broadcast(plain, root: 0); try world.broadcast(params.buffer, root: 0) }
                for i in 0..<max(1, repeats) {
                    // Alternate which goes first, so that an order effect cancels in the median.
                    var a = 0.0, b = 0.0
                    if i % 2 == 0 {
                        a = try timed1(world) { try world.broadcast(plain, root: 0) }
                        b = try timed1(world) { try world.broadcast(params.buffer, root: 0) }
                    } else {
                        b = try timed1(world) { try world.broadcast(params.buffer, root: 0) }
                        a = try timed1(world) { try world.broadcast(plain, root: 0) }
                    }
                    rawTimes.append(a); syncTimes.append(b); fractions.append(a / b)
                }
            }
            let name = m.name + (m.cut ? " (cut to --model-max-mb)" : "")
            say(String(format: "| %@ | %d | %.1f | %.4f | %.4f | %.3f | **%.0f %%** (%@) |", name, m.floats, bytes / 1e6,
                       median(rawTimes), median(syncTimes), bytes / median(syncTimes) / 1e9, 100 * median(fractions),
                       fractions.map { String(format: "%.0f", 100 * $0) }.joined(separator: ", ")))
            try emit(["op": "weight_sync", "model": m.name, "cut": m.cut, "floats": m.floats, "bytes": bytes,
                      "raw_broadcast_seconds": median(rawTimes), "seconds": median(syncTimes), "seconds_repeats": syncTimes,
                      "algbw_gb_s": bytes / median(syncTimes) / 1e9, "fraction_of_raw": median(fractions),
                      "fraction_repeats": fractions])
        }

        // 3. MoT merge round among the branch ranks (the last `mergeBranches` ranks): the
        // allreduce of a model-sized buffer, and the real merge (Merging.allreduceMerge,
        // linear uniform, as MoT's default), paired per repeat.
        let k = min(mergeBranches, n)
        guard k >= 2 else {
            say("\nMoT merge: skipped (needs at least 2 branch ranks; --merge-branches \(mergeBranches), \(n) ranks)")
            return try finish(lines)
        }
        let inBranch = r >= n - k
        let branch = try world.split(color: inBranch ? 1 : nil, key: r)
        let branchHosts = Set(hosts[(n - k)...]).count
        say("")
        say("MoT merge round among ranks \(n - k)...\(n - 1) (\(k) branches on \(branchHosts) node(s)):")
        say("| model | MB | allreduce s | merge (linear) s | merge busbw GB/s |")
        say("|---|---:|---:|---:|---:|")
        raw = []  // the merge allocates its own contribution buffer
        for m in models {
            let params = FlatBuffer(count: m.floats)
            let bytes = Double(m.floats * 4)
            var arTimes: [Double] = [], mergeTimes: [Double] = []
            let recipe = MergeRecipe.uniform(.linear, branches: k)
            for i in 0..<(warmup + max(1, repeats)) {
                let a = try timed1(world) { if let b = branch { try b.allreduceSum(params.buffer) } }
                let c = try timed1(world) {
                    if let b = branch { try allreduceMerge(branch: params.buffer, base: nil, comm: b, recipe: recipe) }
                }
                if i >= warmup { arTimes.append(a); mergeTimes.append(c) }
            }
            let busbw = bytes / median(mergeTimes) / 1e9 * 2 * Double(k - 1) / Double(k)
            say(String(format: "| %@ | %.1f | %.4f | %.4f | %.3f |", m.name + (m.cut ? " (cut)" : ""), bytes / 1e6,
                       median(arTimes), median(mergeTimes), busbw))
            try emit(["op": "mot_merge", "model": m.name, "cut": m.cut, "floats": m.floats, "bytes": bytes, "branches": k,
                      "branch_nodes": branchHosts, "allreduce_seconds": median(arTimes), "allreduce_repeats": arTimes,
                      "seconds": median(mergeTimes), "seconds_repeats": mergeTimes, "busbw_gb_s": busbw])
        }
        try finish(lines)
    }

    /// Prints the JSON lines (rank 0) and appends them to `--output`.
    func finish(_ lines: [String]) throws {
        guard !lines.isEmpty else { return }
        print("")
        for l in lines { print(l) }
        fflush(stdout)
        if let output {
            let text = lines.joined(separator: "\n") + "\n"
            if let h = FileHandle(forWritingAtPath: output) {
                h.seekToEndOfFile(); h.write(Data(text.utf8)); h.closeFile()
            } else {
                try Data(text.utf8).write(to: URL(fileURLWithPath: output))
            }
        }
    }

    /// One timed call after a barrier: the slowest rank's seconds.
    func timed1(_ world: MPICommunicator, _ body: () throws -> Void) throws -> Double {
        try world.barrier()
        let c = Clock.now
        try body()
        return try world.allreduceMax([c.elapsed])[0]
    }

    /// "1,4,16" → [1, 4, 16]; anything else is a usage error naming the bad entry.
    func parseSizes() throws -> [Double] {
        try sizesMb.split(separator: ",").map { part in
            guard let v = Double(part.trimmingCharacters(in: .whitespaces)), v > 0 else {
                throw ValidationError("--sizes-mb: expected positive numbers separated by commas (e.g. 1,4,16), found '\(part)'")
            }
            return v
        }
    }
}
