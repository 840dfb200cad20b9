import Configs
import Foundation
import Objectives
@testable import Roles
import Transformer
import XCTest

/// The p2d pipeline on 2 learners + 1 rollout worker: the selections are the
/// top scores, and training touches nothing outside the trained heads.
final class P2DPipelineTests: XCTestCase {
    func run(_ extra: [String]) throws -> SupervisedRun {
        try SupervisedRun.run(["trainer.pipeline=p2d", "p2d.pool=16", "p2d.proxy_examples=8", "p2d.proxy_steps=3",
                               "p2d.head_fraction=0.25", "p2d.data_fraction=0.25", "p2d.probe_examples=4",
                               "p2d.subset_steps=4"] + extra,
                              file: P2DPipeline.selectionFile, roles: [[.learner], [.learner], [.rollout]])
    }

    func check(_ r: SupervisedRun, heads trainedFrom: String) throws {
        let f = r.file
        let headScores = try XCTUnwrap(f["head_scores"] as? [Double]), dataScores = try XCTUnwrap(f["data_scores"] as? [Double])
        XCTAssertEqual(headScores.count, 8, "2 layers × 4 query heads")
        XCTAssertTrue(headScores.allSatisfy { $0.isFinite && $0 > 0 }, "the proxy moved every head")
        let p2dHeads = try XCTUnwrap(f["p2d_heads"] as? [Int])
        XCTAssertEqual(p2dHeads, TopFraction.select(scores: headScores, fraction: 0.25))
        XCTAssertEqual(p2dHeads.count, 2)
        XCTAssertEqual(dataScores.count, 16)
        XCTAssertGreaterThan(Set(dataScores).count, 1, "the scores tell the samples apart")
        let p2dData = try XCTUnwrap(f["p2d_data"] as? [Int])
        XCTAssertEqual(p2dData, TopFraction.select(scores: dataScores, fraction: 0.25))
        XCTAssertEqual(try XCTUnwrap(f["trained_data"] as? [Int]), p2dData)
        let trained = try XCTUnwrap(f[trainedFrom] as? [Int])
        XCTAssertEqual(try XCTUnwrap(f["trained_heads"] as? [Int]), trained)

        // Every parameter outside the trained heads' ranges is bit-identical; inside, training moved them.
        let layout = try XCTUnwrap(r.layout), heads = layout.attentionHeads
        let ranges = layout.headRanges(trained.map { heads[$0] })
        XCTAssertLessThan(ranges.map(\.count).reduce(0, +), r.before.count / 2)
        var owned = [Bool](repeating: false, count: r.before.count)
        for range in ranges { for i in range { owned[i] = true } }
        var moved = 0, changedOutside: [Int] = []
        for i in r.before.indices {
            if owned[i] { moved += r.before[i] != r.after[i] ? 1 : 0 }
            else if r.before[i].bitPattern != r.after[i].bitPattern { changedOutside.append(i) }
        }
        XCTAssertEqual(changedOutside.count, 0, "parameters outside the trained heads changed, first: \(changedOutside.prefix(5))")
        XCTAssertGreaterThan(moved, 0)
        let m = try XCTUnwrap(r.first("p2d/select_s"))
        XCTAssertEqual(Set(m.keys.filter { $0.hasPrefix("p2d/head_selected/") }),
                       Set(trained.map { "p2d/head_selected/\(heads[$0])" }))
        XCTAssertEqual(m["p2d/train_steps"], 4)
        let phases = try XCTUnwrap(m["p2d/heads_s"]) + XCTUnwrap(m["p2d/data_score_s"])
        XCTAssertLessThanOrEqual(phases, try XCTUnwrap(m["p2d/select_s"]) + 1e-9, "the phases are parts of the selection time")
        XCTAssertNotNil(m["p2d/overlap_with_full_gradient"])
        XCTAssertNil(m["p2d/full_sft_s"], "only the full arm measures t_full_sft")
    }

    func testP2DTrainsTheTopHeadsOnTheTopDataByICLScore() throws {
        try check(try run(["p2d.arm=p2d", "p2d.data_score=icl"]), heads: "p2d_heads")
    }

    func testRandomHeadsWithGradientScoredDataLeaveTheRestUntouched() throws {
        let r = try run(["p2d.arm=random_heads_p2d_data", "p2d.data_score=gradient"])
        try check(r, heads: "trained_heads")
        XCTAssertTrue(try XCTUnwrap(r.file["data_scores"] as? [Double]).allSatisfy { $0 >= -1 - 1e-9 && $0 <= 1 + 1e-9 }, "cosines")
    }
}
