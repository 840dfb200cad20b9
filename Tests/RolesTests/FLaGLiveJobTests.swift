import Comm
import Configs
import Foundation
import Objectives
@testable import Roles
import Tensors
import XCTest

/// FLaG live in a whole RL job (1 learner + 1 rollout worker over loopback):
/// every rollout is scored, `flag/*` and `val-flag/*` are logged, the penalty
/// moves exactly the scored rewards by −λ·p(wrong), and the filter removes exactly
/// the flagged rollouts before the advantage.
final class FLaGLiveJobTests: XCTestCase {
    static let dim = 32

    /// A random FLaG head (K = 2) on the tiny model's 3·32 + 7 features.
    func writeHead(to path: String) throws {
        let D = 3 * Self.dim + FLaGTokenFeatures.count
        var rng = Rng(seed: 3)
        let rows = 12
        let data = FLaGDataset(features: (0..<(rows * D)).map { _ in rng.normal() }, labels: [Int](repeating: 0, count: rows),
                               groups: [String](repeating: "", count: rows), representationDim: 3 * Self.dim, tokenDim: 7)
        let shape = FLaGHeadShape(representationDim: 3 * Self.dim, tokenDim: 7, groups: 2)
        let head = FLaGHeadFile(kind: "flag", shape: shape, weights: FLaGLossWeights(), hidden: nil,
                                standardizer: FLaGStandardizer(fitting: data),
                                parameters: FLaGHead.initialParameters(shape: shape, seed: 8, scale: 3), validationAUROC: nil, epochs: 0)
        try head.write(path: path)
    }

    func runJob(flag: [String], dir: String) throws -> [(step: Int, metrics: [String: Double])] {
        let config = try Config.load(yamlFile: nil, overrides: [
            "trainer.pipeline=demo", "trainer.total_steps=1", "trainer.test_freq=1", "trainer.val_before_train=false",
            "trainer.dump_rollouts=true",
            "data.train_files=[synthetic:addition:1]", "data.train_batch_size=4", "data.val_batch_size=6",
            "data.max_prompt_length=8", "data.max_response_length=12", "rollout.n=4", "rollout.max_new_tokens=12",
            "actor.ppo_mini_batch_size=4", "actor.ppo_micro_batch_size_per_gpu=16", "actor.optim.lr=1e-3",
            "model.tiny.dim=\(Self.dim)", "model.tiny.layers=2", "model.tiny.heads=4", "model.tiny.kv_heads=2",
            "model.tiny.ffn_dim=48", "model.tiny.max_seq_len=24",
        ] + flag)
        try config.validate()
        let layout = try RankLayout(roles: [[.learner], [.rollout]])
        var evaluations: [(step: Int, metrics: [String: Double])] = []
        let lock = NSLock()
        Parallel.workers = 1
        defer { Parallel.workers = 2 }
        try LoopbackWorld.run(size: 2) { comm in
            let job = try ClusterJob(world: comm, layout: layout, config: config,
                                     warmStart: WarmStart(steps: 1, batchSize: 4, lr: 1e-3), root: LoopbackJobTests.root,
                                     runDirectory: comm.rank == 0 ? dir : nil)
            try job.run()
            lock.lock(); if comm.rank == 0 { evaluations = job.evaluations }; lock.unlock()
        }
        return evaluations
    }

