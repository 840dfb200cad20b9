import ArgumentParser
import Foundation
import Roles

/// `detect head`: prints a saved head's hyper-parameters after checking every CRC;
/// `--json` also writes it in the JSON form (format_version 1) for scripts such as
/// Launch/flag_live_check.py. The JSON form is read back by `--head` and `flag.head`.
struct DetectHead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "head",
        abstract: "Verify a saved FLaG head and print its hyper-parameters; optionally export it as JSON.")

    @Option(help: "The head file (written by `detect train`).") var head: String
    @Option(help: "Also write the head as JSON (format_version 1, Doubles printed to round-trip exactly).") var json: String?

    func run() throws {
        let h = try FLaGHeadFile.read(path: head)
        var parts = ["kind \(h.kind)"]
        if let s = h.shape {
            parts += ["K \(s.groups)", "representation_dim \(s.representationDim)", "token_dim \(s.tokenDim)",
                      "projection_dim \(s.projectionDim)", "temperature \(s.temperature)"]
        }
        if let hidden = h.hidden { parts.append("hidden \(hidden)") }
        parts += ["layer \(h.layer.map(String.init) ?? "not recorded")", "parameters \(h.parameters.count)", "epochs \(h.epochs)",
                  "validation AUROC \(h.validationAUROC.map { String(format: "%.4f", $0) } ?? "n/a")"]
        print("detect head: \(head): " + parts.joined(separator: ", "))
        if let json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            try enc.encode(h).write(to: URL(fileURLWithPath: json), options: .atomic)
            print("wrote \(json)")
        }
    }
}
