import Checkpoint
import Configs
import Foundation
import TestSupport
@testable import Roles
import XCTest

/// Resume safety over the loopback world with real checkpoint files: a
/// damaged checkpoint never makes a job start over or collide at its next
/// save, and a resume refuses another architecture or an unannounced config change.
extension CheckpointResumeTests {
    /// Runs the base job until it stops after `step`, leaving global_step_<step>; returns the run directory.
    func stoppedRun(_ name: String, after step: Int, _ extra: [String] = []) throws -> String {
        let dir = temporaryPath(name)
        var hooks = JobFaultHooks()
        hooks.stopAfterStep = step
        XCTAssertEqual(try runJob(dir: dir, learners: 1, extra, hooks: hooks).stopped?.step, step)
        return dir
    }

    /// Changes one byte in the middle of a checkpoint's manifest.
    func flipManifestByte(_ checkpoint: String) throws {
        let path = checkpoint + "/manifest.json"
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    func entries(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir + "/checkpoints").sorted()
    }

    func testACorruptOnlyCheckpointStopsTheJobInsteadOfStartingOver() throws {
        let dir = try stoppedRun("corrupt-only", after: 1)
        let store = CheckpointStore(runDirectory: dir)
        try flipManifestByte(store.path(step: 1))
        let linesBefore = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).count
        XCTAssertThrowsError(try runJob(dir: dir, learners: 1)) { error in
            let s = "\(error)"
            for f in ["none verifies", "global_step_1", "CRC-32C", "resume_mode=disable", "not starting over"] {
                XCTAssertTrue(s.contains(f), "'\(s)' should mention '\(f)'")
            }
        }
        XCTAssertEqual(try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).count, linesBefore,
                       "nothing was trained or logged")
        XCTAssertEqual(try entries(dir).filter { $0.hasPrefix("global_step_") }, ["global_step_1"], "nothing was moved")

        // Starting fresh on purpose: the save of step 1 sets the damaged directory aside instead of colliding.
        XCTAssertNil(try runJob(dir: dir, learners: 1, ["checkpoint.resume_mode=disable", "trainer.total_steps=1",
                                                        "checkpoint.save_freq=1"]).stopped)
        XCTAssertEqual(try store.list().map(\.step), [1])
        XCTAssertEqual(try entries(dir).filter { $0.hasPrefix("corrupt_global_step_1_") }.count, 1)
    }

    func testACorruptLatestFallsBackToTheOlderCheckpointAndLaterSavesDoNotCollide() throws {
        let dir = try stoppedRun("fallback", after: 2, ["checkpoint.save_freq=1"])
        let store = CheckpointStore(runDirectory: dir)
        XCTAssertEqual(try store.list().map(\.step).suffix(2), [1, 2])
        try flipManifestByte(store.path(step: 2))
        // The rerun resumes from step 1, runs steps 2…4 and saves each (global_step_2 again included).
        let r = try runJob(dir: dir, learners: 1, ["checkpoint.save_freq=1"])
        XCTAssertNil(r.stopped)
        XCTAssertEqual(r.evaluationSteps, [0, 2, 4])
        XCTAssertEqual(try store.list().map(\.step), [2, 3, 4], "keep_last=3 of the new saves")
        let all = try entries(dir)
        XCTAssertEqual(all.filter { $0.hasPrefix("corrupt_global_step_2_") }.count, 1,
                       "the damaged step-2 directory is set aside: \(all)")
        // And a rerun of the finished job finds the new latest, with nothing left to collide with.
        XCTAssertNil(try runJob(dir: dir, learners: 1, ["checkpoint.save_freq=1"]).stopped)
    }

    func testAResumeWithAnotherArchitectureIsRefusedWithExpectedAndFound() throws {
        let dir = try stoppedRun("arch", after: 1)
        // heads 8 / kv_heads 4 instead of 4 / 2: the same parameter count at dim 32.
        XCTAssertThrowsError(try runJob(dir: dir, learners: 1, ["model.tiny.heads=8", "model.tiny.kv_heads=4"])) { error in
            let s = "\(error)"
            for f in ["heads: expected 4, found 8", "kv_heads: expected 2, found 4", "resume_mode=disable"] {
                XCTAssertTrue(s.contains(f), "'\(s)' should mention '\(f)'")
            }
        }
    }

    func testAConfigChangeIsRefusedUnlessAllowedAndAllowedChangesAreReported() throws {
        let dir = try stoppedRun("config", after: 1)
        XCTAssertThrowsError(try runJob(dir: dir, learners: 1, ["actor.clip_ratio_high=0.31"])) { error in
            let s = "\(error)"
            for f in ["actor.clip_ratio_high", "this run 0.31", "checkpoint.allow_config_change=[actor.clip_ratio_high]"] {
                XCTAssertTrue(s.contains(f), "'\(s)' should mention '\(f)'")
            }
        }
        // The changes a resume would print: the named key and an always-allowed one (the learning rate).
        let checkpoint = try XCTUnwrap(CheckpointStore(runDirectory: dir).latest())
        let extra = ["actor.clip_ratio_high=0.31", "actor.optim.lr=1e-3", "checkpoint.allow_config_change=[actor.clip_ratio_high]"]
        let config = try Config.load(yamlFile: nil, overrides: Self.baseOverrides + extra)
        let changes = try ResumeCompatibility.checkConfig(savedYAML: checkpoint.manifest.config, current: config,
                                                          path: checkpoint.path)
        XCTAssertEqual(Set(changes.map(\.key)), ["actor.clip_ratio_high", "actor.optim.lr", "checkpoint.allow_config_change"])
        XCTAssertEqual(changes.first { $0.key == "actor.optim.lr" }?.saved, "0.003")
        XCTAssertEqual(changes.first { $0.key == "actor.optim.lr" }?.current, "0.001")
        XCTAssertNil(try runJob(dir: dir, learners: 1, extra).stopped)
        // A name that is no config key is an error, not ignored.
        XCTAssertThrowsError(try ResumeCompatibility.checkConfig(
            savedYAML: checkpoint.manifest.config,
            current: Config.load(yamlFile: nil, overrides: Self.baseOverrides + ["checkpoint.allow_config_change=[actor.clip_high]"]),
            path: checkpoint.path)) { XCTAssertTrue("\($0)".contains("`actor.clip_high`"), "\($0)") }
    }
}
