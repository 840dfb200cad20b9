@testable import Merging
import TestSupport
import XCTest

/// The offline merges against hand-computed values and the identity cases.
final class OfflineMergeTests: XCTestCase {
    /// Merging K copies of θ (base ≠ θ) returns θ up to the rounding of b + (θ − b) and of
    /// Σ w θ / Σ w: measured 1.8e-7 relative (values in [-1, 1]; 1.5 ulp at 1), bound 2.4e-7 (2 ulp).
    static let identityTolerance = 2.4e-7

    let methods: [MergeRecipe.Method] = [.linear, .taskArithmetic, .ties, .dareLinear, .dareTies]

    func testIdenticalModelsEqualTheBaseExactlyForEveryMethod() {
        // base = every branch: every task vector is 0, so every method returns the base bit for
        // bit — DARE included (dropping or rescaling 0 gives 0; mergekit behaves the same).
        // linear has no base; the average of two copies is exact ((θ + θ) / 2).
        let theta = randomValues(500, seed: 1)
        XCTAssertEqual(Merge.linear([theta, theta]), theta)
        for method in methods where method != .linear {
            let recipe = MergeRecipe(method: method, weights: [0.2, 0.5, 0.3], densities: [0.3, 0.5, 0.9], seed: 9)
            let merged = Merge.merge(branches: [theta, theta, theta], base: theta, recipe: recipe,
                                     segments: [0..<200, 200..<500])
            XCTAssertEqual(merged, theta, "\(method)")
        }
    }

    func testIdenticalBranchesAwayFromTheBaseGiveTheBranch() {
        let base = randomValues(1000, seed: 2), theta = randomValues(1000, seed: 3)
        var worst = 0.0
        // Normalized weights (or normalize: true) make linear, task arithmetic and TIES (density 1:
        // sign election only, all branches agree) return θ.
        for (method, normalize) in [(MergeRecipe.Method.linear, true), (.taskArithmetic, true), (.ties, true)] {
            for weights in [[1.0, 1, 1], [0.2, 0.5, 0.3]] {
                let recipe = MergeRecipe(method: method, weights: weights, normalize: normalize)
                let merged = Merge.merge(branches: [theta, theta, theta], base: base, recipe: recipe)
                let e = maxRelativeError(merged, theta)
                worst = max(worst, e)
                XCTAssertLessThanOrEqual(e, Self.identityTolerance, "\(method) \(weights)")
            }
        }
        print("identity (identical branches ≠ base): max relative error \(worst)")
        // DARE is the identity only in expectation: each draw keeps ~density of the entries, ×1/density.
        let dare = Merge.dare(base: base, models: [theta, theta], weights: [0.5, 0.5], densities: [0.5, 0.5], seed: 4)
        XCTAssertNotEqual(dare, theta)
        var ratio = 0.0
        for i in 0..<theta.count { ratio += Double((dare[i] - base[i]) / (theta[i] - base[i])) }
        XCTAssertEqual(ratio / Double(theta.count), 1, accuracy: 0.05, "E[DARE task vector] = task vector")
    }

    func testWeightedLinearNormalisation() {
        let a: [Float] = [1, 2, -4, 8], b: [Float] = [3, -2, 4, 0]
        XCTAssertEqual(Merge.linear([a, b], weights: [1, 3]), [2.5, -1, 2, 2])          // (a + 3b) / 4
        XCTAssertEqual(Merge.linear([a, b], weights: [2, 6]), [2.5, -1, 2, 2])          // scale-free
        XCTAssertEqual(Merge.linear([a, b], weights: [1, 3], normalize: false), [10, -4, 8, 8])
        XCTAssertEqual(Merge.linear([a, b]), [2, 0, 0, 4])                              // uniform: MoT's average
        XCTAssertEqual(MergeRecipe(method: .linear, weights: [1]).normalize, true)
        XCTAssertEqual(MergeRecipe(method: .taskArithmetic, weights: [1]).normalize, false)
        XCTAssertEqual(MergeRecipe(method: .ties, weights: [1]).normalize, true)
        XCTAssertEqual(MergeRecipe(method: .dareTies, weights: [1]).normalize, false)
    }

