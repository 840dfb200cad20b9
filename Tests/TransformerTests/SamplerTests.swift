import Foundation
import Tensors
import Transformer
import XCTest

final class SamplerTests: XCTestCase {
    let logits: [Float] = [2.0, 1.0, 0.5, -1.0, 0.0, 1.5, -3.0, 0.2, 0.9]

    func probabilities(_ t: Float) -> [Double] {
        let s = logits.map { Double($0 / t) }
        let m = s.max()!
        let e = s.map { exp($0 - m) }
        let z = e.reduce(0, +)
        return e.map { $0 / z }
    }

    func draw(_ opts: SamplingOptions, n: Int, seed: UInt64) -> [Int] {
        var rng = Rng(seed: seed)
        var scratch = [Float](repeating: 0, count: 2 * logits.count)
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<n {
            let s = Sampler.sample(row: logits, count: logits.count, options: opts, rng: &rng, scratch: &scratch)
            counts[Int(s.token)] += 1
        }
        return counts
    }

    func testFrequenciesFollowTemperatureScaledSoftmax() {
        for t: Float in [1.0, 0.7] {
            let n = 60_000
            let counts = draw(SamplingOptions(temperature: t), n: n, seed: 9)
            let p = probabilities(t)
            for i in 0..<p.count {
                // 5 standard deviations of a binomial count.
                let sd = (Double(n) * p[i] * (1 - p[i])).squareRoot()
                XCTAssertEqual(Double(counts[i]), Double(n) * p[i], accuracy: 5 * sd + 1, "temperature \(t) token \(i)")
            }
        }
    }

    func testTopPKeepsTheSmallestNucleus() {
        let p = probabilities(1)
        let order = p.indices.sorted { p[$0] > p[$1] }
        var mass = 0.0, kept: Set<Int> = []
        for i in order where mass < 0.8 { mass += p[i]; kept.insert(i) }
        let counts = draw(SamplingOptions(topP: 0.8), n: 20_000, seed: 4)
        for i in 0..<counts.count where !kept.contains(i) { XCTAssertEqual(counts[i], 0, "token \(i) is outside the nucleus") }
        for i in kept { XCTAssertGreaterThan(counts[i], 0) }
    }

    func testGreedyAndReportedStatistics() {
        var rng = Rng(seed: 1)
        var scratch = [Float](repeating: 0, count: 2 * logits.count)
        let s = Sampler.sample(row: logits, count: logits.count, options: SamplingOptions(greedy: true), rng: &rng, scratch: &scratch)
        XCTAssertEqual(s.token, 0)
        let p = probabilities(1)
        XCTAssertEqual(Double(s.logProb), log(p[0]), accuracy: 1e-5)
        XCTAssertEqual(Double(s.entropy), -p.map { $0 * log($0) }.reduce(0, +), accuracy: 1e-5)
    }
}
