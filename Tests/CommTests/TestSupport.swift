import Foundation
import XCTest
@testable import Comm

/// Thread-safe per-rank result slots for bodies run by `LoopbackWorld.run`.
final class PerRank<T> {
    private let lock = NSLock()
    private var slots: [T?]
    init(_ size: Int) { slots = Array(repeating: nil, count: size) }
    func set(_ rank: Int, _ value: T) { lock.lock(); slots[rank] = value; lock.unlock() }
    var values: [T?] { lock.lock(); defer { lock.unlock() }; return slots }
}

/// An error thrown on purpose by a test rank.
struct InjectedFailure: Error, CustomStringConvertible {
    let rank: Int
    var description: String { "injected failure on rank \(rank)" }
}

/// The world sizes every collective is checked with.
let worldSizes = [1, 2, 3, 4]

/// Segment layouts for `size` ranks: balanced with a remainder, with empty segments, all empty.
func segmentLayouts(size: Int) -> [[Int]] {
    var layouts = [shardCounts(total: 4 * size + 3, parts: size)]
    layouts.append((0..<size).map { $0 % 2 == 0 ? 0 : 2 * $0 + 1 })   // rank 0 (and other evens) empty
    layouts.append(Array(repeating: 0, count: size))
    layouts.append(Array(repeating: 5, count: size))                  // equal counts
    return layouts
}
