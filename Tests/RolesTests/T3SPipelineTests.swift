import Checkpoint
import Comm
import Configs
import Foundation
import Objectives
@testable import Roles
import Tensors
import XCTest

/// The t3s pipeline on 1 learner + 1 rollout worker over the loopback world:
/// the ledger, the anchors and the bottleneck it reports agree with each other.
final class T3SPipelineTests: XCTestCase {
    func run(arm: String, dir: String, extra: [String] = []) throws -> [[String: Any]] {
        let config = try Config.load(yamlFile: nil, overrides: extra + [
            "trainer.pipeline=t3s", "t3s.arm=\(arm)", "t3s.examples=12", "t3s.probe_freq=2", "t3s.probe_prompts=6",
            "data.train_files=[synthetic:addition:1]", "data.val_batch_size=6",
            "data.max_prompt_length=8", "data.max_response_length=24", "rollout.max_new_tokens=24",
            "model.tiny.dim=32", "model.tiny.layers=2", "model.tiny.heads=4", "model.tiny.kv_heads=2",
            "model.tiny.ffn_dim=48", "model.tiny.max_seq_len=36",
        ])
        try config.validate()
        let layout = try RankLayout(roles: [[.learner], [.rollout]])
        Parallel.workers = 1
        defer { Parallel.workers = 2 }
        try LoopbackWorld.run(size: 2) { comm in
            let job = try ClusterJob(world: comm, layout: layout, config: config,
                                     warmStart: WarmStart(steps: 6, batchSize: 4, lr: 3e-3), root: LoopbackJobTests.root,
                                     runDirectory: comm.rank == 0 ? dir : nil)
            try job.run()
        }
        return try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// `sft.micro_batch_size` splits a step's forward/backward without changing
    /// the step: the logged losses of 1-sequence chunks match the whole batch's
    /// (float summation order only; measured 3.8e-9 relative after 6 steps, bound 1e-6).
    func testMicroBatchesLeaveTheStepUnchanged() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-t3s-micro-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        func losses(_ extra: [String], _ name: String) throws -> [Double] {
            _ = try run(arm: "sft", dir: base + name, extra: extra)
            return try String(contentsOfFile: base + name + "/sft_metrics.jsonl", encoding: .utf8).split(separator: "\n").compactMap {
                let row = try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
                return (row["data"] as? [String: Double])?["t3s/loss"]
            }
        }
        let whole = try losses([], "/whole"), micro = try losses(["sft.micro_batch_size=1"], "/micro")
        XCTAssertEqual(whole.count, micro.count)
        XCTAssertFalse(whole.isEmpty)
        for (w, m) in zip(whole, micro) { XCTAssertEqual(m, w, accuracy: 1e-6 * abs(w)) }
    }

    func testTheAnchorsTheLedgerAndTheBottleneckAgree() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-t3s-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let records = try run(arm: "t3s", dir: dir)
        let data = records.compactMap { $0["data"] as? [String: Double] }
        let probes = records.compactMap { r -> (Int, Double)? in
            guard let d = r["data"] as? [String: Double], let a = d["t3s/train_acc"], d["t3s/phase"] == 0 else { return nil }
            return (r["step"] as! Int, a)
        }
        XCTAssertEqual(probes.map(\.0), [1, 2, 4, 6], "the pre-run probes at step 1 and every t3s.probe_freq steps")
        let summary = try XCTUnwrap(data.first { $0["t3s/anchor_frac"] != nil })
        let lowest = probes.min { $0.1 < $1.1 }!
        XCTAssertEqual(summary["t3s/bottleneck_step"], Double(lowest.0), "θ_b is the first probe with the lowest accuracy")

        // The ledger holds every example at θ_0 and θ_b; its anchors give the logged fraction.
        let ledger = try TokenLedger.read(from: dir + "/" + T3SAnchors.ledgerFile)
        XCTAssertEqual(Set(ledger.checkpoints), ["theta_0", "theta_b", "tokens"])
        XCTAssertEqual(ledger.sampleIDs(checkpoint: "theta_b"), Array(0..<12))
        var anchors = 0, tokens = 0
        for id in 0..<12 {
            let c0 = try XCTUnwrap(ledger.logProbs(checkpoint: "theta_0", sampleID: id))
            let cb = try XCTUnwrap(ledger.logProbs(checkpoint: "theta_b", sampleID: id))
            XCTAssertEqual(c0.count, try XCTUnwrap(ledger.logProbs(checkpoint: "tokens", sampleID: id)).count)
            XCTAssertTrue(c0.allSatisfy { $0 <= 0 && $0.isFinite })
            anchors += zip(c0, cb).filter { Double($1) - Double($0) > 0 }.count
            tokens += c0.count
        }
        let fraction = try XCTUnwrap(summary["t3s/anchor_frac"])
        XCTAssertEqual(fraction, Double(anchors) / Double(tokens), accuracy: 1e-12)
        XCTAssertGreaterThan(fraction, 0); XCTAssertLessThan(fraction, 1)
        let typeShares = TokenType.allCases.map(\.rawValue).compactMap { summary["t3s/anchor_type/\($0)"] }
        XCTAssertEqual(typeShares.reduce(0, +), 1, accuracy: 1e-12, "every anchor has one token type")
        // The arm ran after the pre-run: steps 7…12, evaluated at 0, 6 and 12.
        let evaluated = records.filter { ($0["data"] as? [String: Double])?["val-core/all/acc/mean@1"] != nil }.map { $0["step"] as! Int }
        XCTAssertEqual(evaluated, [0, 6, 12])
    }
}

