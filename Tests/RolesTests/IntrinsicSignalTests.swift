import Foundation
import Objectives
@testable import Roles
import Tasks
import Tensors
import Transformer
import XCTest

/// The rollout-side ISPO passes against direct teacher-forced scoring.
final class IntrinsicSignalTests: XCTestCase {
    /// Batched (padded) forward vs one-sequence `score`: padding and BLAS
    /// blocking may differ; measured 0.0 on these sequences (debug build,
    /// default kernels), so the bound only allows for summation reordering.
    static let scoreTolerance: Float = 2e-5

    func makeModel(seed: UInt64) throws -> Model {
        let codec = try CharCodec(alphabet: syntheticAlphabet)
        let m = try Model(config: ModelConfig(vocabSize: codec.vocabSize, dim: 32, layers: 2, heads: 4, kvHeads: 2,
                                              ffnDim: 48, maxSeqLen: 64))
        m.initialize(seed: seed)
        return m
    }

    /// A sample whose log-probs and entropies are the policy's own (teacher-forced at temperature 1).
    func sample(_ model: Model, _ codec: CharCodec, prompt: String, response: String, outcome: Double) throws -> RolloutSample {
        let p = try codec.encode(prompt), r = try codec.encode(response) + [codec.eos]
        let scored = model.score(sequences: [p + r])[0]
        return RolloutSample(promptTokens: p, responseTokens: r, logProbs: Array(scored.logProbs[(p.count - 1)...]),
                             entropies: Array(scored.entropies[(p.count - 1)...]), outcome: outcome, reward: outcome,
                             groupId: 0, dataSource: "addition:1", prompt: prompt, response: response, groundTruth: "")
    }

    func testSequenceInformationAndDriftMatchDirectScoring() throws {
        let codec = try CharCodec(alphabet: syntheticAlphabet)
        let policy = try makeModel(seed: 1), base = try makeModel(seed: 2)
        var samples = [
            try sample(policy, codec, prompt: "Q:3+4\n", response: "T:3+4=7,c0\nA:7", outcome: 1),
            try sample(policy, codec, prompt: "Q:12+9\n", response: "T:2+9=11,c1;1+0+1=2\nA:21", outcome: 1),
            try sample(policy, codec, prompt: "Q:5+5\n", response: "T:5+5=10,c1", outcome: 0),  // no answer line
        ]
        let worker = IntrinsicSignalWorker(policy: policy, base: base, codec: codec, settings: ISPOSignals.Settings(),
                                           klDrift: false, temperature: 1)
        try worker.annotate(&samples)
        // I of sample 0: the answer "7" scored after the full thinking vs after "T:\nA:".
        let p0 = try codec.encode("Q:3+4\n")
        let without = policy.score(sequences: [p0 + (try codec.encode("T:\nA:7"))])[0].logProbs.last!
        let with = samples[0].logProbs[samples[0].logProbs.count - 2]  // the token before <eos>
        let g0 = try XCTUnwrap(samples[0].signals)
        XCTAssertTrue(g0.hasAnswer)
        XCTAssertEqual(g0.sequenceInformation, Double(with - without), accuracy: Double(Self.scoreTolerance))
        print("IntrinsicSignalTests: |I − direct| =", abs(g0.sequenceInformation - Double(with - without)))
        XCTAssertEqual(g0.answerProb, exp(Double(with)), accuracy: 1e-5)
        // Sample 1's answer has two tokens: "21".
        let p1 = try codec.encode("Q:12+9\n")
        let without1 = policy.score(sequences: [p1 + (try codec.encode("T:\nA:21"))])[0].logProbs.suffix(2)
        let with1 = samples[1].logProbs.dropLast().suffix(2)
        let expected1 = zip(with1, without1).map { Double($0 - $1) }.reduce(0, +) / 2
        XCTAssertEqual(samples[1].signals!.sequenceInformation, expected1, accuracy: Double(Self.scoreTolerance))
        print("IntrinsicSignalTests: |I − direct| =", abs(samples[1].signals!.sequenceInformation - expected1))
        XCTAssertFalse(samples[2].signals!.hasAnswer)
        XCTAssertEqual(samples[2].signals!.sequenceInformation, 0)
        // The token reward and critical set follow from the drift against the base's own scores.
        let baseLP = base.score(sequences: [samples[1].promptTokens + samples[1].responseTokens])[0].logProbs
            .suffix(samples[1].responseTokens.count)
        let drift = zip(samples[1].logProbs, baseLP).map { abs($0 - $1) }
        let C = ISPOSignals.criticalTokens(entropies: samples[1].entropies, drifts: drift, settings: ISPOSignals.Settings())
        XCTAssertEqual(samples[1].signals!.criticalCount, C.count)
        let rTok = ISPOSignals.tokenReward(correct: true, logProbs: samples[1].logProbs, entropies: samples[1].entropies,
                                           critical: C, vocabSize: codec.vocabSize, settings: ISPOSignals.Settings())
        XCTAssertEqual(samples[1].signals!.tokenReward, rTok, accuracy: 1e-5)
    }

