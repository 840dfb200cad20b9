import ArgumentParser
import Foundation
import Objectives
import Roles
import Tasks
import Tensors

/// `ispo-cluster motab-premise`: MOTAB's premise on student rollouts
/// (METHODS.md §2, "measure this first"). For each student rollout with a
/// first wrong step: the depth of that step, and the teacher's entropy and
/// greedy-continuation accuracy after the student's prefix through it and
/// after the matched correct prefix. Writes one JSON line per record and a
/// summary JSON; prints the table by depth.
struct MotabPremise: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "motab-premise",
        abstract: "MOTAB's premise: teacher entropy and continuation accuracy vs the depth of the student's first error.")

    @Option(help: "The teacher: a checkpoint directory or run directory.") var teacher: String
    @Option(help: "The student: a checkpoint directory or run directory.") var student: String
    @Option(name: .customLong("family"), help: "A synthetic family spec (chain:4); repeatable.") var families: [String]
    @Option(help: "Student rollouts per family.") var prompts = 256
    @Option(help: "Seed of the problems and the student's sampling.") var seed: UInt64 = 1
    @Option(help: "The student's sampling temperature.") var temperature: Float = 1
    @Option(help: "New tokens at most per rollout (and per teacher continuation, prefix included).") var maxNewTokens = 80
    @Option(help: "Output prefix: <output>.jsonl (records) and <output>.summary.json.") var output: String
    @Option(help: "Threads for OpenBLAS and the elementwise kernels.") var threads = 1

    func validate() throws {
        guard prompts > 0, maxNewTokens > 0, threads > 0 else { throw ValidationError("--prompts, --max-new-tokens and --threads must be positive.") }
        guard temperature > 0 else { throw ValidationError("--temperature must be > 0, found \(temperature).") }
        guard !families.isEmpty else { throw ValidationError("Give at least one --family, e.g. --family chain:4.") }
    }

    func run() throws {
        Blas.configure(threads: threads)
        let dir = (output as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let codec = try CharCodec(alphabet: syntheticAlphabet)
        let maxLen = 32 + maxNewTokens
        let probe = MotabPremiseProbe(student: try MotabPremiseProbe.loadModel(student, maxSeqLen: maxLen),
                                      teacher: LocalTeacher(model: try MotabPremiseProbe.loadModel(teacher, maxSeqLen: maxLen)), codec: codec)
        var lines: [String] = [], summary: [String: Any] = [:]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for spec in families {
            let family = try SyntheticFamilies.named(spec)
            let (records, counts) = try probe.run(family: family, count: prompts, seed: seed, temperature: temperature,
                                                  maxNewTokens: maxNewTokens)
            lines += try records.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
            let rows = MotabPremiseSummary.rows(records)
            summary[spec] = [
                "rollouts": counts.rollouts, "student_correct": counts.studentCorrect, "measured": counts.measured,
                "rows": try JSONSerialization.jsonObject(with: try encoder.encode(rows)),
            ]
            print("\(spec): \(counts.rollouts) student rollouts, \(counts.studentCorrect) right, \(counts.measured) with a measurable first error")
            print("depth  n    H_step wrong/ref   NLL_step wrong/ref   H_next wrong/ref   teacher acc wrong/ref")
            for r in rows {
                print(String(format: "%5d %4d    %.3f / %.3f      %.3f / %.3f        %.3f / %.3f      %5.1f%% / %5.1f%%", r.depth + 1,
                             r.count, r.wrong.stepEntropy.mean, r.reference.stepEntropy.mean, r.wrong.stepNLL.mean,
                             r.reference.stepNLL.mean, r.wrong.nextEntropy.mean, r.reference.nextEntropy.mean,
                             100 * r.wrong.accuracy.mean, 100 * r.reference.accuracy.mean))
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: output + ".jsonl", atomically: true, encoding: .utf8)
        summary["teacher"] = teacher; summary["student"] = student; summary["seed"] = seed
        summary["temperature"] = Double(temperature); summary["prompts"] = prompts
        try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .prettyPrinted])
            .write(to: URL(fileURLWithPath: output + ".summary.json"))
    }
}
