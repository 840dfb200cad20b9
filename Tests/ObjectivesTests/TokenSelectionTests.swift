import Foundation
import Objectives
import XCTest

/// T3S anchors and masks, token types, token-priority builders and the
/// shared top-fraction rule, all against values worked out by hand.
final class TokenSelectionTests: XCTestCase {
    /// Hand values of results computed in Double. Measured 0 (exact).
    static let tolerance = 1e-12
    /// Hand values of results that pass through fp32 (log-prob inputs, Float
    /// weights, fp32 softmax inputs). Measured 5.6e-8 (a weight near 2 rounded
    /// to fp32: half an ulp is 1.2e-7, so the bound allows that with margin).
    static let fp32Tolerance = 3e-7
    /// Largest errors seen against each tolerance, printed by `tearDown`.
    var worstDouble = 0.0, worstFloat = 0.0

    override func tearDown() {
        print("[objectives] token selection hand values max error \(worstDouble) (Double), \(worstFloat) (fp32) in \(name)")
    }

    func close(_ a: [Double], _ b: [Double], fp32: Bool = false) {
        if fp32 { worstFloat = max(worstFloat, assertClose(a, b, accuracy: Self.fp32Tolerance)) }
        else { worstDouble = max(worstDouble, assertClose(a, b, accuracy: Self.tolerance)) }
    }

    func testConfidenceShiftAndAnchors() {
        let b: [Float] = [log(0.5), log(0.2), 0, log(0.9)]
        let i: [Float] = [log(0.25), log(0.4), 0, log(0.1)]
        let d = T3SSelection.confidenceShift(bottleneckLogProbs: b, initialLogProbs: i)
        close(d, [0.25, -0.2, 0, 0.8], fp32: true)
        // Δc = 0 is not an anchor; a row without a target never is.
        XCTAssertEqual(T3SSelection.anchors(confidenceShift: d, targets: [5, 5, 5, -1]), [true, false, false, false])
    }

    func testT3SAndAntiT3SMasks() {
        let anchors = [true, false, true, false, true, false]
        let targets: [Int32] = [1, 2, 3, -1, 4, 5]
        XCTAssertEqual(T3SSelection.weights(anchors: anchors, targets: targets, mode: .t3s), [0, 1, 0, 0, 0, 1])
        XCTAssertEqual(T3SSelection.weights(anchors: anchors, targets: targets, mode: .antiT3S), [1, 0, 1, 0, 1, 0])
        close([T3SSelection.anchorFraction(anchors: anchors, targets: targets)], [3.0 / 5])
        XCTAssertEqual(T3SSelection.anchorFraction(anchors: [false], targets: [-1]), 0)
    }

    func testRandomMaskKeepsTheT3SCountOnValidRowsOnly() {
        let n = 200
        let targets: [Int32] = (0..<n).map { $0 % 7 == 0 ? -1 : 1 }
        let anchors = (0..<n).map { $0 % 3 == 0 }
        let t3s = T3SSelection.weights(anchors: anchors, targets: targets, mode: .t3s)
        let a = T3SSelection.weights(anchors: anchors, targets: targets, mode: .random(seed: 1))
        let b = T3SSelection.weights(anchors: anchors, targets: targets, mode: .random(seed: 1))
        let c = T3SSelection.weights(anchors: anchors, targets: targets, mode: .random(seed: 2))
        XCTAssertEqual(a.reduce(0, +), t3s.reduce(0, +))
        XCTAssertEqual(a, b, "same seed, same mask")
        XCTAssertNotEqual(a, c, "another seed, another mask")
        XCTAssertNotEqual(a, t3s)
        for k in 0..<n where targets[k] < 0 { XCTAssertEqual(a[k], 0) }
        XCTAssertTrue(a.allSatisfy { $0 == 0 || $0 == 1 })
    }

    func testTokenTypes() {
        let cases: [(String, TokenType)] = [
            (" So", .connective), ("Wait", .connective), (" therefore", .connective), ("\n\n", .whitespace),
            ("", .whitespace), (",", .punctuation), (" **", .punctuation), ("=", .punctuation), (".\n", .punctuation),
            ("42", .digits), (" 7", .digits), (" the", .other), ("x2", .other), ("sold", .other),
        ]
        for (text, type) in cases { XCTAssertEqual(TokenTypes.classify(text), type, "'\(text)'") }
        let counts = TokenTypes.breakdown(texts: [" so", ",", "3", " so", "cat", "\n"], selected: [true, true, true, true, false, false])
        XCTAssertEqual(counts, [.connective: 2, .punctuation: 1, .digits: 1, .whitespace: 0, .other: 0])
    }