    func testKLDriftIsZeroAgainstItselfAndMatchesADoubleSumOtherwise() throws {
        let codec = try CharCodec(alphabet: syntheticAlphabet)
        let policy = try makeModel(seed: 3), base = try makeModel(seed: 4)
        let seq = try codec.encode("Q:1+2\nT:1+2=3,c0\nA:3")
        let same = TeacherForcedScoring.klDivergence(policy: policy, base: policy, sequences: [seq], from: [6], temperature: 1)[0]
        XCTAssertLessThan(same.map(abs).max()!, 1e-5)
        let kl = TeacherForcedScoring.klDivergence(policy: policy, base: base, sequences: [seq], from: [6], temperature: 0.7)[0]
        // Position t = 6 predicts seq[6] from seq[..<6]: recompute KL in Double from the raw logits.
        let V = codec.vocabSize
        let pl = policy.forward(TokenBatch(batchSize: 1, seqLen: seq.count, tokens: seq)).row(5)
        let pRow = (0..<V).map { Double(pl[$0]) / 0.7 }
        let bl = base.forward(TokenBatch(batchSize: 1, seqLen: seq.count, tokens: seq)).row(5)
        let bRow = (0..<V).map { Double(bl[$0]) / 0.7 }
        func logSoftmax(_ x: [Double]) -> [Double] { let m = x.max()!; let z = m + log(x.map { exp($0 - m) }.reduce(0, +)); return x.map { $0 - z } }
        let lp = logSoftmax(pRow), lq = logSoftmax(bRow)
        let expected = (0..<V).map { exp(lp[$0]) * (lp[$0] - lq[$0]) }.reduce(0, +)
        XCTAssertEqual(Double(kl[0]), expected, accuracy: 1e-5)
        print("IntrinsicSignalTests: |KL − Double KL| =", abs(Double(kl[0]) - expected), "max self-KL", same.map(abs).max()!)
        XCTAssertTrue(kl.allSatisfy { $0 >= 0 })
    }

    func testSignalsSurviveTheRolloutBatchWireFormat() throws {
        var s = RolloutSample(promptTokens: [1, 2], responseTokens: [3], logProbs: [-0.5], entropies: [1.2], outcome: 0,
                              reward: 0, groupId: 4, dataSource: "x", prompt: "p", response: "r", groundTruth: "g")
        s.signals = IntrinsicSignals(hasAnswer: true, sequenceInformation: -0.25, tokenReward: 0.4, criticalCount: 3,
                                     criticalMeanProb: 0.6, answerProb: 0.95, critical: [0])
        let plain = RolloutSample(promptTokens: [1], responseTokens: [], logProbs: [], entropies: [], outcome: 1, reward: 1,
                                  groupId: 5, dataSource: "y", prompt: "", response: "", groundTruth: "")
        let batch = RolloutBatch(weightVersion: 2, step: 3, workerRank: 1, samples: [s, plain], signalSeconds: 0.125)
        XCTAssertEqual(try RolloutBatch(decoding: batch.encoded()), batch)
    }
}
