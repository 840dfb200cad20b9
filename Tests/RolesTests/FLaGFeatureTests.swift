import Foundation
import Objectives
import Roles
import Tensors
import Transformer
import XCTest

/// FLaG features from a tiny random model: deterministic, the token features
/// are `Model.score`'s values, the hidden states are the ones the logits are
/// read from; and the head trains to separate a two-mechanism toy problem.
final class FLaGFeatureTests: XCTestCase {
    /// Final norm + head recomputed in Double from the returned hidden state vs the
    /// Float logits: measured 1.2e-7 relative to the largest logit.
    static let logitsTolerance = 1e-5
    /// Same code path (LogitsMath on the same logits rows): measured 0.
    static let scoreTolerance: Float = 1e-6

    func tinyModel() throws -> Model {
        let m = try Model(config: ModelConfig(vocabSize: 23, dim: 16, layers: 2, heads: 2, kvHeads: 1, ffnDim: 24, maxSeqLen: 32))
        m.initialize(seed: 11)
        return m
    }

    func testFeaturesAreDeterministicAndMatchScore() throws {
        let model = try tinyModel()
        let prompt: [Int32] = [3, 7, 1, 9, 4], answer: [Int32] = [5, 5, 2, 8, 12, 6, 0, 19, 22, 3]
        let ex = FLaGFeatureExtractor(model: model)
        let a = try ex.features(prompt: prompt, answer: answer)
        let b = try ex.features(prompt: prompt, answer: answer)
        XCTAssertEqual(a.combined, b.combined)
        XCTAssertEqual(a.representation.count, 3 * 16); XCTAssertEqual(a.token.count, FLaGTokenFeatures.count)

        let scored = model.score(sequences: [prompt + answer])[0]
        let lp = Array(scored.logProbs[(prompt.count - 1)...]), ent = Array(scored.entropies[(prompt.count - 1)...])
        XCTAssertEqual(lp.count, answer.count)
        var maxErr: Float = 0
        for t in 0..<answer.count { maxErr = max(maxErr, abs(lp[t] - a.logProbs[t]), abs(ent[t] - a.entropies[t])) }
        print("[roles] FLaG token log-probs/entropies vs Model.score max error \(maxErr)")
        XCTAssertLessThanOrEqual(maxErr, Self.scoreTolerance)
        let expected = FLaGTokenFeatures.compute(logProbs: lp.map(Double.init), entropies: ent.map(Double.init))
        for (x, y) in zip(expected, a.token) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        // Hand checks of a few token features.
        let lpd = lp.map(Double.init)
        XCTAssertEqual(a.token[0], lpd.reduce(0, +) / 10, accuracy: 1e-5)
        XCTAssertEqual(a.token[1], lpd.min()!, accuracy: 1e-6)
        XCTAssertEqual(a.token[5], Double(lpd.filter { exp($0) < 0.5 }.count) / 10, accuracy: 1e-12)
        XCTAssertEqual(a.token[6], lpd.reduce(0, +) / pow(15.0 / 6, 0.6), accuracy: 1e-5)
        XCTAssertEqual(a.token[4], lpd.suffix(8).map { exp($0) }.reduce(0, +) / 8, accuracy: 1e-6)
    }

