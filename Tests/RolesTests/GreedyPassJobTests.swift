import Comm
import Configs
import Foundation
@testable import Roles
import Tensors
import XCTest

/// `rollout.val_kwargs.greedy_pass`: a sampled evaluation that also decodes one
/// greedy answer per prompt. Three evaluations of one saved warm start (one
/// learner, two rollout workers over the loopback communicator): sampled with
/// the greedy pass, greedy only, and sampled without the pass.
final class GreedyPassJobTests: XCTestCase {
    struct Outcome {
        var metrics: [String: Double]
        var dump: [[String: Any]]
        var parameters: [Float]
    }

    static let common = [
        "trainer.seed=3", "data.train_files=[synthetic:addition:1]",
        "data.val_files=[synthetic:addition:1,synthetic:chain:2]", "data.val_batch_size=6", "data.max_prompt_length=16",
        "data.max_response_length=24", "rollout.max_new_tokens=16", "model.tiny.dim=32", "model.tiny.layers=2",
        "model.tiny.heads=4", "model.tiny.kv_heads=2", "model.tiny.ffn_dim=48", "model.tiny.max_seq_len=48",
    ]

    /// One job of `ranks` ranks (the first the learner, the others rollout workers; one
    /// rank plays both), writing to `dir`; returns the leader's evaluations and weights.
    func runJob(_ overrides: [String], ranks: Int, sftSteps: Int,
                dir: String) throws -> (evaluations: [(step: Int, metrics: [String: Double])], parameters: [Float]) {
        let config = try Config.load(yamlFile: nil, overrides: Self.common + overrides)
        try config.validate()
        let layout = try RankLayout(roles: ranks == 1 ? [[.learner, .rollout]]
                                        : [[.learner]] + Array(repeating: [.rollout], count: ranks - 1))
        var evaluations: [(step: Int, metrics: [String: Double])] = [], parameters: [Float] = []
        let lock = NSLock()
        Parallel.workers = 1
        defer { Parallel.workers = 2 }
        try LoopbackWorld.run(size: ranks) { comm in
            let job = try ClusterJob(world: comm, layout: layout, config: config,
                                     warmStart: WarmStart(steps: sftSteps, batchSize: 16, lr: 1e-2), root: LoopbackJobTests.root,
                                     runDirectory: comm.rank == 0 ? dir : nil)
            try job.run()
            lock.lock()
            if comm.rank == 0 { evaluations = job.evaluations; parameters = job.model.parameters.toArray() }
            lock.unlock()
        }
        return (evaluations, parameters)
    }

    /// One evaluation (`trainer.pipeline=eval`) of the warm start saved under `base`, by
    /// a learner and two rollout workers (so the answers are gathered from two ranks).
    func evaluate(_ valKwargs: [String], base: String) throws -> Outcome {
        let dir = base + "/eval"
        try? FileManager.default.removeItem(atPath: dir)
        let run = try runJob(["trainer.pipeline=eval", "model.path=\(base)/sft/checkpoints"] + valKwargs,
                             ranks: 3, sftSteps: 0, dir: dir)
        XCTAssertEqual(run.evaluations.map(\.step), [0])
        let text = try String(contentsOfFile: dir + "/generations/0.jsonl", encoding: .utf8)
        let dump = try text.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        return Outcome(metrics: try XCTUnwrap(run.evaluations.first).metrics, dump: dump, parameters: run.parameters)
    }

    static let sampled = ["rollout.val_kwargs.n=4", "rollout.val_kwargs.greedy=false", "rollout.val_kwargs.temperature=1.0"]

