import Comm

/// Named numbers that add up across micro-batches, mini-batches and ranks
/// (sums) or take the largest value (maxima). Reductions go by key, in
/// sorted key order, so every rank must hold the same keys.
struct MetricSums {
    /// Values that add.
    var sums: [String: Double] = [:]
    /// Values that take the maximum (store −x for a minimum).
    var maxima: [String: Double] = [:]

    /// Adds `value` to `key`.
    mutating func add(_ key: String, _ value: Double) { sums[key, default: 0] += value }

    /// Raises `key` to at least `value`.
    mutating func raise(_ key: String, _ value: Double) { maxima[key] = max(maxima[key] ?? -.infinity, value) }

    /// Adds `other`'s sums and takes the larger of the maxima.
    mutating func merge(_ other: MetricSums) {
        for (k, v) in other.sums { add(k, v) }
        for (k, v) in other.maxima { raise(k, v) }
    }

    /// The sums added and the maxima taken over `comm` (every rank gets the result).
    func allreduced(over comm: Communicator) throws -> MetricSums {
        guard comm.size > 1 else { return self }
        let sumKeys = sums.keys.sorted(), maxKeys = maxima.keys.sorted()
        var out = MetricSums()
        if !sumKeys.isEmpty {
            let s = try comm.allreduceSum(sumKeys.map { sums[$0]! })
            for (k, v) in zip(sumKeys, s) { out.sums[k] = v }
        }
        if !maxKeys.isEmpty {
            let m = try comm.allreduceMax(maxKeys.map { maxima[$0]! })
            for (k, v) in zip(maxKeys, m) { out.maxima[k] = v }
        }
        return out
    }

    /// `key`'s sum (0 when absent).
    subscript(key: String) -> Double { sums[key] ?? 0 }
}
