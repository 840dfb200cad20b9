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

    /// Byte offsets where `needle` (non-empty) occurs in `haystack`, left to
    /// right without overlaps, at most `limit` of them. Searching UTF-8 bytes
    /// finds exactly the code-point matches: a valid UTF-8 needle can only
    /// match at a character boundary.
    private static func occurrences(of needle: [UInt8], in haystack: [UInt8], limit: Int) -> [Int] {
        var found: [Int] = []
        var i = 0
        while i + needle.count <= haystack.count, found.count < limit {
            var j = 0
            while j < needle.count, haystack[i + j] == needle[j] { j += 1 }
            if j == needle.count {
                found.append(i)
                i += needle.count
            } else {
                i += 1
            }
        }
        return found
    }

    /// `str.split(sep, maxsplit)`: on runs of whitespace without empty parts when `sep` is nil.
    static func split(_ s: String, _ sep: String?, maxSplit: Int) -> [String] {
        if let sep {
            let bytes = Array(s.utf8), needle = Array(sep.utf8)
            var parts: [String] = []
            var start = 0
            for p in occurrences(of: needle, in: bytes, limit: maxSplit < 0 ? Int.max : maxSplit) {
                parts.append(String(decoding: bytes[start..<p], as: UTF8.self))
                start = p + needle.count
            }
            parts.append(String(decoding: bytes[start...], as: UTF8.self))
            return parts
        }
        let scalars = Array(s.unicodeScalars)
        func text(_ r: Range<Int>) -> String { String(String.UnicodeScalarView(scalars[r])) }
        var parts: [String] = []
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

    /// `str.replace(old, new, count)`; an empty `old` inserts `new` before
    /// every character and at the end, as Python does. Throws a `.limit` error,
    /// before building anything, when the result would exceed
    /// `JinjaLimits.maxOutputLength` bytes.
    static func replace(_ s: String, _ old: String, _ new: String, count: Int?) throws -> String {
        let limit = count.flatMap { $0 < 0 ? nil : $0 } ?? Int.max
        let bytes = Array(s.utf8), needle = Array(old.utf8), replacement = Array(new.utf8)
        let positions: [Int]
        if needle.isEmpty {
            // Before each character (its first UTF-8 byte) and at the end.
            let starts = bytes.indices.filter { bytes[$0] & 0xC0 != 0x80 } + [bytes.count]
            positions = Array(starts.prefix(limit))
        } else {
            positions = occurrences(of: needle, in: bytes, limit: limit)
        }
        let grown = positions.count.multipliedReportingOverflow(by: replacement.count)
        guard !grown.overflow, bytes.count + grown.partialValue <= JinjaLimits.maxOutputLength else {
            throw JinjaError(.limit, "expected replace to build at most \(JinjaLimits.maxOutputLength) bytes, "
                + "found \(positions.count) replacements of \(replacement.count) bytes")
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + grown.partialValue)
        var i = 0
        for p in positions {
            out.append(contentsOf: bytes[i..<p])
            out.append(contentsOf: replacement)
            i = p + needle.count
        }
        out.append(contentsOf: bytes[min(i, bytes.count)...])
        return String(decoding: out, as: UTF8.self)
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
