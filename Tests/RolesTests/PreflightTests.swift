import Configs
import Foundation
import TestSupport
@testable import Roles
import XCTest

/// Inputs read late (teachers after the warm start, the run directory at the
/// first save) are checked on every rank before anything is trained.
extension DistillResumeTests {
    func testAMissingTeacherIsReportedBeforeTheWarmStart() throws {
        let dir = temporaryPath("missing-teacher")
        let missing = "/nonexistent-\(UUID())/teacher.gguf"
        // A warm start this long would take minutes: the error must come first.
        let start = Date()
        XCTAssertThrowsError(try runJob(dir: dir, ["distillation.teacher_models=[\(missing)]"],
                                        warm: WarmStart(steps: 100_000, batchSize: 4, lr: 3e-3))) { error in
            let s = "\(error)"
            for f in ["distillation.teacher_models", missing, "found nothing there", "nothing was run"] {
                XCTAssertTrue(s.contains(f), "'\(s)' should mention '\(f)'")
            }
            XCTAssertFalse(s.contains("rank 1:"), "every rank found the same problem, reported once: \(s)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 120, "the warm start must not have run")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/checkpoints"))
    }

    func testAnUnwritableRunDirectoryIsAPlainMessage() throws {
        let file = temporaryPath("plain-file")
        try Data("not a directory\n".utf8).write(to: URL(fileURLWithPath: file))
        let problem = try XCTUnwrap(Preflight.writableProblem(file + "/run"))
        XCTAssertTrue(problem.contains("trainer.default_local_dir") && problem.contains(file + "/run")
                      && problem.contains("`\(file)` is a file, not a directory"), problem)
        XCTAssertFalse(problem.contains("NSCocoaErrorDomain") || problem.contains("UserInfo"), "raw NSError: \(problem)")
        XCTAssertNil(Preflight.writableProblem(temporaryPath("writable")))
    }

    func testAConfigPathThatIsADirectoryIsAPlainMessage() throws {
        let dir = temporaryPath("config-dir")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertThrowsError(try Config.load(yamlFile: dir)) { error in
            let s = "\(error)"
            XCTAssertTrue(s.contains("found a directory") && s.contains("--config") && s.contains(dir + "/config.yaml"), s)
            XCTAssertFalse(s.contains("NSCocoaErrorDomain"), "raw NSError: \(s)")
        }
    }
}
