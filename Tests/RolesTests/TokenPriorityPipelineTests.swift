import Comm
import Configs
import Foundation
import Objectives
@testable import Roles
import Tensors
import Transformer
import XCTest

/// One supervised pipeline run over the loopback world (tiny model, addition
/// traces): its metric lines, a JSON file it wrote, and the leader's parameters
/// before and after.
struct SupervisedRun {
    var records: [(step: Int, data: [String: Double])] = []
    var file: [String: Any] = [:]
    var before: [Float] = [], after: [Float] = []
    /// Where the leader's parameters are.
    var layout: ParameterLayout?

    /// The first metric line holding `key`.
    func first(_ key: String) -> [String: Double]? { records.first { $0.data[key] != nil }?.data }

    static func run(_ overrides: [String], file: String, roles: [[Role]] = [[.learner], [.rollout]]) throws -> SupervisedRun {
        let config = try Config.load(yamlFile: nil, overrides: [
            "data.train_files=[synthetic:addition:1]", "data.val_batch_size=6",
            "data.max_prompt_length=8", "data.max_response_length=24", "rollout.max_new_tokens=24",
            "model.tiny.dim=32", "model.tiny.layers=2", "model.tiny.heads=4", "model.tiny.kv_heads=2",
            "model.tiny.ffn_dim=48", "model.tiny.max_seq_len=36",
        ] + overrides)
        try config.validate()
        let layout = try RankLayout(roles: roles)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-supervised-\(getpid())-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var out = SupervisedRun()
        let lock = NSLock()
        Parallel.workers = 1
        defer { Parallel.workers = 2 }
        try LoopbackWorld.run(size: layout.worldSize) { comm in
            let job = try ClusterJob(world: comm, layout: layout, config: config,
                                     warmStart: WarmStart(steps: 6, batchSize: 4, lr: 3e-3), root: LoopbackJobTests.root,
                                     runDirectory: comm.rank == 0 ? dir : nil)
            let before = job.model.parameters.toArray()
            try job.run()
            if comm.rank == 0 { lock.lock(); out.before = before; out.after = job.model.parameters.toArray()
                out.layout = job.model.layout; lock.unlock() }
        }
        for line in try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n") {
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let data = try XCTUnwrap(obj["data"] as? [String: Any]).compactMapValues { ($0 as? NSNumber)?.doubleValue }
            out.records.append((try XCTUnwrap(obj["step"] as? Int), data))
        }
        out.file = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + file)))
            as? [String: Any])
        return out
    }
}

/// The priority pipeline on 1 learner + 1 rollout worker: the testbeds mark
/// exactly the tokens they touched and each mode weighs them as documented.
final class TokenPriorityPipelineTests: XCTestCase {
    struct Row { var tokens: [Int]; var noise: [Bool]; var toxic: [Bool]; var weights: [Double] }

    func rows(_ r: SupervisedRun) throws -> [Row] {
        try XCTUnwrap(r.file["examples"] as? [[String: Any]]).map {
            Row(tokens: try XCTUnwrap($0["tokens"] as? [Int]), noise: try XCTUnwrap($0["noise"] as? [Bool]),
                toxic: try XCTUnwrap($0["toxic"] as? [Bool]), weights: try XCTUnwrap($0["weights"] as? [Double]))
        }
    }

    func run(_ extra: [String]) throws -> SupervisedRun {
        try SupervisedRun.run(["trainer.pipeline=priority", "priority.examples=12", "priority.probe_freq=3",
                               "priority.probe_prompts=4"] + extra, file: TokenPriorityPipeline.tokenFile)
    }

    func testTheHardMaskZeroesExactlyTheInjectedNoise() throws {
        let r = try run(["priority.mode=hard", "priority.testbed=noise", "priority.noise_rate=0.5", "priority.noise_tokens=3"])
        let rows = try rows(r)
        XCTAssertEqual(rows.count, 12)
        XCTAssertEqual(rows.filter { $0.noise.contains(true) }.count, 6, "noise_rate 0.5 of 12 traces")
        for row in rows {
            XCTAssertEqual(row.noise.count, row.tokens.count)
            XCTAssertEqual(row.noise.filter { $0 }.count, row.noise.contains(true) ? 3 : 0)
            XCTAssertFalse(row.noise.last!, "the noise goes before the EOS")
            XCTAssertEqual(row.weights, row.noise.map { $0 ? 0 : 1 }, "Φ = 0 exactly on the injected tokens")
            XCTAssertFalse(row.toxic.contains(true))
        }
        let total = rows.map(\.tokens.count).reduce(0, +)
        let m = try XCTUnwrap(r.first("priority/kept_frac"))
        XCTAssertEqual(try XCTUnwrap(m["priority/kept_frac"]), Double(total - 18) / Double(total), accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(m["priority/noise_frac"]), 18 / Double(total), accuracy: 1e-12)
        XCTAssertEqual(m["priority/noise_in_kept"], 0)
        XCTAssertEqual(r.records.filter { $0.data["val-core/all/acc/mean@1"] != nil }.map(\.step), [0, 6])
        XCTAssertEqual(r.records.filter { $0.data["priority/train_acc"] != nil }.map(\.step), [1, 3, 6])
        XCTAssertNotEqual(r.before, r.after, "the student trained")
    }

