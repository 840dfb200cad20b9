import Foundation

/// Binary operators with Python's semantics for the types templates use.
extension JinjaEvaluator {
    func checkedString(_ s: String) throws -> JinjaValue {
        guard s.utf8.count <= JinjaLimits.maxOutputLength else { throw tooLong() }
        return .string(s)
    }

    private func tooLong() -> JinjaError {
        JinjaError(.limit, "expected strings of at most \(JinjaLimits.maxOutputLength) bytes, found a longer "
            + "one being built", line: line)
    }

    private func typeError(_ op: String, _ a: JinjaValue, _ b: JinjaValue) -> JinjaError {
        if case .undefined(let n) = a { return undefinedError(n) }
        if case .undefined(let n) = b { return undefinedError(n) }
        return JinjaError(.runtime, "expected operands that support '\(op)', found \(a.typeName) and \(b.typeName); "
            + "convert with |string or |int", line: line)
    }

    func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws -> JinjaValue {
        switch op {
        case "==": return .bool(try equals(a, b))
        case "!=": return .bool(!(try equals(a, b)))
        case "<", ">", "<=", ">=":
            let order: Int
            if let x = a.number, let y = b.number {
                order = x < y ? -1 : (x > y ? 1 : 0)
            } else if case .string(let x) = a, case .string(let y) = b {
                let xs = Array(x.unicodeScalars).map(\.value), ys = Array(y.unicodeScalars).map(\.value)
                order = xs.lexicographicallyPrecedes(ys) ? -1 : (xs == ys ? 0 : 1)
            } else {
                throw typeError(op, a, b)
            }
            switch op {
            case "<": return .bool(order < 0)
            case ">": return .bool(order > 0)
            case "<=": return .bool(order <= 0)
            default: return .bool(order >= 0)
            }
        case "in", "not in":
            let found: Bool
            switch b {
            case .string(let s):
                guard case .string(let needle) = a else { throw typeError(op, a, b) }
                try budget.chargeScan(bytes: s.utf8.count * max(1, min(needle.utf8.count, 64)))
                found = needle.isEmpty || s.contains(needle)
            case .array(let items):
                var hit = false
                for item in items where try equals(item, a) { hit = true; break }
                found = hit
            case .object(let o):
                guard case .string(let key) = a else { found = false; break }
                found = o[key] != nil
            case .undefined: found = false
            default: throw typeError(op, a, b)
            }
            return .bool(op == "in" ? found : !found)
        case "~":
            return try checkedString(try JinjaFormatting.str(a) + JinjaFormatting.str(b))
        case "+":
            switch (a, b) {
            case (.string(let x), .string(let y)): return try checkedString(x + y)
            case (.array(let x), .array(let y)): return try checkedList(x + y)
            default: return try arithmetic(op, a, b)
            }
        case "*":
            if case .string(let s) = a, case .integer(let n) = b { return try repeatString(s, n) }
            if case .integer(let n) = a, case .string(let s) = b { return try repeatString(s, n) }
            return try arithmetic(op, a, b)
        default:
            return try arithmetic(op, a, b)
        }
    }

    private func repeatString(_ s: String, _ n: Int) throws -> JinjaValue {
        guard n > 0 else { return .string("") }
        let product = s.utf8.count.multipliedReportingOverflow(by: n)
        guard !product.overflow, product.partialValue <= JinjaLimits.maxOutputLength else { throw tooLong() }
        return .string(String(repeating: s, count: n))
    }

    private func arithmetic(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws -> JinjaValue {
        guard let x = a.number, let y = b.number else { throw typeError(op, a, b) }
        let bothInts: (Int, Int)? = {
            switch (a, b) {
            case (.integer(let i), .integer(let j)): return (i, j)
            case (.integer(let i), .bool(let q)): return (i, q ? 1 : 0)
            case (.bool(let p), .integer(let j)): return (p ? 1 : 0, j)
            case (.bool(let p), .bool(let q)): return (p ? 1 : 0, q ? 1 : 0)
            default: return nil
            }
        }()
        let zero = JinjaError(.runtime, "expected a non-zero divisor for '\(op)', found 0", line: line)
        if let (i, j) = bothInts {
            func checked(_ r: (partialValue: Int, overflow: Bool)) throws -> Int {
                guard !r.overflow else {
                    throw JinjaError(.runtime, "expected integer arithmetic within 64 bits, found an overflow in "
                        + "\(i) \(op) \(j)", line: line)
                }
                return r.partialValue
            }
            switch op {
            case "+": return .integer(try checked(i.addingReportingOverflow(j)))
            case "-": return .integer(try checked(i.subtractingReportingOverflow(j)))
            case "*": return .integer(try checked(i.multipliedReportingOverflow(by: j)))
            case "//", "%":
                guard j != 0 else { throw zero }
                guard !(i == Int.min && j == -1) else { return .integer(try checked((0, true))) }
                var q = i / j, r = i % j
                if r != 0, (r < 0) != (j < 0) { q -= 1; r += j }
                return .integer(op == "//" ? q : r)
            case "**":
                guard j >= 0 else { return .float(pow(Double(i), Double(j))) }
                if i == 0 || i == 1 { return .integer(j == 0 ? 1 : i) }
                if i == -1 { return .integer(j % 2 == 0 ? 1 : -1) }
                // |i| >= 2 overflows within 64 multiplications, so this loop is bounded.
                var result = 1
                for _ in 0..<j { result = try checked(result.multipliedReportingOverflow(by: i)) }
                return .integer(result)
            default: break
            }
        }
        switch op {
        case "+": return .float(x + y)
        case "-": return .float(x - y)
        case "*": return .float(x * y)
        case "/":
            guard y != 0 else { throw zero }
            return .float(x / y)
        case "//":
            guard y != 0 else { throw zero }
            return .float((x / y).rounded(.down))
        case "%":
            guard y != 0 else { throw zero }
            let r = x.truncatingRemainder(dividingBy: y)
            return .float(r != 0 && (r < 0) != (y < 0) ? r + y : r)
        case "**": return .float(pow(x, y))
        default:
            throw JinjaError(.runtime, "expected a known operator, found '\(op)'", line: line)
        }
    }
}

extension JinjaValue {
    /// The integer payload, if this is an int.
    var int: Int? {
        if case .integer(let i) = self { return i }
        return nil
    }
}
