import Comm
import Configs
import Foundation
import Merging
@testable import Roles
import Tensors
import Transformer
import XCTest

/// The `mot` pipeline on a loopback world: 1 learner/rollout rank and 2 teacher
/// ranks whose teachers are the synthetic reference writer in two trace styles.
final class MoTPipelineTests: XCTestCase {
    struct Outcome {
        var parameters: [[Float]]
        var records: [[MoTRoundRecord]]
        var traces: [[MoTTrace]]
        var evaluations: [(step: Int, metrics: [String: Double])]
        var segments: [Range<Int>]
        var metricsLines: [String]
    }

    func runMoT(_ overrides: [String], teachers: [String] = ["reference@style0", "reference@style1"]) throws -> Outcome {
        let config = try Config.load(yamlFile: nil, overrides: [
            "trainer.pipeline=mot", "trainer.val_before_train=true",
            "data.train_files=[synthetic:addition:1]", "data.val_batch_size=6",
            "data.max_prompt_length=8", "data.max_response_length=24", "rollout.max_new_tokens=24",
            "model.tiny.dim=32", "model.tiny.layers=2", "model.tiny.heads=4", "model.tiny.kv_heads=2",
            "model.tiny.ffn_dim=48", "model.tiny.max_seq_len=40",
            "merge.rounds=2", "merge.trace_prompts=12",
            "distillation.teacher_models=[\(teachers.joined(separator: ","))]",
        ] + overrides)
        try config.validate()
        let layout = try RankLayout(roles: [[.learner, .rollout], [.teacher], [.teacher]])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-mot-\(getpid())-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var out = Outcome(parameters: Array(repeating: [], count: 3), records: Array(repeating: [], count: 3),
                          traces: [], evaluations: [], segments: [], metricsLines: [])
        let lock = NSLock()
        Parallel.workers = 1
        defer { Parallel.workers = 2 }
        try LoopbackWorld.run(size: 3) { comm in
            let job = try ClusterJob(world: comm, layout: layout, config: config,
                                     warmStart: WarmStart(steps: 0, batchSize: 4, lr: 3e-3), root: LoopbackJobTests.root,
                                     runDirectory: comm.rank == 0 ? dir : nil)
            let observer = RecordingObserver(recordsMerges: true)
            job.observer = observer
            try job.run()
            lock.lock()
            out.parameters[comm.rank] = job.model.parameters.toArray()
            out.records[comm.rank] = observer.rounds
            if comm.rank == 0 {
                out.evaluations = job.evaluations
                out.traces = observer.traces
                out.segments = job.model.layout.entries.map(\.range)
            }
            lock.unlock()
        }
        out.metricsLines = (try? String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8))?
            .split(separator: "\n").map(String.init) ?? []
        return out
    }

    func testTwoTeachersTwoRoundsGiveTheSameStudentEverywhereAndMatchTheOfflineMerge() throws {
        for method in ["linear", "dare_ties"] {
            let o = try runMoT(["merge.merge_method=\(method)", "merge.parameters.density=0.6"])
            // The reference writer's traces are all correct: 12 per teacher, in two styles.
            XCTAssertEqual(o.traces.map(\.count), [12, 12])
            XCTAssertTrue(o.traces[0][0].completion.contains(",c"))
            XCTAssertFalse(o.traces[1][0].completion.contains(",c"))
            XCTAssertEqual(o.parameters[0], o.parameters[1], method)
            XCTAssertEqual(o.parameters[0], o.parameters[2], method)
            XCTAssertEqual(o.evaluations.map(\.step), [0, 1, 2])
            XCTAssertEqual(o.records[1].count, 2)
            XCTAssertEqual(o.records[2].count, 2)
            XCTAssertTrue(o.records[0].isEmpty, "the learner holds no branch")
            for round in 0..<2 {
                let a = o.records[1][round], b = o.records[2][round]
                XCTAssertEqual(a.base, b.base, "both branches start from the same student")
                XCTAssertNotEqual(a.branch, b.branch, "teachers with different styles give different branches")
                XCTAssertNotEqual(a.branch, a.base, "the branch trained")
                let plan = try MergePlan(config: a.merge, branchCount: 2, defaultSeed: 1)
                let offline = Merge.merge(branches: [a.branch, b.branch], base: a.base, recipe: plan.recipe,
                                          segments: o.segments)
                XCTAssertEqual(a.merged, offline, "\(method) round \(round + 1): allreduce in the job = offline merge")
                XCTAssertEqual(b.merged, offline)
            }
            // The last merge is the student every rank ends with.
            XCTAssertEqual(o.records[1][1].merged, o.parameters[0])
            XCTAssertTrue(o.metricsLines.contains { $0.contains("\"mot/branch_loss/mean\"") })
            XCTAssertTrue(o.metricsLines.contains { $0.contains("\"mot/teacher_1/trace_acc\"") })
        }
    }

    func testIdenticalBranchesMergeToEachBranch() throws {
        let o = try runMoT([], teachers: ["reference@style2", "reference@style2"])
        for round in 0..<2 {
            let a = o.records[1][round], b = o.records[2][round]
            XCTAssertEqual(a.branch, b.branch)
            XCTAssertEqual(a.merged, a.branch, "the uniform average of identical branches is the branch")
        }
        XCTAssertEqual(o.parameters[0], o.records[1][1].branch)
    }

    func testBaselinesRunWithTheSameStepsAndAgreeEverywhere() throws {
        for baseline in ["single", "union"] {
            let o = try runMoT(["merge.baseline=\(baseline)"])
            XCTAssertEqual(o.parameters[0], o.parameters[1], baseline)
            XCTAssertEqual(o.parameters[0], o.parameters[2], baseline)
            XCTAssertEqual(o.evaluations.map(\.step), [0, 1, 2])
            // 12 traces in batches of 4: 3 steps per branch, 6 per round for the baseline.
            XCTAssertTrue(o.metricsLines.contains { $0.contains("\"mot/steps_per_round\":6") }, baseline)
            XCTAssertTrue(o.metricsLines.contains { $0.contains("\"mot/train_loss\"") }, baseline)
        }
    }

    func testWrongTeacherCountThrowsOnEveryRank() throws {
        XCTAssertThrowsError(try runMoT([], teachers: ["reference@style0"])) { error in
            XCTAssertTrue("\(error)".contains("teacher_models lists 1"), "\(error)")
        }
        XCTAssertThrowsError(try runMoT([], teachers: ["reference@style0", "reference@style9"])) { error in
            XCTAssertTrue("\(error)".contains("style9"), "\(error)")
        }
    }

    func testPromptDataReadsTheStyleSuffix() throws {
        let d = try PromptData(specs: ["synthetic:addition:2@style1"], root: LoopbackJobTests.root, maxSamples: nil, runSeed: 1)
        let (item, completion) = d.item(step: 0, index: 0, purpose: 7)
        XCTAssertEqual(item.dataSource, "addition:2")
        XCTAssertFalse(try XCTUnwrap(completion).contains(",c"), "style 1 writes no carry annotation")
        XCTAssertThrowsError(try PromptData(specs: ["synthetic:addition:2@style7"], root: LoopbackJobTests.root,
                                            maxSamples: nil, runSeed: 1)) { error in
            XCTAssertTrue("\(error)".contains("synthetic:addition:2@style7"), "\(error)")
        }
    }

    func testTeacherSourceParsing() throws {
        XCTAssertEqual(try MoTTeacherSource.parse("reference@style2"), .reference(style: 2))
        XCTAssertEqual(try MoTTeacherSource.parse("reference"), .reference(style: 0))
        XCTAssertEqual(try MoTTeacherSource.parse("runs/t/checkpoints"), .model("runs/t/checkpoints"))
        XCTAssertThrowsError(try MoTTeacherSource.parse("reference@x"))
    }

    /// Trains a tiny model by `steps` SFT steps into `dir` (a step-0 checkpoint) and returns its weights.
    func trainTeacherCheckpoint(dir: String, steps: Int) throws -> [Float] {
        let config = try Config.load(yamlFile: nil, overrides: [
            "trainer.pipeline=sft", "trainer.val_before_train=false", "checkpoint.save_freq=1",
            "data.train_files=[synthetic:addition:1@style1]", "data.val_batch_size=4",
            "data.max_prompt_length=8", "data.max_response_length=24", "rollout.max_new_tokens=24",
            "model.tiny.dim=32", "model.tiny.layers=2", "model.tiny.heads=4", "model.tiny.kv_heads=2",
            "model.tiny.ffn_dim=48", "model.tiny.max_seq_len=40",
        ])
        let layout = try RankLayout(roles: [[.learner], [.rollout]])
        var trained: [Float] = []
        Parallel.workers = 1
        defer { Parallel.workers = 2 }
        try LoopbackWorld.run(size: 2) { comm in
            let job = try ClusterJob(world: comm, layout: layout, config: config,
                                     warmStart: WarmStart(steps: steps, batchSize: 4, lr: 3e-3), root: LoopbackJobTests.root,
                                     runDirectory: dir)
            try job.run()
            if comm.rank == 0 { trained = job.model.parameters.toArray() }
        }
        return trained
    }

    /// An SFT checkpoint records `model_config` and loads back as a teacher with the same weights.
    func testSFTCheckpointLoadsAsATeacher() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-mot-sft-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let trained = try trainTeacherCheckpoint(dir: dir, steps: 2)
        for path in [dir + "/checkpoints", dir + "/checkpoints/global_step_0"] {
            let teacher = try ModelSource.load(path, maxSeqLen: 40)
            XCTAssertEqual(teacher.parameters.toArray(), trained, path)
            XCTAssertEqual(teacher.config.dim, 32)
        }
    }

    /// `merge.keep_wrong_traces`: a barely trained teacher's wrong traces are dropped by
    /// default and kept (every prompt's) when asked; trace_acc counts the correct ones either way.
    func testKeepWrongTracesKeepsTheTeachersWrongTraces() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ispo-mot-wrong-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try trainTeacherCheckpoint(dir: dir, steps: 2)
        let teachers = [dir + "/checkpoints", "reference@style0"]
        func traceAcc(_ o: Outcome) throws -> Double {
            let line = try XCTUnwrap(o.metricsLines.first { $0.contains("mot/teacher_0/trace_acc") })
            let d = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["data"] as? [String: Any])
            return try XCTUnwrap(d["mot/teacher_0/trace_acc"] as? Double)
        }
        let filtered = try runMoT(["merge.rounds=1"], teachers: teachers)
        let kept = try runMoT(["merge.rounds=1", "merge.keep_wrong_traces=true"], teachers: teachers)
        XCTAssertEqual(kept.traces[0].count, 12, "one trace per prompt when wrong ones are kept")
        XCTAssertEqual(kept.traces[1].count, 12)
        XCTAssertEqual(filtered.traces[1], kept.traces[1], "the reference teacher is always right")
        let acc = try traceAcc(kept)
        XCTAssertEqual(try traceAcc(filtered), acc)
        XCTAssertEqual(filtered.traces[0].count, Int((acc * 12).rounded()), "filtered: only the correct traces")
        XCTAssertLessThan(acc, 1.0, "a 2-step teacher writes wrong traces")
        XCTAssertEqual(Set(filtered.traces[0].map(\.index)).isSubset(of: Set(kept.traces[0].map(\.index))), true)
    }
}
