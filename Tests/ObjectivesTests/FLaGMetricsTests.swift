import Foundation
import Objectives
import XCTest

/// AUROC and AUPRC against hand-computed values, ties included, and the bootstrap CI.
final class FLaGMetricsTests: XCTestCase {
    /// Hand values are exact fractions; measured error 0 to 1e-16.
    static let tolerance = 1e-12

    func testAUROCAndAPHandValues() {
        // scikit-learn's documented example: AUROC 0.75, AP 0.8333…
        let s: [Double] = [0.1, 0.4, 0.35, 0.8], y = [0, 0, 1, 1]
        XCTAssertEqual(DetectionMetrics.auroc(scores: s, labels: y)!, 0.75, accuracy: Self.tolerance)
        XCTAssertEqual(DetectionMetrics.averagePrecision(scores: s, labels: y)!, 5.0 / 6, accuracy: Self.tolerance)
    }

    func testTiesCountHalf() {
        // Pairs (pos, neg): (1,1) tie → ½, (1,0) → 1, (2,1) → 1, (2,0) → 1: 3.5 / 4.
        let s: [Double] = [1, 1, 2, 0], y = [1, 0, 1, 0]
        XCTAssertEqual(DetectionMetrics.auroc(scores: s, labels: y)!, 0.875, accuracy: Self.tolerance)
        // Thresholds: 2 → (R ½, P 1); 1 → (R 1, P ⅔): AP = ½ + ½·⅔.
        XCTAssertEqual(DetectionMetrics.averagePrecision(scores: s, labels: y)!, 0.5 + 1.0 / 3, accuracy: Self.tolerance)
        // All scores tied: AUROC ½, AP = prevalence.
        XCTAssertEqual(DetectionMetrics.auroc(scores: [3, 3, 3, 3], labels: [1, 0, 0, 0])!, 0.5, accuracy: Self.tolerance)
        XCTAssertEqual(DetectionMetrics.averagePrecision(scores: [3, 3, 3, 3], labels: [1, 0, 0, 0])!, 0.25, accuracy: Self.tolerance)
    }

    func testUndefinedWithOneClass() {
        XCTAssertNil(DetectionMetrics.auroc(scores: [1, 2], labels: [1, 1]))
        XCTAssertNil(DetectionMetrics.averagePrecision(scores: [1, 2], labels: [0, 0]))
        XCTAssertNil(DetectionMetrics.aurocWithCI(scores: [1, 2], labels: [0, 0], seed: 1))
    }

    func testBootstrapIsSeededAndBracketsTheValue() {
        let s = (0..<60).map { Double(($0 * 37) % 60) / 60 }, y = (0..<60).map { ($0 * 37) % 60 > 25 || $0 % 7 == 0 ? 1 : 0 }
        let a = DetectionMetrics.aurocWithCI(scores: s, labels: y, resamples: 400, seed: 7)!
        let b = DetectionMetrics.aurocWithCI(scores: s, labels: y, resamples: 400, seed: 7)!
        XCTAssertEqual(a, b)
        XCTAssertLessThanOrEqual(a.lower, a.value); XCTAssertGreaterThanOrEqual(a.upper, a.value)
        XCTAssertLessThan(a.upper - a.lower, 0.5)
        let p = DetectionMetrics.auprcWithCI(scores: s, labels: y, resamples: 400, seed: 7)!
        XCTAssertLessThanOrEqual(p.lower, p.value); XCTAssertGreaterThanOrEqual(p.upper, p.value)
        XCTAssertEqual(DetectionMetrics.quantile([0, 1, 2, 3], 0.5), 1.5, accuracy: Self.tolerance)
    }
}
