import ArgumentParser
import Checkpoint
import Foundation
import Roles
import Tasks

/// `ispo-cluster ledger <file>`: prints a T3S token ledger as text — per
/// token of a sample its text, log-prob at θ_0 and θ_b, Δc and whether it is
/// an imitation anchor (Δc > 0).
struct Ledger: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a token ledger (a t3s run's <run>/t3s-ledger.tl): per-token Δc and the anchors of a sample.")

    @Argument(help: "The ledger file, or a run directory holding t3s-ledger.tl.") var path: String
    @Option(help: "The sample to print (default: a summary of every sample).") var sample: Int?
    @Option(help: "A .gguf file or Hugging Face folder whose tokenizer decodes the tokens (default: the synthetic tasks' characters).")
    var model: String?

    func run() throws {
        var file = path
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { file = path + "/t3s-ledger.tl" }
        let ledger = try TokenLedger.read(from: file)
        let decode: ([Int32]) -> String
        if let model {
            let codec = BPECodec(tokenizer: try ModelLoading.load(path: model).tokenizer)
            decode = { codec.decode($0) }
        } else {
            let codec = try CharCodec(alphabet: syntheticAlphabet)
            decode = { codec.decode($0) }
        }
        let ids = ledger.sampleIDs(checkpoint: "tokens")
        guard !ids.isEmpty else {
            throw ValidationError("\(file): expected the checkpoints theta_0, theta_b and tokens of a t3s run, found \(ledger.checkpoints)")
        }
        guard let sample else {
            print("\(file): \(ids.count) samples, checkpoints \(ledger.checkpoints.sorted())")
            for id in ids { print(line(id, ledger, decode)) }
            return
        }
        guard let tokens = ledger.logProbs(checkpoint: "tokens", sampleID: sample),
              let c0 = ledger.logProbs(checkpoint: "theta_0", sampleID: sample),
              let cb = ledger.logProbs(checkpoint: "theta_b", sampleID: sample) else {
            throw ValidationError("--sample \(sample): expected one of the ledger's samples 0…\(ids.max() ?? 0), found none")
        }
        print("sample \(sample): position  token  log p(θ_0)  log p(θ_b)  Δc  anchor")
        for t in tokens.indices {
            let text = decode([Int32(tokens[t])]).debugDescription
            let d = Double(cb[t]) - Double(c0[t])
            print(String(format: "%5d  %-8@ %10.4f %10.4f %+9.4f  %@", t, text, c0[t], cb[t], d, d > 0 ? "A" : ""))
        }
    }

    /// One sample's summary: its anchor count and text with anchors in brackets.
    func line(_ id: Int, _ ledger: TokenLedger, _ decode: ([Int32]) -> String) -> String {
        guard let tokens = ledger.logProbs(checkpoint: "tokens", sampleID: id),
              let c0 = ledger.logProbs(checkpoint: "theta_0", sampleID: id),
              let cb = ledger.logProbs(checkpoint: "theta_b", sampleID: id) else { return "\(id): incomplete" }
        var text = "", anchors = 0
        for t in tokens.indices {
            let piece = decode([Int32(tokens[t])])
            if cb[t] > c0[t] { anchors += 1; text += "[\(piece)]" } else { text += piece }
        }
        return "\(id): \(anchors)/\(tokens.count) anchors  \(text.debugDescription)"
    }
}