    func testSampledEvaluationAlsoLogsGreedyAtOne() throws {
        // A 60-step warm start, saved, so the three evaluations load the same weights.
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-greedy-pass-\(getpid())").path
        try? FileManager.default.removeItem(atPath: base)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let sft = try runJob(["trainer.pipeline=sft", "trainer.val_before_train=false", "checkpoint.save_freq=1"],
                             ranks: 1, sftSteps: 60, dir: base + "/sft")
        let both = try evaluate(Self.sampled + ["rollout.val_kwargs.greedy_pass=true"], base: base)
        let greedyOnly = try evaluate([], base: base)
        let sampledOnly = try evaluate(Self.sampled, base: base)
        XCTAssertEqual(both.parameters, sft.parameters, "the evaluations must see the saved weights")
        XCTAssertEqual(both.parameters, greedyOnly.parameters, "the three evaluations must see the same weights")
        XCTAssertEqual(both.parameters, sampledOnly.parameters, "the three evaluations must see the same weights")

        let sources = ["addition:1", "chain:2"]
        // The sampled metrics are there and untouched by the greedy pass; the greedy ones are added.
        let greedyKeys = Set(sources.map { "val-core/\($0)/acc/greedy@1" } + ["val-core/all/acc/greedy@1"])
        XCTAssertEqual(Set(both.metrics.keys), Set(sampledOnly.metrics.keys).union(greedyKeys))
        for (key, value) in sampledOnly.metrics { XCTAssertEqual(both.metrics[key], value, key) }
        for s in sources {
            for key in ["mean@4", "pass@1", "pass@2", "pass@4", "maj@4/mean"] {
                XCTAssertNotNil(both.metrics["val-core/\(s)/acc/\(key)"], "\(s) lacks \(key)")
            }
        }
        XCTAssertNotNil(both.metrics["val-core/all/acc/mean@4"])

        // greedy@1 is what the greedy-only evaluation of the same weights logs as mean@1
        // (1/6 on addition:1 after this warm start, 0 on chain:2; measured 2026-12-06).
        XCTAssertGreaterThan(try XCTUnwrap(both.metrics["val-core/addition:1/acc/greedy@1"]), 0,
                             "the warm start should solve some additions, or the comparison below is of zeros")
        for s in sources {
            XCTAssertEqual(try XCTUnwrap(both.metrics["val-core/\(s)/acc/greedy@1"]),
                           try XCTUnwrap(greedyOnly.metrics["val-core/\(s)/acc/mean@1"]), s)
        }
        XCTAssertEqual(try XCTUnwrap(both.metrics["val-core/all/acc/greedy@1"]),
                       try XCTUnwrap(greedyOnly.metrics["val-core/all/acc/mean@1"]), accuracy: 1e-12)
        // Without the key the greedy-only run logs its usual set, no greedy@1.
        XCTAssertFalse(greedyOnly.metrics.keys.contains { $0.hasSuffix("greedy@1") })

        // The dump: the sampled lines as without the pass, then the greedy answers
        // token for token as the greedy-only run wrote them; `pass` only with the key.
        let prompts = greedyOnly.dump.count
        XCTAssertGreaterThan(prompts, 0)
        XCTAssertEqual(both.dump.count, 5 * prompts)
        XCTAssertEqual(both.dump.prefix(4 * prompts).map { $0["pass"] as? String }, Array(repeating: "sampled", count: 4 * prompts))
        XCTAssertEqual(both.dump.suffix(prompts).map { $0["pass"] as? String }, Array(repeating: "greedy", count: prompts))
        XCTAssertTrue((greedyOnly.dump + sampledOnly.dump).allSatisfy { $0["pass"] == nil })
        func ids(_ rows: some Collection<[String: Any]>) -> [[Int]] { rows.map { $0["response_ids"] as? [Int] ?? [-1] } }
        func groups(_ rows: some Collection<[String: Any]>) -> [Int] { rows.map { $0["group_id"] as? Int ?? -1 } }
        XCTAssertEqual(ids(both.dump.suffix(prompts)), ids(greedyOnly.dump))
        XCTAssertEqual(groups(both.dump.suffix(prompts)), groups(greedyOnly.dump))
        XCTAssertEqual(ids(both.dump.prefix(4 * prompts)), ids(sampledOnly.dump))
        XCTAssertNotEqual(ids(both.dump.prefix(4 * prompts).enumerated().filter { $0.offset % 4 == 0 }.map(\.element)),
                          ids(greedyOnly.dump), "sampling at T = 1 should differ from argmax somewhere")
    }
}