    func rows(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func stepMetrics(_ dir: String) throws -> [String: Any] {
        let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let line = try XCTUnwrap(lines.first { $0.hasPrefix("{\"step\":1,") && $0.contains("\"flag/scored_frac\"") })
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return try XCTUnwrap(obj["data"] as? [String: Any])
    }

    func testPenaltyAndFilterInAnRLStep() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-flag-live-\(getpid())").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let head = base + "/head.shard"
        try writeHead(to: head)
        let lambda = 0.3, threshold = 0.5

        // Penalty only: every rollout kept (16), reward = outcome − λ·p(wrong) exactly.
        let penaltyDir = base + "/penalty"
        let evals = try runJob(flag: ["flag.enable=true", "flag.head=\(head)", "flag.penalty=\(lambda)"], dir: penaltyDir)
        let dumped = try rows(penaltyDir + "/rollouts/1.jsonl")
        XCTAssertEqual(dumped.count, 16)
        var flaggedInPenaltyRun = 0
        for r in dumped {
            XCTAssertFalse((r["response"] as! String).isEmpty, "this seed should give no empty rollouts")
            let score = try XCTUnwrap(r["flag/score"] as? Double), pw = try XCTUnwrap(r["flag/p_wrong"] as? Double)
            let outcome = try XCTUnwrap(r["outcome"] as? Double), reward = try XCTUnwrap(r["reward"] as? Double)
            XCTAssertEqual(pw, 1 / (1 + exp(score)), accuracy: 1e-12)
            XCTAssertEqual(reward, outcome - lambda * pw, accuracy: 1e-12)
            if pw > threshold { flaggedInPenaltyRun += 1 }
        }
        let m = try stepMetrics(penaltyDir)
        XCTAssertEqual(m["flag/scored_frac"] as? Double, 1)
        XCTAssertEqual(try XCTUnwrap(m["flag/frac_flagged"] as? Double), Double(flaggedInPenaltyRun) / 16, accuracy: 1e-12)
        XCTAssertNil(m["flag/filtered"])
        let val = try XCTUnwrap(evals.last?.metrics)
        // An answer that is only the stop token has no features (empty answer): unscored, like `detect features`.
        let generations = try rows(penaltyDir + "/generations/1.jsonl")
        for g in generations { XCTAssertEqual(g["flag/score"] is Double, !(g["response"] as! String).isEmpty, "\(g)") }
        let scored = Double(generations.filter { $0["flag/score"] is Double }.count) / Double(generations.count)
        XCTAssertEqual(try XCTUnwrap(val["val-flag/scored_frac"]), scored, accuracy: 1e-12)

        // Filter only: the same rollouts (same seeds), minus exactly the flagged ones and the groups
        // that leaves with a single rollout (no GRPO baseline); rewards untouched; advantages over what is left.
        let filterDir = base + "/filter"
        _ = try runJob(flag: ["flag.enable=true", "flag.head=\(head)", "flag.filter=true", "flag.threshold=\(threshold)"], dir: filterDir)
        let kept = try rows(filterDir + "/rollouts/1.jsonl")
        let unflagged = dumped.filter { ($0["flag/p_wrong"] as! Double) <= threshold }
        let groupSizes = Dictionary(grouping: unflagged, by: { $0["group_id"] as! Int }).mapValues(\.count)
        let expected = unflagged.filter { groupSizes[$0["group_id"] as! Int]! >= 2 }
        print("[roles] FLaG live job: \(flaggedInPenaltyRun) of 16 rollouts flagged; filter kept \(kept.count)")
        XCTAssertGreaterThan(flaggedInPenaltyRun, 0, "the test head should flag some rollouts (pick another seed)")
        XCTAssertLessThan(flaggedInPenaltyRun, 16, "the test head should keep some rollouts (pick another seed)")
        XCTAssertEqual(kept.map { $0["response"] as! String }, expected.map { $0["response"] as! String })
        XCTAssertEqual(kept.map { $0["flag/score"] as! Double }, expected.map { $0["flag/score"] as! Double })
        for r in kept { XCTAssertEqual(r["reward"] as? Double, r["outcome"] as? Double) }
        let adv = GroupAdvantages.compute(rewards: kept.map { $0["reward"] as! Double }, groupIds: kept.map { $0["group_id"] as! Int },
                                          normalizeByStd: true)
        for (a, r) in zip(adv, kept) { XCTAssertEqual(a, r["advantage"] as! Double, accuracy: 1e-12) }
        let fm = try stepMetrics(filterDir)
        XCTAssertEqual(fm["flag/filtered"] as? Double, Double(16 - expected.count))
    }
}
