import Foundation
import Tensors
import XCTest

/// Deterministic test values in [-1, 1).
func randomValues(_ n: Int, seed: UInt64) -> [Float] {
    var rng = Rng(seed: seed)
    return (0..<n).map { _ in Float(rng.uniform() * 2 - 1) }
}

/// Largest |a − b| / max(1, |b|) over the elements.
func maxRelativeError(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var worst = 0.0
    for (x, y) in zip(a, b) { worst = max(worst, Double(abs(x - y)) / max(1, Double(abs(y)))) }
    return worst
}

/// A fresh temporary directory removed after the test.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "merging-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}