    func testTaskArithmetic() {
        let base: [Float] = [1, 1, 1], a: [Float] = [2, 0, 1], b: [Float] = [3, 1, -1]   // τ_a = [1,-1,0], τ_b = [2,0,-2]
        XCTAssertEqual(Merge.taskArithmetic(base: base, models: [a, b]), [4, 0, -1])    // base + τ_a + τ_b
        XCTAssertEqual(Merge.taskArithmetic(base: base, models: [a, b], weights: [1, 0.5], lambda: 2), [5, -1, -1])
        XCTAssertEqual(Merge.taskArithmetic(base: base, models: [a, b], weights: [1, 3], normalize: true),
                       [2.75, 0.75, -0.5])                                              // base + (τ_a + 3τ_b)/4
    }

    /// Three task vectors (base 0), density 0.5 of 4 → keep 2 each:
    /// t0 = [3, -1, 0.5, 2] → [3, 0, 0, 2];  t1 = [-2, -4, 1, -1] → [-2, -4, 0, 0];
    /// t2 = [5, 2, -3, 0.1] → [5, 0, -3, 0]. Elected signs of the sums [6, -4, -3, 2]: + − − +.
    /// Disjoint means: [(3 + 5)/2, -4, -3, 2].
    func testTiesHandComputed() {
        let t: [[Float]] = [[3, -1, 0.5, 2], [-2, -4, 1, -1], [5, 2, -3, 0.1]]
        let zero = [Float](repeating: 0, count: 4)
        XCTAssertEqual(Sparsify.magnitude(t[0], density: 0.5), [3, 0, 0, 2])
        XCTAssertEqual(Sparsify.magnitude(t[1], density: 0.5), [-2, -4, 0, 0])
        XCTAssertEqual(Sparsify.magnitude(t[2], density: 0.5), [5, 0, -3, 0])
        XCTAssertEqual(Merge.ties(base: zero, models: t, densities: [0.5, 0.5, 0.5]), [4, -4, -3, 2])
        // Against a base: θ = base + t.
        let base: [Float] = [1, 1, 1, 1]
        let models = t.map { tv in zip(tv, base).map { $0 + $1 } }
        XCTAssertEqual(Merge.ties(base: base, models: models, densities: [0.5, 0.5, 0.5]), [5, -3, -2, 3])
        // Weights vote: w = [1, 5, 1] flips parameter 0 (3 − 10 + 5 < 0), and the mean is weighted: −10/5.
        XCTAssertEqual(Merge.ties(base: zero, models: t, weights: [1, 5, 1], densities: [0.5, 0.5, 0.5]),
                       [-2, -4, -3, 2])
        // Without normalize: the agreeing weighted sum; λ scales it.
        XCTAssertEqual(Merge.ties(base: zero, models: t, densities: [0.5, 0.5, 0.5], lambda: 0.5, normalize: false),
                       [4, -2, -1.5, 1])
        // density 1: no trimming; signs of [6, -3, -1.5, 1.1]; agreeing means.
        XCTAssertEqual(Merge.ties(base: zero, models: t), [4, -2.5, -3, 1.05])
    }

