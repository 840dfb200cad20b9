/// The work counter of one render, charged by every operation in proportion
/// to the data it touches and checked against `JinjaLimits.maxWorkUnits`. A
/// class so that the evaluator's non-mutating helpers can charge it too.
final class JinjaBudget {
    private var used = 0

    /// Adds `units` of work; throws a `.limit` error past the budget.
    func charge(_ units: Int) throws {
        used += units
        guard used <= JinjaLimits.maxWorkUnits else {
            throw JinjaError(.limit, "expected at most \(JinjaLimits.maxWorkUnits) units of work in one render "
                + "(evaluations, items visited, 16-byte blocks scanned), found more; the template computes too much")
        }
    }

    /// Charges for scanning a string of `bytes` UTF-8 bytes.
    func chargeScan(bytes: Int) throws { try charge(1 + bytes / 16) }
}

extension JinjaEvaluator {
    /// Python `==`, charging the budget for every item and string it compares.
    func equals(_ a: JinjaValue, _ b: JinjaValue) throws -> Bool {
        try budget.charge(1)
        switch (a, b) {
        case (.string(let x), .string(let y)):
            try budget.chargeScan(bytes: min(x.utf8.count, y.utf8.count))
            return x == y
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            for (p, q) in zip(x, y) where !(try equals(p, q)) { return false }
            return true
        case (.object(let x), .object(let y)):
            guard x.keys.count == y.keys.count else { return false }
            for k in x.keys {
                guard let p = x[k], let q = y[k], try equals(p, q) else { return false }
            }
            return true
        default:
            return a.pythonEquals(b)
        }
    }

    /// A list the template built, after checking `JinjaLimits.maxListLength`.
    func checkedList(_ items: [JinjaValue]) throws -> JinjaValue {
        guard items.count <= JinjaLimits.maxListLength else {
            throw JinjaError(.limit, "expected lists of at most \(JinjaLimits.maxListLength) items, found one of "
                + "\(items.count) being built", line: line)
        }
        try budget.charge(items.count)
        return .array(items)
    }
}