    func testTopFractionRoundsAndBreaksTiesByIndex() {
        XCTAssertEqual(TopFraction.count(fraction: 0.1, of: 270), 27)
        XCTAssertEqual(TopFraction.count(fraction: 0.01, of: 10), 1)
        XCTAssertEqual(TopFraction.count(fraction: 0, of: 10), 0)
        XCTAssertEqual(TopFraction.count(fraction: 1, of: 10), 10)
        XCTAssertEqual(TopFraction.count(fraction: 0.25, of: 10), 3)  // 2.5 rounds away from zero
        XCTAssertEqual(TopFraction.select(scores: [1, 3, 3, 2, 3], fraction: 0.4), [1, 2])
        XCTAssertEqual(TopFraction.select(scores: [1, 3, 3, 2, 3], fraction: 0.5, candidates: [0, 3, 4]), [4, 3])
    }

    func testHardMaskAndRho1() {
        XCTAssertEqual(TokenPriority.hardMask(targets: [1, 1, -1, 1]) { $0 != 1 }, [1, 0, 0, 1])
        let excess = TokenPriority.excessLoss(studentLogProbs: [-2, -1, -3], referenceLogProbs: [-1, -1, -0.5])
        close(excess, [1, 0, 2.5])
        let e: [Double] = [0.5, 2, -1, 2, 3]
        let t: [Int32] = [0, 0, 0, 0, -1]  // the 3.0 row has no target
        XCTAssertEqual(TokenPriority.rho1(excessLoss: e, targets: t, keepFraction: 0.5), [0, 1, 0, 1, 0])
        XCTAssertEqual(TokenPriority.rho1(excessLoss: e, targets: t, keepFraction: 0.25), [0, 1, 0, 0, 0])
        XCTAssertEqual(TokenPriority.rho1(excessLoss: e, targets: t, keepFraction: 1), [1, 1, 1, 1, 0])
    }

    func testSoftAndSignedWeights() {
        // σ(0) = 1/2 everywhere → 1 after normalising to mean 1.
        XCTAssertEqual(TokenPriority.soft(excessLoss: [0, 0], targets: [1, 1], temperature: 1), [1, 1])
        // σ(x) + σ(−x) = 1 → mean 1/2 → weights 2σ(±x); x = 2/τ with τ = 0.5 → 4.
        let s = TokenPriority.soft(excessLoss: [2, -2, 9], targets: [1, 1, -1], temperature: 0.5)
        let sig4 = 1 / (1 + exp(-4.0))
        close(s.map(Double.init), [2 * sig4, 2 * (1 - sig4), 0], fp32: true)
        let g = TokenPriority.signed(scores: [1, -1, 0, 100, -5], targets: [1, 1, 1, 1, -1], temperature: 2)
        close(g.map(Double.init), [tanh(0.5), -tanh(0.5), 0, 1, 0], fp32: true)
        XCTAssertTrue(g.allSatisfy { $0 >= -1 && $0 <= 1 })
    }

    func testP2DHeadScoresByHand() {
        close(P2DHeadScores.softmax([0, Float(log(3.0))]), [0.25, 0.75], fp32: true)
        // All mass moves two positions: W1 = 2.
        close([P2DHeadScores.wasserstein1([1, 0, 0], [0, 0, 1])], [2])
        // Half the mass moves one position, the other half one more: W1 = 1.
        close([P2DHeadScores.wasserstein1([0.5, 0.5, 0], [0, 0.5, 0.5])], [1])
        XCTAssertEqual(P2DHeadScores.wasserstein1([1], [1]), 0)
        // softmax([0,0]) = [½,½], softmax([log 3, 0]) = [¾,¼]: W1 = ¼.
        close([P2DHeadScores.score(base: [0, 0], proxy: [Float(log(3.0)), 0])], [0.25], fp32: true)
        XCTAssertEqual(P2DHeadScores.score(base: [0.3, -0.1, 2], proxy: [0.3, -0.1, 2]), 0)
        // Three heads over a 6-float buffer: head 0 unchanged, head 1 as above, head 2 split in two ranges.
        let base: [Float] = [1, 2, 0, 0, 5, 5]
        let proxy: [Float] = [1, 2, Float(log(3.0)), 0, 5, 5 + Float(log(3.0))]
        let scores = P2DHeadScores.scores(base: base, proxy: proxy, headRanges: [[0..<2], [2..<4], [4..<5, 5..<6]])
        close(scores, [0, 0.25, 0.25], fp32: true)
        XCTAssertEqual(P2DHeadScores.select(scores: scores, fraction: 0.34), [1])  // tie 1 vs 2 → lower index
    }
}
