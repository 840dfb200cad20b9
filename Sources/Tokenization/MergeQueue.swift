import Foundation

/// A possible merge of the symbol at `position` with its right neighbour.
struct MergeCandidate {
    let rank: Int32
    let position: Int
    let id: Int32

    /// Lower rank first, then lower (more leftward) position.
    @inline(__always)
    func precedes(_ other: MergeCandidate) -> Bool {
        rank != other.rank ? rank < other.rank : position < other.position
    }
}

/// A binary min-heap of merge candidates ordered by `precedes`.
struct MergeQueue {
    private var items: [MergeCandidate] = []

    /// Adds a candidate.
    mutating func push(_ item: MergeCandidate) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].precedes(items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the first candidate, or nil when empty.
    mutating func pop() -> MergeCandidate? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        var parent = 0
        let count = items.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            var best = left
            if left + 1 < count && items[left + 1].precedes(items[left]) { best = left + 1 }
            guard items[best].precedes(items[parent]) else { break }
            items.swapAt(best, parent)
            parent = best
        }
        return top
    }
}

/// A bounded, thread-safe cache from a word's bytes to its BPE token ids.
/// When full it is emptied, which keeps memory bounded for endless input.
final class WordCache: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [[UInt8]: [Int32]] = [:]
    private let capacity: Int

    /// A cache holding at most `capacity` words.
    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The cached ids of `word`, if present.
    func value(for word: [UInt8]) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return storage[word]
    }

    /// Remembers `ids` as the encoding of `word`.
    func insert(_ ids: [Int32], for word: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        if storage.count >= capacity { storage.removeAll(keepingCapacity: true) }
        storage[word] = ids
    }
}
