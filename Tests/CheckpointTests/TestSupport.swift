import Checkpoint
import Foundation
import XCTest

/// Deterministic 64-bit generator (SplitMix64) so fuzz cases replay exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Normal(0, scale) by Box–Muller.
    mutating func normal(_ scale: Float) -> Float {
        let u1 = max(Double(next() >> 11) * 0x1p-53, 0x1p-60), u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)) * scale
    }
    /// `n` normal(0, scale) floats, like freshly initialised weights.
    mutating func weights(_ n: Int, scale: Float = 0.02) -> [Float] { (0 ..< n).map { _ in normal(scale) } }
}

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("CheckpointTests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// Asserts that `body` throws a `CheckpointError` whose description contains every fragment.
func assertCheckpointError<T>(_ body: @autoclosure () throws -> T, kind: CheckpointError.Kind? = nil,
                              mentions fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected a CheckpointError mentioning \(fragments)", file: file, line: line)
    } catch let error as CheckpointError {
        if let kind { XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line) }
        for f in fragments {
            XCTAssertTrue(error.description.contains(f), "'\(error)' should mention '\(f)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected a CheckpointError, got \(error)", file: file, line: line)
    }
}

/// Writes a small shard (fp32 shuffled, bf16, fp32 unshuffled with a shape, bytes) and returns its path and contents.
func writeSmallShard(in dir: String, name: String = "small.shard",
                     options: ShardWriteOptions = ShardWriteOptions()) throws -> (path: String, params: [Float], moments: [Float], rng: [UInt8]) {
    var g = SplitMix64(seed: 7)
    let params = g.weights(96), moments = g.weights(40, scale: 1e-3)
    let rng = (0 ..< 24).map { _ in UInt8.random(in: 0 ... 255, using: &g) }
    let path = (dir as NSString).appendingPathComponent(name)
    let w = try ShardWriter(path: path, options: options)
    try w.add("model.params", floats: params)
    try w.add("optim.m", floats: moments, dtype: .bf16)
    try w.add("optim.v", floats: moments.map { $0 * $0 }, shape: [8, 5], shuffle: false)
    try w.add("state.rng", bytes: rng)
    try w.finish()
    return (path, params, moments, rng)
}