    func testRho1AgainstTheInitialStudentKeepsTheConfiguredFraction() throws {
        let r = try run(["priority.mode=rho1", "priority.reference=initial", "priority.keep_fraction=0.4", "priority.refresh=3"])
        let rows = try rows(r)
        let total = rows.map(\.tokens.count).reduce(0, +), keep = TopFraction.count(fraction: 0.4, of: total)
        XCTAssertEqual(rows.flatMap(\.weights).filter { $0 == 1 }.count, keep)
        XCTAssertTrue(rows.flatMap(\.weights).allSatisfy { $0 == 0 || $0 == 1 })
        let lines = r.records.filter { $0.data["priority/kept_frac"] != nil }
        XCTAssertEqual(lines.map(\.step), [0, 4], "computed at the start and refreshed before step 4 (priority.refresh=3)")
        for line in lines { XCTAssertEqual(try XCTUnwrap(line.data["priority/kept_frac"]), Double(keep) / Double(total), accuracy: 1e-12) }
    }

    func testSignedPriorityIsNegativeOnlyOnTheToxicAnswers() throws {
        let r = try run(["priority.mode=signed", "priority.testbed=toxic", "priority.toxic_rate=0.25"])
        let rows = try rows(r)
        XCTAssertEqual(rows.filter { $0.toxic.contains(true) }.count, 3, "toxic_rate 0.25 of 12 traces")
        for row in rows {
            XCTAssertEqual(row.weights, row.toxic.map { $0 ? -1 : 1 })
            XCTAssertFalse(row.noise.contains(true))
        }
        let negative = Double(rows.flatMap(\.toxic).filter { $0 }.count) / Double(rows.map(\.tokens.count).reduce(0, +))
        let m = try XCTUnwrap(r.first("priority/negative_frac"))
        XCTAssertGreaterThan(negative, 0)
        XCTAssertEqual(try XCTUnwrap(m["priority/negative_frac"]), negative, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(m["priority/mean_phi"]), 1 - 2 * negative, accuracy: 1e-12)
        let toxicRates = r.records.filter { $0.data["priority/val_toxic_rate"] != nil }
        XCTAssertEqual(toxicRates.map(\.step), [0, 6], "the toxic answer rate before and after training")
        XCTAssertTrue(toxicRates.allSatisfy { (0...1).contains($0.data["priority/val_toxic_rate"]!) })
        XCTAssertEqual(TokenPriorityTraces.toxicAnswer("41"), "42")
        XCTAssertEqual(TokenPriorityTraces.toxicAnswer("x"), "x0")
    }

    func testTheRandomMaskDropsAsManyTokensAsTheTestbedMarksButNotThoseTokens() throws {
        let r = try run(["priority.mode=random", "priority.testbed=noise", "priority.noise_rate=0.5", "priority.noise_tokens=3"])
        let traces = try rows(r)
        let weights = traces.flatMap(\.weights), noise = traces.flatMap(\.noise)
        XCTAssertTrue(weights.allSatisfy { $0 == 0 || $0 == 1 })
        XCTAssertEqual(weights.filter { $0 == 0 }.count, 18, "as many zeros as injected tokens (6 traces × 3)")
        XCTAssertNotEqual(weights, noise.map { $0 ? 0 : 1 }, "not the oracle mask")
        XCTAssertTrue(traces.contains { !$0.noise.contains(true) && $0.weights.contains(0) }, "clean traces are masked too")
        let again = try self.rows(run(["priority.mode=random", "priority.testbed=noise", "priority.noise_rate=0.5", "priority.noise_tokens=3"]))
        XCTAssertEqual(again.flatMap(\.weights), weights, "the mask is seeded")
    }
}
