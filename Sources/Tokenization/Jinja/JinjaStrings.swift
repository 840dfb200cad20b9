/// Python `str` methods on Unicode scalars (Python strings index code points).
enum JinjaStrings {
    /// Python's `str.isspace()` for one code point.
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
    }

    /// `strip`/`lstrip`/`rstrip` with optional character set (whitespace when nil).
    static func strip(_ s: String, _ chars: String?, leading: Bool, trailing: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        func drop(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? isSpace(c) }
        var scalars = Substring(s).unicodeScalars[...]
        if leading { while let f = scalars.first, drop(f) { scalars.removeFirst() } }
        if trailing { while let l = scalars.last, drop(l) { scalars.removeLast() } }
        return String(String.UnicodeScalarView(scalars))
    }

    /// `str.split(sep, maxsplit)`: on runs of whitespace without empty parts when `sep` is nil.
    static func split(_ s: String, _ sep: String?, maxSplit: Int) -> [String] {
        let scalars = Array(s.unicodeScalars)
        func text(_ r: Range<Int>) -> String { String(String.UnicodeScalarView(scalars[r])) }
        var parts: [String] = []
        if let sep {
            let needle = Array(sep.unicodeScalars)
            var start = 0, i = 0
            while i + needle.count <= scalars.count, maxSplit < 0 || parts.count < maxSplit {
                if Array(scalars[i..<i + needle.count]) == needle {
                    parts.append(text(start..<i))
                    i += needle.count
                    start = i
                } else {
                    i += 1
                }
            }
            parts.append(text(start..<scalars.count))
            return parts
        }
        var i = 0
        while i < scalars.count {
            while i < scalars.count, isSpace(scalars[i]) { i += 1 }
            guard i < scalars.count else { break }
            if maxSplit >= 0, parts.count == maxSplit {
                var end = scalars.count
                while end > i, isSpace(scalars[end - 1]) { end -= 1 }
                parts.append(text(i..<end))
                break
            }
            let start = i
            while i < scalars.count, !isSpace(scalars[i]) { i += 1 }
            parts.append(text(start..<i))
        }
        return parts
    }

    /// `str.replace(old, new, count)`; an empty `old` inserts `new` between characters, as Python does.
    static func replace(_ s: String, _ old: String, _ new: String, count: Int?) -> String {
        let limit = count.flatMap { $0 < 0 ? nil : $0 } ?? Int.max
        if old.isEmpty {
            var out = limit > 0 ? new : ""
            var done = limit > 0 ? 1 : 0
            for c in s.unicodeScalars {
                out.unicodeScalars.append(c)
                if done < limit { out += new; done += 1 }
            }
            return out
        }
        let parts = split(s, old, maxSplit: limit == Int.max ? -1 : limit)
        return parts.joined(separator: new)
    }

    /// `str.title()`: first letter of each alphabetic run upper-cased, the rest lower-cased.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            let ch = String(c)
            out += previousCased ? ch.lowercased() : ch.uppercased()
            previousCased = c.properties.isCased
        }
        return out
    }
}

extension String {
    /// The string without leading and trailing Python whitespace.
    func trimmingWhitespace() -> String { JinjaStrings.strip(self, nil, leading: true, trailing: true) }
}
