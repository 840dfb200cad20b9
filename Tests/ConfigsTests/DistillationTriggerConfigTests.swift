import XCTest
@testable import Configs

/// `distillation.trigger` (student | teacher | either) and the older boolean
/// `distillation.teacher_trigger`, an alias of it: what loads, and what a bad
/// value says (expected, found, what to do).
final class DistillationTriggerConfigTests: XCTestCase {
    private func load(_ overrides: [String]) throws -> Config { try Config.load(yamlFile: nil, overrides: overrides) }

    private func messages(_ overrides: [String]) -> [String] {
        configError { try Config.load(yamlFile: nil, overrides: overrides) }.problems.map(\.message)
    }

    func testSpellingsThatLoad() throws {
        XCTAssertEqual(try load([]).distillation.trigger, .student)
        for (written, trigger) in [("student", DistillationTrigger.student), ("teacher", .teacher), ("either", .either),
                                   ("random", .random), ("teacher_logratio", .teacherLogRatio)] {
            XCTAssertEqual(try load(["distillation.trigger=\(written)"]).distillation.trigger, trigger)
        }
        XCTAssertEqual(try load(["distillation.teacher_trigger=true"]).distillation.trigger, .teacher)
        XCTAssertEqual(try load(["distillation.teacher_trigger=false"]).distillation.trigger, .student)
        XCTAssertEqual(try Config.load(yamlText: "distillation:\n  teacher_trigger: true\n").distillation.trigger, .teacher)
        // The printed config uses the canonical key and loads back.
        let c = try load(["distillation.teacher_trigger=true"])
        let yaml = c.resolvedYAML()
        XCTAssertTrue(yaml.contains("trigger: \"teacher\"") || yaml.contains("trigger: teacher"), yaml)
        XCTAssertFalse(yaml.contains("teacher_trigger"))
        XCTAssertEqual(try Config.load(yamlText: yaml), c)
    }

    func testBadValuesSayWhatWasExpected() {
        var m = messages(["distillation.trigger=teachr"])
        XCTAssertEqual(m.count, 1)
        for fragment in ["`distillation.trigger`", "expected one of student, teacher, either", "found 'teachr'", "did you mean teacher?"] {
            XCTAssertTrue(m[0].contains(fragment), "missing «\(fragment)» in \(m[0])")
        }
        m = messages(["distillation.teacher_trigger=maybe"])
        XCTAssertEqual(m.count, 1)
        for fragment in ["distillation.teacher_trigger (= distillation.trigger)", "expected one of student, teacher, either",
                         "found 'maybe'", "use one of them"] {
            XCTAssertTrue(m[0].contains(fragment), "missing «\(fragment)» in \(m[0])")
        }
        // Both names at once is a conflict, even when they mean the same (the values are compared as written).
        for other in ["either", "teacher"] {
            m = messages(["distillation.teacher_trigger=true", "distillation.trigger=\(other)"])
            XCTAssertEqual(m.count, 1)
            for fragment in ["conflicting values for `distillation.trigger`", "`distillation.teacher_trigger` = 'true'",
                             "`distillation.trigger` = '\(other)'", "give only one of them"] {
                XCTAssertTrue(m[0].contains(fragment), "missing «\(fragment)» in \(m[0])")
            }
        }
        m = messages(["distillation.trigger=[teacher]"])
        XCTAssertEqual(m.count, 1)
        XCTAssertTrue(m[0].contains("expected a single value"), m[0])
    }

    func testATriggerNeedsTheMonitor() throws {
        var c = Config.defaults
        c.data.maxPromptLength = 48
        c.data.maxResponseLength = 48
        XCTAssertNoThrow(try c.validate())
        c.distillation.trigger = .teacher
        XCTAssertNoThrow(try c.validate())
        for mode in [DistillationMode.onPolicy, .sft] {
            c.distillation.mode = mode
            let m = c.validationProblems().map(\.message)
            XCTAssertEqual(m.count, 1, m.joined(separator: "\n"))
            for fragment in ["distillation.trigger (`teacher`)", "distillation.mode (`\(mode.rawValue)`) runs no monitor",
                             "set distillation.mode=motab, or leave distillation.trigger at `student`"] {
                XCTAssertTrue(m.first?.contains(fragment) ?? false, "missing «\(fragment)» in \(m)")
            }
        }
        c.distillation.trigger = .student
        XCTAssertNoThrow(try c.validate())
    }
}
