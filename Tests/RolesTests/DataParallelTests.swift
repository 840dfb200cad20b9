import Comm
import Objectives
import Optimization
@testable import Roles
import Tensors
import Transformer
import XCTest

/// ZeRO-1 data parallelism must not change the result: two learners and one
/// learner on the same global batch end with the same parameters.
final class DataParallelTests: XCTestCase {
    /// Global gradient norms, 2 learners vs 1, relative: the gradients differ
    /// only in the order of fp32 sums; measured ≤ 5e-8.
    static let gradNormTolerance = 1e-6
    /// Max |Δparameter| after 3 AdamW steps at lr 1e-2. Adam divides by √v, so
    /// coordinates whose gradient is ~1e-9 turn summation-order noise into
    /// steps of up to lr; measured 1.7e-5 (0.2% of one step), the bound is 1% of one step.
    static let tolerance: Float = 1e-4

    func makeModel() throws -> Model {
        let cfg = ModelConfig(vocabSize: 30, dim: 32, layers: 2, heads: 4, kvHeads: 2, ffnDim: 48, maxSeqLen: 24)
        let m = try Model(config: cfg)
        m.initialize(seed: 5)
        return m
    }

    func makeSamples(step: Int) -> ([RolloutSample], [Double]) {
        var rng = Rng(seed: SeedMixer.derive(run: 9, step: UInt64(step)))
        var samples: [RolloutSample] = []
        for i in 0..<6 {
            let p = (0..<(3 + i % 3)).map { _ in Int32(rng.below(30)) }
            let n = 2 + rng.below(6)
            let r = (0..<n).map { _ in Int32(rng.below(30)) }
            let lp = (0..<n).map { _ in Float(-rng.uniform() * 4) }
            samples.append(RolloutSample(promptTokens: p, responseTokens: r, logProbs: lp, entropies: lp,
                                         outcome: Double(i % 2), reward: Double(i % 2), groupId: i / 3,
                                         dataSource: "t", prompt: "", response: "", groundTruth: ""))
        }
        let adv = GroupAdvantages.compute(rewards: samples.map(\.reward), groupIds: samples.map(\.groupId), normalizeByStd: true)
        return (samples, adv)
    }

    func train(learners: Int) throws -> (parameters: [Float], gradNorms: [Double]) {
        var result: [Float] = []
        var norms: [Double] = []
        let lock = NSLock()
        try LoopbackWorld.run(size: learners) { comm in
            let model = try self.makeModel()
            let opt = ShardedOptimizer(model: model, comm: comm, config: AdamWConfig(lr: 1e-2, weightDecay: 0.1))
            let cfg = PolicyLossConfig(aggregation: .seqMeanTokenMean)
            let up = PolicyObjective(model: model, reference: nil, optimizer: opt, lossConfig: cfg, microBatchSize: 2, pad: 0,
                                     equalGroups: [], measuresEqualGroups: false)
            for step in 0..<3 {
                let (samples, adv) = self.makeSamples(step: step)
                let share = Array(stride(from: comm.rank, to: samples.count, by: comm.size))
                let norm = PolicyObjective.globalNormalizer(samples, aggregation: cfg.aggregation)
                model.zeroGradients()
                _ = try up.accumulate(samples: share.map { samples[$0] }, advantages: share.map { adv[$0] }, normalizer: norm,
                                      first: false)
                let gradNorm = try opt.step(lr: 1e-2, maxNorm: 0.5)
                if comm.rank == 0 { lock.lock(); norms.append(gradNorm); lock.unlock() }
            }
            if comm.rank == 0 { lock.lock(); result = model.parameters.toArray(); lock.unlock() }
        }
        return (result, norms)
    }

    func testTwoZeROLearnersMatchOneLearner() throws {
        let (one, n1) = try train(learners: 1), (two, n2) = try train(learners: 2)
        XCTAssertEqual(one.count, two.count)
        for (a, b) in zip(n1, n2) { XCTAssertEqual(a, b, accuracy: Self.gradNormTolerance * a) }
        print("[data-parallel] grad norms 1 learner \(n1), 2 learners \(n2)")
        var worst: Float = 0, at = 0
        for i in 0..<one.count where abs(one[i] - two[i]) > worst { worst = abs(one[i] - two[i]); at = i }
        let layout = try makeModel().layout
        print("[data-parallel] worst at \(layout.entries.first { $0.range.contains(at) }!.name)")
        print("[data-parallel] max |Δparameter| 2 learners vs 1 after 3 steps: \(worst)")
        XCTAssertLessThan(worst, Self.tolerance)
        // The runs did move the parameters (the comparison is not vacuous).
        let initial = try makeModel().parameters.toArray()
        XCTAssertGreaterThan(zip(one, initial).map { abs($0 - $1) }.max()!, 1e-3)
    }
}

import Foundation
