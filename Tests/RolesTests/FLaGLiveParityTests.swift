import Foundation
import Objectives
import Roles
import Tensors
import Transformer
import XCTest

/// Live FLaG features (read from the forward that generates, `SamplingGenerator`
/// with `flagDepth`) against the offline extractor (`FLaGFeatureExtractor`, the
/// `detect features` path: one teacher-forced forward of prompt + answer) for the same answers.
final class FLaGLiveParityTests: XCTestCase {
    /// Hidden-state features, max |live − offline| / max(1, |offline|): the decode
    /// path (KV cache, packed GEMM) and the training forward round differently.
    /// Measured 3.7e-9 on this model (debug build, packed decode kernel).
    static let representationTolerance: Float = 1e-6
    /// Token features (log-probs, entropies and what is built from them), max abs
    /// difference. Measured 2.4e-7 (one Float ulp of the log-probs).
    static let tokenTolerance = 2e-6

    func tinyModel() throws -> Model {
        let m = try Model(config: ModelConfig(vocabSize: 29, dim: 16, layers: 3, heads: 2, kvHeads: 1, ffnDim: 24, maxSeqLen: 40))
        m.initialize(seed: 5)
        return m
    }

    /// Max relative representation error and max token error of live vs offline features.
    func compare(_ live: FLaGFeatureVector, _ offline: FLaGFeatureVector) -> (Float, Double) {
        XCTAssertEqual(live.representation.count, offline.representation.count)
        XCTAssertEqual(live.token.count, offline.token.count)
        var rep: Float = 0, tok = 0.0
        for (a, b) in zip(live.representation, offline.representation) { rep = max(rep, abs(a - b) / max(1, abs(b))) }
        for (a, b) in zip(live.token, offline.token) { tok = max(tok, abs(a - b)) }
        return (rep, tok)
    }

    func testLiveFeaturesEqualOfflineFeatures() throws {
        let model = try tinyModel()
        let prompts: [[Int32]] = [[3, 7, 1], [9, 4, 11, 2, 5, 6, 20], [1, 2], [8, 8, 8, 13, 27]]
        let seeds: [UInt64] = [1, 2, 3, 4]
        var worstRep: Float = 0, worstTok = 0.0, compared = 0, stopped = 0
        let stops: Set<Int32> = [0, 1, 2]
        for depth in [0, 1, model.config.layers] {
            for options in [SamplingOptions(temperature: 0.7, maxNewTokens: 14, stopTokens: stops),
                            SamplingOptions(greedy: true, maxNewTokens: 9, stopTokens: stops)] {
                let live = try SamplingGenerator(model: model, flagDepth: depth).generate(prompts: prompts, options: options, seeds: seeds)
                let plain = try SamplingGenerator(model: model).generate(prompts: prompts, options: options, seeds: seeds)
                let ex = FLaGFeatureExtractor(model: model, depth: depth)
                for (i, g) in live.enumerated() {
                    // The observer must not change what is sampled (4 rows: the packed path throughout).
                    XCTAssertEqual(g.tokens, plain[i].tokens, "depth \(depth) sequence \(i)")
                    XCTAssertEqual(g.logProbs, plain[i].logProbs)
                    XCTAssertNil(plain[i].flagFeatures)
                    // The answer is the completion without its stop token (the decoded text has none).
                    let endsOnStop = g.tokens.last.map(stops.contains) ?? false
                    let answer = endsOnStop ? Array(g.tokens.dropLast()) : g.tokens
                    if answer.isEmpty { XCTAssertNil(g.flagFeatures); continue }
                    let f = try XCTUnwrap(g.flagFeatures, "depth \(depth) sequence \(i): no live features")
                    XCTAssertEqual(f.logProbs.count, answer.count)
                    let (rep, tok) = compare(f, try ex.features(prompt: prompts[i], answer: answer))
                    if endsOnStop { stopped += 1 }
                    worstRep = max(worstRep, rep); worstTok = max(worstTok, tok); compared += 1
                }
            }
        }
        print("[roles] FLaG live vs offline over \(compared) answers (\(stopped) ended on the stop token): "
              + "representation max rel error \(worstRep), token max error \(worstTok)")
        XCTAssertGreaterThanOrEqual(compared, 20)
        XCTAssertGreaterThan(stopped, 0, "some answers should end on the stop token (both ends are covered)")
        XCTAssertGreaterThan(compared - stopped, 0, "some answers should end at the length limit")
        XCTAssertLessThanOrEqual(worstRep, Self.representationTolerance)
        XCTAssertLessThanOrEqual(worstTok, Self.tokenTolerance)
    }

    /// At temperature ≠ 1 the sampler's log-probs are tempered; the live token
    /// features must still be the temperature-1 ones the offline extractor computes.
    func testTokenFeaturesAreUntempered() throws {
        let model = try tinyModel()
        let g = try SamplingGenerator(model: model, flagDepth: 1)
            .generate(prompts: [[4, 5, 6]], options: SamplingOptions(temperature: 0.5, maxNewTokens: 8), seeds: [9])[0]
        let f = try XCTUnwrap(g.flagFeatures)
        let differs = zip(f.logProbs, g.logProbs).contains { abs($0 - $1) > 1e-3 }
        XCTAssertTrue(differs, "at temperature 0.5 the sampler's tempered log-probs should differ from the temperature-1 ones")
    }

    /// A sequence that fills the model's positions has no room for its last
    /// token's row: no live features, and the offline extractor refuses it too.
    func testFullCacheGivesNoFeatures() throws {
        let model = try tinyModel()
        let long = [Int32](repeating: 3, count: model.config.maxSeqLen - 3)
        let g = try SamplingGenerator(model: model, flagDepth: 2)
            .generate(prompts: [long, [1, 2]], options: SamplingOptions(greedy: true, maxNewTokens: 10), seeds: [1, 2])
        XCTAssertEqual(g[0].tokens.count, 4)
        XCTAssertNil(g[0].flagFeatures)
        XCTAssertThrowsError(try FLaGFeatureExtractor(model: model, depth: 2).features(prompt: long, answer: g[0].tokens))
        XCTAssertNotNil(g[1].flagFeatures)
    }
}
