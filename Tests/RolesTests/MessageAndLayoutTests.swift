import Roles
import XCTest

final class MessageAndLayoutTests: XCTestCase {
    func testRolloutBatchRoundTripsAndRejectsDamage() throws {
        let s = RolloutSample(promptTokens: [1, 2], responseTokens: [3, 4, 5], logProbs: [-0.1, -0.2, -0.3],
                              entropies: [0.5, 0.6, 0.7], provenance: [0, 1, 0], outcome: 1, reward: 1.2, groupId: 7,
                              dataSource: "gsm8k", prompt: "Q", response: "A ✓", groundTruth: "42")
        // A distillation sample: provenance, the teacher's log-probs and its full rows (V = 2) travel too.
        var d = s
        d.teacherLogProbs = [-0.4, -0.05, -1.5]
        d.teacherRows = [-0.1, -2.3, -0.05, -3.0, -1.5, -0.25]
        let batch = RolloutBatch(weightVersion: 3, step: 9, workerRank: 2, samples: [s, d, s], generationSeconds: 1.5)
        let bytes = batch.encoded()
        XCTAssertEqual(try RolloutBatch(decoding: bytes), batch)
        XCTAssertEqual(try RolloutBatch(decoding: bytes).samples[1].teacherRows, d.teacherRows)
        for cut in [0, 7, 8, 40, bytes.count - 1] {
            XCTAssertThrowsError(try RolloutBatch(decoding: Array(bytes.prefix(cut))), "prefix \(cut)")
        }
        var wrongVersion = bytes
        wrongVersion[0] = 99
        XCTAssertThrowsError(try RolloutBatch(decoding: wrongVersion)) { XCTAssertTrue("\($0)".contains("format version")) }
    }

    func testDerivedLayouts() throws {
        XCTAssertEqual(try RankLayout.derived(worldSize: 1, teachers: false).roles, [[.learner, .rollout]])
        let eight = try RankLayout.derived(worldSize: 8, teachers: true)
        XCTAssertEqual(eight.ranks(.learner), [0, 1])
        XCTAssertEqual(eight.ranks(.rollout), [2, 3, 4, 5])
        XCTAssertEqual(eight.ranks(.teacher), [6, 7])
        let lent = try RankLayout.derived(worldSize: 8, teachers: false)
        XCTAssertEqual(lent.ranks(.rollout).count, 6)
    }

    func testLayoutFilesAndErrors() throws {
        let l = try RankLayout.parse("ranks:\n  - learner\n  - [rollout, teacher]  # shared\n", source: "x.yaml")
        XCTAssertEqual(l.roles, [[.learner], [.rollout, .teacher]])
        XCTAssertThrowsError(try RankLayout.parse("ranks:\n  - learner\n", source: "a.yaml")) {
            XCTAssertTrue("\($0)".contains("rollout"))
        }
        XCTAssertThrowsError(try RankLayout.parse("ranks:\n  - lerner\n", source: "b.yaml")) {
            XCTAssertTrue("\($0)".contains("b.yaml:2") && "\($0)".contains("unknown role 'lerner'"))
        }
        XCTAssertThrowsError(try RankLayout(roles: [[.rollout]])) { XCTAssertTrue("\($0)".contains("learner")) }
    }
}
