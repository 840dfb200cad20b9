import Foundation
import Tasks
import Tensors
import XCTest

final class PassAtKTests: XCTestCase {
    /// pass@k by enumeration: the fraction of k-subsets of the samples with a correct one.
    func bruteForce(_ verdicts: [Bool], k: Int) -> Double {
        var hits = 0, total = 0
        func choose(_ start: Int, _ left: Int, _ any: Bool) {
            if left == 0 { total += 1; if any { hits += 1 }; return }
            guard start < verdicts.count else { return }
            for i in start..<verdicts.count { choose(i + 1, left - 1, any || verdicts[i]) }
        }
        choose(0, k, false)
        return Double(hits) / Double(total)
    }

    func testUnbiasedMatchesEnumeration() {
        var rng = Rng(seed: 5)
        for n in 1...10 {
            for _ in 0..<4 {
                let verdicts = (0..<n).map { _ in rng.below(3) == 0 }
                let c = verdicts.filter { $0 }.count
                for k in 1...n {
                    XCTAssertEqual(PassAtK.unbiased(n: n, c: c, k: k), bruteForce(verdicts, k: k), accuracy: 1e-12, "n \(n) c \(c) k \(k)")
                }
            }
        }
    }

    func testUnbiasedIsStableForLargeN() {
        XCTAssertEqual(PassAtK.unbiased(n: 1000, c: 0, k: 100), 0)
        XCTAssertEqual(PassAtK.unbiased(n: 1000, c: 1, k: 1), 0.001, accuracy: 1e-15)
        XCTAssertEqual(PassAtK.unbiased(n: 1000, c: 1, k: 100), 0.1, accuracy: 1e-12)
        XCTAssertEqual(PassAtK.unbiased(n: 1000, c: 950, k: 51), 1)
        let v = PassAtK.unbiased(n: 10_000, c: 3, k: 5000)
        XCTAssertTrue(v.isFinite && v > 0.87 && v < 0.88, "\(v)")
    }

    func testMeansAndGreedy() {
        XCTAssertEqual(PassAtK.greedyPass1([true, false, true, true]), 0.75)
        XCTAssertEqual(PassAtK.greedyPass1([]), 0)
        XCTAssertEqual(PassAtK.averageAccuracy([[true, false], [true, true, true, false]]), (0.5 + 0.75) / 2)
        XCTAssertEqual(PassAtK.unbiased([[true, false], [false]], k: 2), 1, "only problems with ≥ k samples count")
        XCTAssertNil(PassAtK.unbiased([[true]], k: 2))
    }

    func testMajorityVoteAndTies() {
        XCTAssertTrue(PassAtK.majorityCorrect([("5", true), ("6", false), ("5", true)]))
        XCTAssertFalse(PassAtK.majorityCorrect([("6", false), ("5", true), ("6", false), (nil, false), (nil, false)]))
        XCTAssertTrue(PassAtK.majorityCorrect([("5", true), ("6", false)]), "tie: first-seen answer wins")
        XCTAssertFalse(PassAtK.majorityCorrect([("6", false), ("5", true)]), "tie: first-seen answer wins")
        XCTAssertFalse(PassAtK.majorityCorrect([(nil, false), (nil, true)]), "no extracted answer, no vote")
        XCTAssertEqual(PassAtK.majority([[("1", true)], [("2", false)]]), 0.5)
    }

    func testPerSourceKeysLikeVerl() {
        var samples: [EvalSample] = []
        for p in 0..<3 {
            for s in 0..<4 {
                samples.append(EvalSample(dataSource: "gsm8k", problemID: "\(p)", correct: p == 0 || (p == 1 && s == 3),
                                          answerKey: p == 0 || (p == 1 && s == 3) ? "7" : "\(s % 2)"))
            }
        }
        samples.append(EvalSample(dataSource: "math500", problemID: "a", correct: true))
        samples.append(EvalSample(dataSource: "math500", problemID: "b", correct: false))
        let m = EvalMetrics.perSource(samples)
        XCTAssertEqual(m["val-core/gsm8k/acc/mean@4"]!, (1 + 0.25 + 0) / 3, accuracy: 1e-12)
        XCTAssertEqual(m["val-core/gsm8k/acc/pass@1"]!, (1 + 0.25 + 0) / 3, accuracy: 1e-12)
        XCTAssertEqual(m["val-core/gsm8k/acc/pass@4"]!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m["val-core/gsm8k/acc/pass@2"]!, (1 + 0.5 + 0) / 3, accuracy: 1e-12)
        XCTAssertEqual(m["val-core/gsm8k/acc/maj@4/mean"]!, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m["val-core/math500/acc/mean@1"], 0.5)
        XCTAssertNil(m["val-core/math500/acc/maj@1/mean"])
        XCTAssertEqual(m["val-aux/gsm8k/num_problems"], 3)
        XCTAssertEqual(m["val-aux/gsm8k/num_samples"], 12)
        XCTAssertEqual(EvalMetrics.perSource(samples, ks: [3]).keys.filter { $0.contains("pass@") }.sorted(),
                       ["val-core/gsm8k/acc/pass@3"])
    }

    /// greedy@1 per source and over all problems, under keys no sampled metric uses.
    func testGreedyKeysStandApartFromTheSampledOnes() {
        let samples = [
            EvalSample(dataSource: "gsm8k", problemID: "0", correct: true),
            EvalSample(dataSource: "gsm8k", problemID: "1", correct: false),
            EvalSample(dataSource: "gsm8k", problemID: "2", correct: true),
            EvalSample(dataSource: "math500", problemID: "0", correct: false),
            EvalSample(dataSource: "math500", problemID: "0", correct: true),  // a second sample: not counted
        ]
        let m = EvalMetrics.greedy(samples)
        XCTAssertEqual(m.keys.sorted(), ["val-core/all/acc/greedy@1", "val-core/gsm8k/acc/greedy@1",
                                         "val-core/math500/acc/greedy@1"])
        XCTAssertEqual(m["val-core/gsm8k/acc/greedy@1"]!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m["val-core/math500/acc/greedy@1"], 0)
        XCTAssertEqual(m["val-core/all/acc/greedy@1"], 0.5)
        XCTAssertTrue(Set(m.keys).isDisjoint(with: EvalMetrics.perSource(samples).keys))
        XCTAssertEqual(EvalMetrics.greedy([]), ["val-core/all/acc/greedy@1": 0])
    }
}
