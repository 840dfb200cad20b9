import Checkpoint
import Foundation
import TestSupport
import XCTest

/// Asserts that `body` throws a `CheckpointError` (of `kind`, when given) whose description contains every fragment.
func assertCheckpointError<T>(_ body: @autoclosure () throws -> T, kind: CheckpointError.Kind? = nil,
                              mentions fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
    assertThrows(try body(), CheckpointError.self, mentions: fragments, file: file, line: line) { error in
        if let kind { XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line) }
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
