import Foundation

/// Thrown inside a check when its time budget is spent.
struct BudgetExceeded: Error {}

/// A cooperative time budget: loops over input call `tick()`, which reads the
/// monotonic clock every 1024 calls, and stages call `check()`. Cooperative
/// rather than a watchdog thread, so a timed-out check really stops (a thread
/// cannot be killed) and results are deterministic for a zero budget.
struct Budget {
    private let deadline: UInt64
    private var counter = 0

    /// A budget of `seconds` from now; zero or negative is already spent.
    init(seconds: Double) {
        let now = DispatchTime.now().uptimeNanoseconds
        deadline = seconds > 0 ? now &+ UInt64(min(seconds, 1e6) * 1e9) : now
    }

    /// A budget that never runs out, for the non-throwing convenience API.
    static var unlimited: Budget { Budget(seconds: 1e6) }

    /// Throws `BudgetExceeded` once the deadline has passed.
    func check() throws {
        if DispatchTime.now().uptimeNanoseconds >= deadline { throw BudgetExceeded() }
    }

    /// Counts one unit of work; checks the clock every 1024 units.
    mutating func tick() throws {
        counter &+= 1
        if counter & 1023 == 0 { try check() }
    }
}

/// Pulling the final answer out of a model response.
public enum AnswerExtraction {
    /// The content of the last `\boxed{…}` (or `\fbox{…}`) in `text`, braces
    /// matched so nested groups such as `\boxed{\frac{1}{2}}` come out whole;
    /// `\boxed 5` (no braces) gives the token up to the next space or `$`.
    /// nil when there is none or its braces never close.
    public static func lastBoxed(in text: String) -> String? {
        var budget = Budget.unlimited
        return try? lastBoxed(Array(text.utf8), budget: &budget)
    }

    /// The number after the last `####` (GSM8K's answer marker), as written
    /// (`1,234`, `-5`, `3.5`); nil when there is no marker or no number after it.
    public static func afterHashes(in text: String) -> String? {
        var budget = Budget.unlimited
        return try? afterHashes(Array(text.utf8), budget: &budget)
    }

    /// The last number in `text` as written (`1,234`, `-0.5`, `.5`, `3/4`); nil when none.
    public static func lastNumber(in text: String) -> String? {
        var budget = Budget.unlimited
        return try? lastNumber(Array(text.utf8), from: 0, budget: &budget)
    }

    // MARK: Budgeted byte-level scanners (all linear in the input)

    static func lastBoxed(_ b: [UInt8], budget: inout Budget) throws -> String? {
        let markers: [[UInt8]] = [Array("\\boxed".utf8), Array("\\fbox".utf8)]
        var i = b.count - 1
        var found: (start: Int, length: Int)?
        search: while i >= 0 {
            try budget.tick()
            if b[i] == 0x5C {
                for m in markers where i + m.count <= b.count && b[i..<(i + m.count)].elementsEqual(m) {
                    found = (i, m.count); break search
                }
            }
            i -= 1
        }
        guard let (start, length) = found else { return nil }
        var j = start + length
        if j < b.count, b[j] == UInt8(ascii: "{") {
            var depth = 0
            let open = j
            while j < b.count {
                try budget.tick()
                if b[j] == UInt8(ascii: "{") { depth += 1 }
                if b[j] == UInt8(ascii: "}") {
                    depth -= 1
                    if depth == 0 { return String(decoding: b[(open + 1)..<j], as: UTF8.self) }
                }
                j += 1
            }
            return nil
        }
        guard j < b.count, b[j] == UInt8(ascii: " ") else { return nil }
        while j < b.count, b[j] == UInt8(ascii: " ") { j += 1 }
        let tokenStart = j
        while j < b.count, b[j] != UInt8(ascii: " "), b[j] != UInt8(ascii: "$"), b[j] != 0x0A { try budget.tick(); j += 1 }
        return j > tokenStart ? String(decoding: b[tokenStart..<j], as: UTF8.self) : nil
    }

    /// Start of the text after the last `####`, or nil.
    static func hashesEnd(_ b: [UInt8], budget: inout Budget) throws -> Int? {
        var i = b.count - 4
        while i >= 0 {
            try budget.tick()
            if b[i] == 0x23, b[i + 1] == 0x23, b[i + 2] == 0x23, b[i + 3] == 0x23 { return i + 4 }
            i -= 1
        }
        return nil
    }

    static func afterHashes(_ b: [UInt8], budget: inout Budget) throws -> String? {
        guard let start = try hashesEnd(b, budget: &budget) else { return nil }
        return try firstNumber(b, from: start, budget: &budget)
    }

    static func firstNumber(_ b: [UInt8], from: Int, budget: inout Budget) throws -> String? {
        var i = from
        while i < b.count {
            try budget.tick()
            if let r = numberToken(b, at: i) { return String(decoding: b[r], as: UTF8.self) }
            i += 1
        }
        return nil
    }

    static func lastNumber(_ b: [UInt8], from: Int, budget: inout Budget) throws -> String? {
        var i = from
        var last: Range<Int>?
        while i < b.count {
            try budget.tick()
            if let r = numberToken(b, at: i) { last = r; i = r.upperBound } else { i += 1 }
        }
        return last.map { String(decoding: b[$0], as: UTF8.self) }
    }

    /// The number token starting exactly at `i`: optional `-` (not after a
    /// digit, letter or `)`), digits with optional `,ddd` thousands groups,
    /// optional `.digits`, or `.digits` alone, then optional `/digits`.
    /// Tokens never start inside another number.
    static func numberToken(_ b: [UInt8], at i: Int) -> Range<Int>? {
        func isDigit(_ k: Int) -> Bool { k >= 0 && k < b.count && b[k] >= 0x30 && b[k] <= 0x39 }
        func isWordy(_ k: Int) -> Bool {
            guard k >= 0 && k < b.count else { return false }
            let c = b[k]
            return isDigit(k) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x29 || c == 0x2E
        }
        var j = i
        if j < b.count, b[j] == UInt8(ascii: "-") {
            guard !isWordy(j - 1) else { return nil }
            j += 1
        } else if isDigit(i - 1) || (i - 1 >= 0 && b[i - 1] == UInt8(ascii: ".") && isDigit(i - 2)) {
            return nil
        }
        guard isDigit(j) || (j < b.count && b[j] == UInt8(ascii: ".") && isDigit(j + 1)) else { return nil }
        if b[j] != UInt8(ascii: ".") {
            while isDigit(j) { j += 1 }
            while j < b.count, b[j] == UInt8(ascii: ","), isDigit(j + 1), isDigit(j + 2), isDigit(j + 3), !isDigit(j + 4) {
                j += 4
            }
        }
        if j < b.count, b[j] == UInt8(ascii: "."), isDigit(j + 1) {
            j += 1
            while isDigit(j) { j += 1 }
        }
        if j < b.count, b[j] == UInt8(ascii: "/"), isDigit(j + 1) {
            var k = j + 1
            while isDigit(k) { k += 1 }
            if !(k < b.count && b[k] == UInt8(ascii: ".") && isDigit(k + 1)) { j = k }
        }
        return i..<j
    }
}
