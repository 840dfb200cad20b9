import Foundation
import Roles
import Tensors
import XCTest

/// `ispo-cluster detect train|eval` as a user runs it: the built executable on
/// a small generated feature file; exit codes, the printed AUROC table, and
/// clear errors for bad input.
final class DetectCommandTests: XCTestCase {
    /// The executable SwiftPM builds next to the test bundle.
    func binary() throws -> String {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [dir.appendingPathComponent("ispo-cluster").path,
                          dir.deletingLastPathComponent().appendingPathComponent("ispo-cluster").path]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            XCTFail("expected the ispo-cluster executable beside the test bundle, found none in \(candidates); run `swift build` first")
            throw CocoaError(.fileNoSuchFile)
        }
        return path
    }

    /// Runs the binary; returns exit status, stdout and stderr.
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try binary())
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// 80 questions × 3 answers; 4 "hidden" features + 7 token features. An answer
    /// is correct when feature 0 + token feature 0 (the mean log-prob) is high, plus noise.
    func writeFeatures(_ path: String, seed: UInt64) throws {
        var rng = Rng(seed: seed)
        var lines: [String] = []
        for q in 0..<80 {
            for _ in 0..<3 {
                let rep = (0..<4).map { _ in rng.normal() }, tok = (0..<7).map { _ in rng.normal() }
                let label = rep[0] + tok[0] + 0.5 * rng.normal() > 0 ? 1 : 0
                let obj: [String: Any] = ["group": String(format: "%016x", q), "data_source": "toy", "label": label,
                                          "representation_dim": 4, "token_dim": 7, "features": rep + tok]
                lines.append(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The AUROC point value on the table row starting with `method`.
    func auroc(_ out: String, _ method: String) -> Double? {
        guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix(method) }) else { return nil }
        let rest = line.dropFirst(method.count).split(separator: " ").first { Double($0) != nil }
        return rest.flatMap { Double($0) }
    }

    func testTrainThenEvalPrintsAUROCsAndBadInputFailsClearly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-detect-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let features = dir + "/f.jsonl", head = dir + "/head.shard"
        try writeFeatures(features, seed: 4)
        let quick = ["--epochs", "150", "--patience", "150", "--lr", "0.03", "--k", "2"]

        let train = try run(["detect", "train", "--features", features, "--output", head] + quick)
        XCTAssertEqual(train.status, 0, train.err)
        XCTAssertTrue(train.out.contains("detect train: 240 answers, K=2"), train.out)
        XCTAssertTrue(train.out.contains("validation AUROC 0."), train.out)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: head)).prefix(8)), Array("ISPOCKPT".utf8))

        let eval = try run(["detect", "eval", "--features", features, "--resamples", "200", "--mlp-hidden", "8"] + quick)
        XCTAssertEqual(eval.status, 0, eval.err)
        print("[roles] detect eval output:\n\(eval.out)")
        for method in ["FLaG (K=2)", "linear probe", "MLP probe (H=8)", "mean log-prob", "mean entropy (negated)", "answer-token probability"] {
            let a = auroc(eval.out, method)
            XCTAssertNotNil(a, "no AUROC line for \(method)")
            if let a { XCTAssertTrue(a >= 0 && a <= 1, "\(method): AUROC \(a)") }
        }
        // The label is a noisy sum of two features the learned heads see; mean log-prob sees one; entropy (random) none.
        XCTAssertGreaterThan(try XCTUnwrap(auroc(eval.out, "FLaG (K=2)")), 0.85)
        XCTAssertGreaterThan(try XCTUnwrap(auroc(eval.out, "linear probe")), 0.85)
        XCTAssertLessThan(try XCTUnwrap(auroc(eval.out, "mean entropy (negated)")), 0.7)
        XCTAssertTrue(eval.out.contains("95% bootstrap CIs, 200 resamples"))

        // The saved head evaluates too.
        let saved = try run(["detect", "eval", "--features", features, "--head", head, "--resamples", "50"] + quick)
        XCTAssertEqual(saved.status, 0, saved.err)
        XCTAssertNotNil(auroc(saved.out, "FLaG (K=2)"))
        // `detect head` verifies and describes it and exports the JSON form, which loads to the same head.
        let shown = try run(["detect", "head", "--head", head, "--json", dir + "/head.json"])
        XCTAssertEqual(shown.status, 0, shown.err)
        XCTAssertTrue(shown.out.contains("kind flag, K 2, representation_dim 4, token_dim 7"), shown.out)
        let exported = try JSONDecoder().decode(FLaGHeadFile.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/head.json")))
        let saved2 = try FLaGHeadFile.read(path: head)
        XCTAssertEqual(exported.parameters.map { $0.bitPattern }, saved2.parameters.map { $0.bitPattern })
        XCTAssertEqual(exported.standardizer, saved2.standardizer)
        XCTAssertEqual(try FLaGHeadFile.read(path: dir + "/head.json").parameters, saved2.parameters)
        // A damaged head is refused with what was expected and what to do.
        var damaged = try Data(contentsOf: URL(fileURLWithPath: head))
        damaged[60] ^= 0x01
        let broken = dir + "/broken.shard"
        try damaged.write(to: URL(fileURLWithPath: broken))
        let refused = try run(["detect", "eval", "--features", features, "--head", broken, "--resamples", "50"] + quick)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.err.contains("expected") && refused.err.contains("detect train"), refused.err)

        // Bad input: a line with the wrong number of features, a missing file, a head for other features.
        let bad = dir + "/bad.jsonl"
        try #"{"group":"a","label":1,"representation_dim":4,"token_dim":7,"features":[1,2,3]}"#.write(toFile: bad, atomically: true, encoding: .utf8)
        let b = try run(["detect", "train", "--features", bad, "--output", dir + "/x.json"])
        XCTAssertNotEqual(b.status, 0)
        XCTAssertTrue(b.err.contains("bad.jsonl:1: expected 11 features, found 3"), b.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.json"))
        let missing = try run(["detect", "eval", "--features", dir + "/none.jsonl"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains("expected a feature JSONL written by `ispo-cluster detect features`"), missing.err)
        let narrow = dir + "/narrow.jsonl"
        try (#"{"group":"a","label":1,"representation_dim":0,"token_dim":7,"features":[1,2,3,4,5,6,7]}"# + "\n"
             + #"{"group":"b","label":0,"representation_dim":0,"token_dim":7,"features":[7,6,5,4,3,2,1]}"#)
            .write(toFile: narrow, atomically: true, encoding: .utf8)
        let mismatch = try run(["detect", "eval", "--features", narrow, "--head", head, "--train-features", narrow])
        XCTAssertNotEqual(mismatch.status, 0)
        XCTAssertTrue(mismatch.err.contains("reads 11 features, --features has 7"), mismatch.err)
        let zeroK = try run(["detect", "train", "--features", features, "--output", dir + "/y.json", "--k", "0"])
        XCTAssertNotEqual(zeroK.status, 0)
        XCTAssertTrue(zeroK.err.contains("--k"), zeroK.err)
    }
}