    func testHiddenStateIsWhatTheLogitsAreReadFrom() throws {
        let model = try tinyModel()
        let tokens: [Int32] = [1, 4, 9, 16, 2, 7, 22, 0]
        let c = model.config, C = c.dim, V = c.vocabSize, N = tokens.count
        let (block, hidden) = model.forwardWithHidden(TokenBatch(batchSize: 1, seqLen: N, tokens: tokens), depths: [c.layers, 0])
        let logits = (0..<N).flatMap { r in Array(UnsafeBufferPointer(start: block.row(r), count: V)) }
        let named = model.namedTensors()
        let norm = named["model.norm.weight"]!.data, head = named[c.tiedEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight"]!.data
        var maxErr = 0.0, maxRef = 0.0
        for r in 0..<N {
            let h = (0..<C).map { Double(hidden[0][r * C + $0]) }
            let rstd = 1 / ((h.map { $0 * $0 }.reduce(0, +) / Double(C)) + Double(c.normEps)).squareRoot()
            let x = (0..<C).map { h[$0] * rstd * Double(norm[$0]) }
            for v in 0..<V {
                var acc = 0.0
                for j in 0..<C { acc += x[j] * Double(head[v * C + j]) }
                maxErr = max(maxErr, abs(acc - Double(logits[r * V + v]))); maxRef = max(maxRef, abs(acc))
            }
        }
        print("[roles] hidden → final norm → head vs logits max error \(maxErr / maxRef) relative")
        XCTAssertLessThan(maxErr / maxRef, Self.logitsTolerance)
        // Depth 0 is the embedding rows.
        let embed = named["model.embed_tokens.weight"]!.data
        for r in 0..<N { XCTAssertEqual(Array(hidden[1][r * C..<(r + 1) * C]), Array(embed[Int(tokens[r]) * C..<(Int(tokens[r]) + 1) * C])) }
        // And forward alone gives the same logits.
        let again = model.forward(TokenBatch(batchSize: 1, seqLen: N, tokens: tokens))
        XCTAssertEqual((0..<N).flatMap { Array(UnsafeBufferPointer(start: again.row($0), count: V)) }, logits)
    }

    func testRejectsEmptyAndTooLong() throws {
        let ex = FLaGFeatureExtractor(model: try tinyModel())
        XCTAssertThrowsError(try ex.features(prompt: [], answer: [1]))
        XCTAssertThrowsError(try ex.features(prompt: [1], answer: [Int32](repeating: 2, count: 40)))
    }

    /// Two mechanisms: in group A (x0 > 0) correctness follows x1, in group B it
    /// follows −x2. One linear detector cannot do both; K = 4 routed detectors can.
    func testHeadLearnsHeterogeneousMechanismsOnHeldOutQuestions() {
        var rng = Rng(seed: 3)
        var f: [Double] = [], y: [Int] = [], g: [String] = []
        for q in 0..<300 {
            for _ in 0..<4 {
                let x = (0..<3).map { _ in rng.normal() }
                let s = x[0] > 0 ? 3 * x[1] : -3 * x[2]
                f += x; y.append(rng.uniform() < 1 / (1 + exp(-s)) ? 1 : 0); g.append("q\(q)")
            }
        }
        let data = FLaGDataset(features: f, labels: y, groups: g, representationDim: 3, tokenDim: 0)
        let (rest, test) = data.splitByGroup(heldOut: 0.25, seed: 1)
        XCTAssertTrue(Set(rest.map { g[$0] }).isDisjoint(with: test.map { g[$0] }))
        let (tr, va) = data.subset(rest).splitByGroup(heldOut: 0.2, seed: 2)
        let train = data.subset(rest).subset(tr), val = data.subset(rest).subset(va), held = data.subset(test)
        var settings = FLaGTrainingSettings()
        settings.epochs = 60; settings.patience = 15; settings.lr = 1e-2
        let probe = FLaGTraining.trainFLaG(train: train, validation: val, shape: FLaGHeadShape(representationDim: 3, tokenDim: 0, groups: 1),
                                           weights: FLaGLossWeights(), settings: settings)
        let flag = FLaGTraining.trainFLaG(train: train, validation: val, shape: FLaGHeadShape(representationDim: 3, tokenDim: 0, groups: 4),
                                          weights: FLaGLossWeights(rank: 0.5, balance: 0.01), settings: settings)
        let aProbe = DetectionMetrics.auroc(scores: probe.scores(held), labels: held.labels)!
        let aFlag = DetectionMetrics.auroc(scores: flag.scores(held), labels: held.labels)!
        print("[roles] toy two-mechanism held-out AUROC: linear probe \(aProbe), FLaG K=4 \(aFlag)")
        XCTAssertGreaterThan(aFlag, aProbe + 0.05)
        XCTAssertGreaterThan(aFlag, 0.75)
        // The head file round-trips.
        let path = NSTemporaryDirectory() + "flag-head-\(getpid()).shard"
        try? flag.write(path: path)
        let back = try? FLaGHeadFile.read(path: path)
        XCTAssertEqual(back?.scores(held), flag.scores(held))
        try? FileManager.default.removeItem(atPath: path)
    }
}
