/// Python methods on strings and dicts (`s.strip()`, `d.items()`, …) and the
/// global functions transformers gives chat templates.
extension JinjaEvaluator {
    private func stringArgument(_ v: JinjaValue?, _ what: String) throws -> String? {
        switch v {
        case nil, .none?: return nil
        case .string(let s)?: return s
        case let other?:
            throw JinjaError(.runtime, "expected a string for \(what), found a \(other.typeName)", line: line)
        }
    }

    mutating func callMethod(_ receiver: JinjaValue, _ method: String, _ positional: [JinjaValue],
                             _ keyword: [String: JinjaValue]) throws -> JinjaValue {
        func arg(_ i: Int, _ n: String) -> JinjaValue? { argument(positional, keyword, i, n) }
        switch receiver {
        case .string(let s):
            try budget.chargeScan(bytes: s.utf8.count)
            switch method {
            case "strip", "lstrip", "rstrip":
                let chars = try stringArgument(arg(0, "chars"), method)
                return .string(JinjaStrings.strip(s, chars, leading: method != "rstrip", trailing: method != "lstrip"))
            case "split":
                let sep = try stringArgument(arg(0, "sep"), "split")
                if sep == "" { throw JinjaError(.runtime, "expected a non-empty separator for split, found ''", line: line) }
                // At most maxListLength + 1 parts are made, so an over-long result is refused, not built.
                let requested = arg(1, "maxsplit")?.int ?? -1
                let cap = requested < 0 ? JinjaLimits.maxListLength : min(requested, JinjaLimits.maxListLength)
                return try checkedList(JinjaStrings.split(s, sep, maxSplit: cap).map { .string($0) })
            case "startswith", "endswith":
                let candidates: [JinjaValue]
                switch arg(0, "prefix") {
                case .array(let a)?: candidates = a
                case let v?: candidates = [v]
                case nil: candidates = []
                }
                for c in candidates {
                    guard let p = try stringArgument(c, method) else { continue }
                    if method == "startswith" ? s.unicodeScalars.starts(with: p.unicodeScalars)
                        : s.unicodeScalars.reversed().starts(with: p.unicodeScalars.reversed()) { return .bool(true) }
                }
                return .bool(false)
            case "upper": return .string(s.uppercased())
            case "lower": return .string(s.lowercased())
            case "title": return .string(JinjaStrings.title(s))
            case "capitalize": return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
            case "replace":
                guard let old = try stringArgument(arg(0, "old"), "replace"),
                      let new = try stringArgument(arg(1, "new"), "replace") else {
                    throw JinjaError(.runtime, "expected replace(old, new), found fewer arguments", line: line)
                }
                return .string(try JinjaStrings.replace(s, old, new, count: arg(2, "count")?.int))
            case "join":
                return .string(try JinjaFormatting.joined(try iterate(arg(0, "iterable") ?? .array([])), separator: s))
            default: break
            }
        case .object(let o):
            switch method {
            case "items": return try checkedList(o.keys.map { .array([.string($0), o[$0] ?? .none]) })
            case "keys": return .array(o.keys.map { .string($0) })
            case "values": return .array(o.keys.map { o[$0] ?? .none })
            case "get":
                guard case .string(let key)? = arg(0, "key") else { return arg(1, "default") ?? .none }
                return o[key] ?? arg(1, "default") ?? .none
            default: break
            }
        case .undefined(let n):
            throw undefinedError(n)
        default: break
        }
        throw JinjaError(.runtime, "expected a supported method, found \(receiver.typeName).\(method)(); strings "
            + "support strip, lstrip, rstrip, split, startswith, endswith, upper, lower, title, capitalize, replace, "
            + "join; dicts support items, keys, values, get", line: line)
    }

    mutating func callGlobal(_ name: String, _ positional: [JinjaValue], _ keyword: [String: JinjaValue]) throws
        -> JinjaValue {
        switch name {
        case "raise_exception":
            throw JinjaError(.raised, try JinjaFormatting.str(positional.first ?? .string("")), line: line)
        case "strftime_now":
            guard case .string(let pattern)? = positional.first else {
                throw JinjaError(.runtime, "expected strftime_now(format string), found no string", line: line)
            }
            return .string(try now().format(pattern))
        case "namespace", "dict":
            var o = JinjaObject()
            if case .object(let initial)? = positional.first { o = initial }
            for k in keyword.keys.sorted() { o[k] = keyword[k] }
            if name == "dict" { return try checkedNesting(.object(o)) }
            namespaces.append(o)
            return .namespace(namespaces.count - 1)
        case "range":
            let ints = positional.compactMap(\.int)
            guard ints.count == positional.count, (1...3).contains(ints.count) else {
                throw JinjaError(.runtime, "expected range(stop), range(start, stop) or range(start, stop, step) with "
                    + "integers, found \(positional.count) arguments", line: line)
            }
            let (start, stop, step) = ints.count == 1 ? (0, ints[0], 1) : (ints[0], ints[1], ints.count == 3 ? ints[2] : 1)
            guard step != 0 else { throw JinjaError(.runtime, "expected a non-zero range step, found 0", line: line) }
            let count = step > 0 ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
            guard count <= JinjaLimits.maxLoopIterations else {
                throw JinjaError(.limit, "expected a range of at most \(JinjaLimits.maxLoopIterations) items, found "
                    + "\(count)", line: line)
            }
            return .array((0..<count).map { .integer(start + $0 * step) })
        default:
            throw JinjaError(.runtime, "expected a supported global function, found '\(name)'", line: line)
        }
    }
}
