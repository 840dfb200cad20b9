import Comm
import Configs
import Foundation
import Merging
@testable import Roles
import TestSupport
import XCTest

/// The collective merge against the offline one over loopback worlds of 3 and 4 ranks.
final class AllreduceMergeTests: XCTestCase {
    /// Runs `body` on `size` loopback ranks and collects each rank's result.
    func onRanks(_ size: Int, _ body: @escaping (Communicator) throws -> [Float]) throws -> [[Float]] {
        let lock = NSLock()
        var results = [[Float]](repeating: [], count: size)
        try LoopbackWorld.run(size: size) { comm in
            let r = try body(comm)
            lock.lock(); results[comm.rank] = r; lock.unlock()
        }
        return results
    }

    func testAllreduceMergeEqualsOfflineMergeBitForBit() throws {
        let n = 1000
        let segments = [0..<300, 300..<301, 301..<1000]
        for size in [3, 4] {
            let base = randomValues(n, seed: 100)
            let branches = (0..<size).map { k in zip(base, randomValues(n, seed: 200 + UInt64(k))).map { $0 + 0.1 * $1 } }
            let weights = (0..<size).map { 0.5 + Double($0) * 0.25 }
            let densities = (0..<size).map { 0.3 + Double($0) * 0.15 }
            for method in [MergeRecipe.Method.linear, .taskArithmetic, .ties, .dareLinear, .dareTies] {
                for normalize in [true, false] {
                    let recipe = MergeRecipe(method: method, weights: weights, densities: densities, normalize: normalize,
                                             lambda: 0.8, seed: 5)
                    let offline = Merge.merge(branches: branches, base: base, recipe: recipe, segments: segments)
                    // A chunk of 128 runs several collective rounds, the last one partial.
                    let results = try onRanks(size) { comm in
                        try allreduceMerge(branch: branches[comm.rank], base: base, comm: comm, recipe: recipe,
                                           segments: segments, chunkSize: 128)
                    }
                    for (r, merged) in results.enumerated() {
                        XCTAssertEqual(merged, offline, "\(method) normalize \(normalize), \(size) ranks, rank \(r)")
                    }
                }
            }
        }
    }

    func testMoTConfigFormAveragesTheBranches() throws {
        var config = MergeConfig()   // linear, no models: equal branches (MoT's uniform average)
        config.seed = 3
        let branches = (0..<3).map { randomValues(64, seed: 300 + UInt64($0)) }
        let plan = try MergePlan(config: config, branchCount: 3, defaultSeed: 1)
        XCTAssertEqual(plan.notes, [])
        XCTAssertEqual(plan.recipe, MergeRecipe.uniform(branches: 3, seed: 3))
        let results = try onRanks(3) { comm in
            var mine = branches[comm.rank]
            try mine.withUnsafeMutableBufferPointer {
                try allreduceMerge(branch: $0, base: nil, comm: comm, recipe: plan.recipe)
            }
            return mine
        }
        let offline = Merge.linear(branches)
        for r in results { XCTAssertEqual(r, offline) }
    }

    func testEveryRankThrowsTheSameClearError() throws {
        // Three branches in the recipe, four ranks.
        XCTAssertThrowsError(try onRanks(4) { comm in
            try allreduceMerge(branch: [1, 2], base: nil, comm: comm, recipe: MergeRecipe.uniform(branches: 3))
        }) { error in
            XCTAssertTrue("\(error)".contains("one rank per branch (3 branches)"), "\(error)")
            XCTAssertTrue("\(error)".contains("found 4 ranks"), "\(error)")
        }
        // A base missing on one rank: every rank throws (none waits in a collective).
        XCTAssertThrowsError(try onRanks(3) { comm in
            try allreduceMerge(branch: [1, 2], base: comm.rank == 1 ? nil : [0, 0], comm: comm,
                               recipe: MergeRecipe.uniform(.ties, branches: 3))
        }) { error in
            XCTAssertTrue("\(error)".contains("base"), "\(error)")
        }
        // Different sizes on different ranks.
        XCTAssertThrowsError(try onRanks(3) { comm in
            try allreduceMerge(branch: [Float](repeating: 1, count: 4 + comm.rank), base: nil, comm: comm,
                               recipe: MergeRecipe.uniform(branches: 3))
        }) { error in
            XCTAssertTrue("\(error)".contains("the same number of parameters on every rank"), "\(error)")
        }
    }
}