    func testMagnitudeTrimIsPerTensorWithTiesToTheLowerIndex() {
        let v: [Float] = [1, -4, 2, 3, -1, 1]
        // floor(0.34 · 6) = 2 of the whole buffer; per tensor floor(0.34 · 2) = 0, which keeps one
        // entry (mergekit's max(1, ·)), and floor(0.34 · 4) = 1.
        XCTAssertEqual(Sparsify.magnitude(v, density: 0.34), [0, -4, 0, 3, 0, 0])
        XCTAssertEqual(Sparsify.magnitude(v, density: 0.34, segments: [0..<2, 2..<6]), [0, -4, 0, 3, 0, 0])
        XCTAssertEqual(Sparsify.magnitude(v, density: 0.01, segments: [0..<2, 2..<6]), [0, -4, 0, 3, 0, 0],
                       "a tiny density keeps the largest entry of every tensor")
        XCTAssertEqual(Sparsify.magnitude(v, density: 0.5, segments: [0..<2, 2..<6]), [0, -4, 2, 3, 0, 0])
        XCTAssertEqual(Sparsify.magnitude([1, -1, 1, 1], density: 0.5), [1, -1, 0, 0], "equal magnitudes: lower index")
        XCTAssertEqual(Sparsify.magnitude([1, 2], density: 0.4), [0, 2], "floor(0.8) = 0 → one entry kept")
        XCTAssertEqual(Sparsify.magnitude([1, 2], density: 0), [0, 0])
        XCTAssertEqual(Sparsify.magnitude(v, density: 1), v)
        // Large random tensors: exactly floor(density·n) survive, and they are the largest.
        let big = randomValues(10_001, seed: 5)
        let trimmed = Sparsify.magnitude(big, density: 0.3)
        let kept = trimmed.filter { $0 != 0 }
        XCTAssertEqual(kept.count, 3000)
        let smallestKept = kept.map(abs).min()!, largestDropped = zip(big, trimmed).filter { $1 == 0 }.map { abs($0.0) }.max()!
        XCTAssertGreaterThanOrEqual(smallestKept, largestDropped)
    }

    func testDareMaskIsSeededAndShardable() {
        let v = randomValues(100_000, seed: 6)
        let a = Sparsify.dare(v, density: 0.3, seed: 42, branch: 0)
        XCTAssertEqual(a, Sparsify.dare(v, density: 0.3, seed: 42, branch: 0), "same seed, same mask")
        XCTAssertNotEqual(a, Sparsify.dare(v, density: 0.3, seed: 43, branch: 0))
        XCTAssertNotEqual(a, Sparsify.dare(v, density: 0.3, seed: 42, branch: 1), "each branch draws its own mask")
        let kept = a.indices.filter { a[$0] != 0 }
        XCTAssertEqual(Double(kept.count) / Double(v.count), 0.3, accuracy: 0.005)
        for i in kept.prefix(1000) {
            XCTAssertEqual(a[i], v[i], "the drop leaves survivors as they are")
            XCTAssertTrue(Sparsify.dareKeeps(seed: 42, branch: 0, index: i, density: 0.3))
        }
        // A shard at its global offset draws the same mask as the whole buffer.
        let shard = Sparsify.dare(Array(v[40_000..<50_000]), density: 0.3, seed: 42, branch: 0, indexOffset: 40_000)
        XCTAssertEqual(shard, Array(a[40_000..<50_000]))
        // The documented stream, recomputed independently in Python (SplitMix64 finaliser,
        // SeedMixer.derive(run: 7, rank: k, purpose: "DARE"), position i): seed 7, density 0.5.
        for (k, expected) in [[1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 0, 1], [0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0]].enumerated() {
            let mask = (0..<16).map { Sparsify.dareKeeps(seed: 7, branch: k, index: $0, density: 0.5) ? 1 : 0 }
            XCTAssertEqual(mask, expected, "branch \(k)")
        }
    }

    func testDareLinearAndTiesByHand() {
        let base: [Float] = [0, 0, 0, 0, 0, 0, 0, 0]
        let t: [[Float]] = [[1, -2, 3, -4, 5, -6, 7, -8], [-1, 2, 2, 4, -5, 1, 1, 1]]
        let d = 0.5, seed: UInt64 = 11
        // Survivors × L1(t_k) / L1(survivors): each task vector keeps its L1 norm (mergekit's rescale).
        let dropped: [[Float]] = (0..<2).map { k in
            let kept = t[k].indices.map { i in Sparsify.dareKeeps(seed: seed, branch: k, index: i, density: d) ? t[k][i] : 0 }
            let scale = t[k].map(abs).reduce(0, +) / kept.map(abs).reduce(0, +)
            return kept.map { $0 * scale }
        }
        let linear = Merge.dare(base: base, models: t, densities: [d, d], seed: seed)
        XCTAssertEqual(linear, (0..<8).map { dropped[0][$0] + dropped[1][$0] })
        let ties = Merge.dare(base: base, models: t, densities: [d, d], seed: seed, electSigns: true)
        let expected: [Float] = (0..<8).map { i in
            let s = dropped[0][i] + dropped[1][i]
            return dropped.map { $0[i] }.filter { s >= 0 ? $0 > 0 : $0 < 0 }.reduce(0, +)
        }
        XCTAssertEqual(ties, expected)
    }

