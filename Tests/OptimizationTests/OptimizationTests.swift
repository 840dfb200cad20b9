import Foundation
import Optimization
import Tensors
import XCTest

final class OptimizationTests: XCTestCase {
    func testAdamWFirstTwoStepsByHand() {
        let params = FlatBuffer([1.0, -2.0, 0.5])
        let grads = FlatBuffer([0.1, -0.3, 0.2])
        let cfg = AdamWConfig(lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5)
        // Elements 0..<2 decay, element 2 does not.
        let opt = AdamW(config: cfg, shard: 0..<3, segments: [DecaySegment(range: 0..<2, decays: true), DecaySegment(range: 2..<3, decays: false)])
        var p: [Double] = [1, -2, 0.5], m = [0.0, 0, 0], v = [0.0, 0, 0]
        let g: [Double] = [0.1, -0.3, 0.2]
        for t in 1...2 {
            opt.step(parameters: params.pointer, gradients: grads.pointer, lr: 0.1)
            for i in 0..<3 {
                m[i] = 0.9 * m[i] + 0.1 * g[i]; v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
                let mh = m[i] / (1 - pow(0.9, Double(t))), vh = v[i] / (1 - pow(0.999, Double(t)))
                p[i] = p[i] * (i < 2 ? 1 - 0.1 * 0.5 : 1) - 0.1 * mh / (vh.squareRoot() + 1e-8)
                XCTAssertEqual(Double(params[i]), p[i], accuracy: 1e-6, "step \(t) element \(i)")
            }
        }
        XCTAssertEqual(opt.stepCount, 2)
    }

    func testAdamWOnAShardTouchesOnlyTheShard() {
        let params = FlatBuffer([1, 1, 1, 1]), grads = FlatBuffer([1, 1, 1, 1])
        let opt = AdamW(config: AdamWConfig(lr: 0.1, weightDecay: 0), shard: 2..<4, segments: [DecaySegment(range: 0..<4, decays: true)])
        opt.step(parameters: params.pointer + 2, gradients: grads.pointer + 2, lr: 0.1)
        XCTAssertEqual(params.toArray()[0..<2], [1, 1])
        XCTAssertEqual(Double(params[2]), 0.9, accuracy: 1e-6)
    }

    func testClippingScalesToMaxNorm() {
        let g = FlatBuffer([3, 4])
        let n = GradientClipping.clip(g.pointer, count: 2, maxNorm: 1)
        XCTAssertEqual(n, 5, accuracy: 1e-9)
        XCTAssertEqual(Double(g[0]), 0.6, accuracy: 1e-6)
        XCTAssertEqual(Double(g[1]), 0.8, accuracy: 1e-6)
        let small = FlatBuffer([0.3, 0.4])
        GradientClipping.clip(small.pointer, count: 2, maxNorm: 1)
        XCTAssertEqual(small.toArray(), [0.3, 0.4])
    }

    func testWarmupCosineSchedule() {
        let s = LRSchedule(peak: 1, warmupSteps: 4, totalSteps: 14, minRatio: 0.1)
        XCTAssertEqual(s.lr(at: 0), 0.25, accuracy: 1e-12)
        XCTAssertEqual(s.lr(at: 3), 1, accuracy: 1e-12)
        XCTAssertEqual(s.lr(at: 4), 1, accuracy: 1e-12)
        XCTAssertEqual(s.lr(at: 9), 0.1 + 0.9 * 0.5, accuracy: 1e-12)
        XCTAssertEqual(s.lr(at: 14), 0.1, accuracy: 1e-12)
        XCTAssertEqual(s.lr(at: 100), 0.1, accuracy: 1e-12)
    }
}