    func testL1RescaleKeepsEachTensorsNormAndSkipsVanishingOnes() {
        var v: [Float] = [1, -2, 0, 4, 0.5, -0.5, 0, 0]
        let segments = [0..<4, 4..<6, 6..<8]
        let before = v.withUnsafeBufferPointer { L1Rescale.norms($0, segments: segments) }
        XCTAssertEqual(before, [7, 1, 0])
        v[1] = 0; v[5] = 0                                   // a drop: L1 5 of 7, 0.5 of 1
        v.withUnsafeMutableBufferPointer { L1Rescale.apply($0, normsBefore: before, segments: segments) }
        XCTAssertEqual(v, [1 * 1.4, 0, 0, 4 * 1.4, 1, 0, 0, 0])
        // A tensor dropped to nothing stays 0 (mergekit's ε guard), and the others are unaffected.
        var w: [Float] = [0, 0, 3, 1]
        w.withUnsafeMutableBufferPointer { L1Rescale.apply($0, normsBefore: [2, 8], segments: [0..<2, 2..<4]) }
        XCTAssertEqual(w, [0, 0, 6, 2])
    }

    func testTiesRescaleIsOptInAndDareRescaleCanBeTurnedOff() {
        let base = [Float](repeating: 0, count: 6)
        let t: [Float] = [4, -1, 2, 0.5, -3, 1]                // L1 11.5; density 0.5 keeps 4, 2, -3 (L1 9)
        let trimmed = Merge.ties(base: base, models: [t], densities: [0.5])
        XCTAssertEqual(trimmed, [4, 0, 2, 0, -3, 0], "ties: rescale defaults to false")
        let recipe = MergeRecipe(method: .ties, weights: [1], densities: [0.5], rescale: true)
        let scale = Float(11.5) / Float(9)
        XCTAssertEqual(Merge.merge(branches: [t], base: base, recipe: recipe), [4 * scale, 0, 2 * scale, 0, -3 * scale, 0])
        let unscaled = Merge.dare(base: base, models: [t], densities: [0.5], seed: 3, rescale: false)
        for i in 0..<6 { XCTAssertTrue(unscaled[i] == 0 || unscaled[i] == t[i], "\(unscaled)") }
        XCTAssertEqual(MergeRecipe(method: .dareLinear, weights: [1]).rescale, true)
        XCTAssertEqual(MergeRecipe(method: .ties, weights: [1]).rescale, false)
    }

    func testNegativeWeightsSubtractTaskVectors() throws {
        let base: [Float] = [1, 1, 1], a: [Float] = [2, 0, 1], b: [Float] = [1, 3, 3]
        // Task negation: base + τ_a − τ_b = [1, 1, 1] + [1, −1, 0] − [0, 2, 2].
        let negation = MergeRecipe(method: .taskArithmetic, weights: [1, -1])
        try negation.validate()
        XCTAssertEqual(Merge.merge(branches: [a, b], base: base, recipe: negation), [2, -2, -1])
        XCTAssertEqual(Merge.linear([a, b], weights: [1.5, -0.5], normalize: false), [2.5, -1.5, 0])
        XCTAssertThrowsError(try MergeRecipe(method: .linear, weights: [1, -1]).validate()) { error in
            XCTAssertTrue("\(error)".contains("a nonzero sum of weights"), "\(error)")
        }
        XCTAssertThrowsError(try MergeRecipe(method: .ties, weights: [1, .nan]).validate())
    }
}
