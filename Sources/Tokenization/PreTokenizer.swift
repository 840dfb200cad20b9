/// How text is cut into words ("pre-tokens") before byte-level BPE runs on
/// each word.
public enum PreTokenizerKind: String, Sendable, CaseIterable {
    /// GPT-2's split, the regex
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// SmolLM's split: every `\p{N}` character first becomes a pre-token of
    /// its own (Hugging Face `Digits(individual_digits: true)`), then the
    /// GPT-2 regex runs on each piece between digits.
    case smollm
}

extension PreTokenizerKind {
    /// The words (pre-tokens) of `text`, in order, before byte-level BPE;
    /// joined they give back `text`. Special tokens are not recognised here.
    public func split(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var scratch = PreTokenizer.Scratch()
        var words: [String] = []
        PreTokenizer(kind: self).split(bytes, 0..<bytes.count, scratch: &scratch) { range in
            words.append(String(decoding: bytes[range], as: UTF8.self))
        }
        return words
    }
}

/// Hand-written matcher for the GPT-2 pre-tokenizer regex over Unicode
/// scalars, with exact lookahead semantics and no regex engine.
struct PreTokenizer: Sendable {
    /// The split rules to apply.
    let kind: PreTokenizerKind

    /// Reusable per-call buffers, so splitting does not allocate per segment.
    struct Scratch {
        /// Byte offset of each scalar of the current segment, plus its end.
        var starts: [Int] = []
        /// `ScalarClass` raw value of each scalar of the current segment.
        var classes: [UInt8] = []
    }

    /// Calls `body` with the byte range of each pre-token of `bytes[range]`,
    /// in order. `bytes` must be valid UTF-8 (it comes from a `String`).
    func split(_ bytes: [UInt8], _ range: Range<Int>, scratch: inout Scratch,
               _ body: (Range<Int>) -> Void) {
        decodeScalars(bytes, range, into: &scratch)
        let count = scratch.classes.count
        switch kind {
        case .gpt2:
            splitRegex(bytes, 0, count, scratch, body)
        case .smollm:
            var pieceStart = 0
            for k in 0..<count where scratch.classes[k] == ScalarClass.number.rawValue {
                splitRegex(bytes, pieceStart, k, scratch, body)
                body(scratch.starts[k]..<scratch.starts[k + 1])
                pieceStart = k + 1
            }
            splitRegex(bytes, pieceStart, count, scratch, body)
        }
    }

    /// Runs the GPT-2 regex over scalars `lo..<hi`, treating `hi` as the end
    /// of the string (which is what `(?!\S)` sees there).
    private func splitRegex(_ bytes: [UInt8], _ lo: Int, _ hi: Int, _ scratch: Scratch,
                            _ body: (Range<Int>) -> Void) {
        var i = lo
        while i < hi {
            let end = matchEnd(bytes, i, hi, scratch)
            body(scratch.starts[i]..<scratch.starts[end])
            i = end
        }
    }

    /// The end (exclusive scalar index) of the regex match starting at `i`.
    private func matchEnd(_ bytes: [UInt8], _ i: Int, _ hi: Int, _ scratch: Scratch) -> Int {
        let classes = scratch.classes
        /// The scalar at index `k` if it is ASCII, else 0.
        func ascii(_ k: Int) -> UInt8 {
            let byte = bytes[scratch.starts[k]]
            return byte < 0x80 ? byte : 0
        }
        /// First index at or after `k` whose class differs from `cls`.
        func run(from k: Int, _ cls: UInt8) -> Int {
            var j = k
            while j < hi && classes[j] == cls { j += 1 }
            return j
        }
        let first = ascii(i)
        // 's|'t|'re|'ve|'m|'ll|'d
        if first == UInt8(ascii: "'") && i + 1 < hi {
            let c1 = ascii(i + 1)
            switch c1 {
            case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
                return i + 2
            case UInt8(ascii: "r"), UInt8(ascii: "v"):
                if i + 2 < hi && ascii(i + 2) == UInt8(ascii: "e") { return i + 3 }
            case UInt8(ascii: "l"):
                if i + 2 < hi && ascii(i + 2) == UInt8(ascii: "l") { return i + 3 }
            default:
                break
            }
        }
        let cls = classes[i]
        let whitespace = ScalarClass.whitespace.rawValue
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+` (the optional space is U+0020 only)
        if cls != whitespace {
            return run(from: i, cls)
        }
        if first == UInt8(ascii: " ") && i + 1 < hi && classes[i + 1] != whitespace {
            return run(from: i + 1, classes[i + 1])
        }
        // `\s+(?!\S)` then `\s+`
        let runEnd = run(from: i, whitespace)
        if runEnd == hi { return runEnd }
        return runEnd - i >= 2 ? runEnd - 1 : runEnd
    }

    /// Fills `scratch` with the scalar offsets and classes of `bytes[range]`.
    private func decodeScalars(_ bytes: [UInt8], _ range: Range<Int>, into scratch: inout Scratch) {
        scratch.starts.removeAll(keepingCapacity: true)
        scratch.classes.removeAll(keepingCapacity: true)
        var p = range.lowerBound
        let end = range.upperBound
        while p < end {
            let b0 = bytes[p]
            var length = 1
            var value = UInt32(b0)
            if b0 >= 0xF0 {
                length = 4; value = UInt32(b0 & 0x07)
            } else if b0 >= 0xE0 {
                length = 3; value = UInt32(b0 & 0x0F)
            } else if b0 >= 0xC0 {
                length = 2; value = UInt32(b0 & 0x1F)
            }
            if p + length > end {
                length = end - p
                value = 0xFFFD  // cannot happen for String input; stay safe anyway
            } else if length > 1 {
                for k in 1..<length { value = (value << 6) | UInt32(bytes[p + k] & 0x3F) }
            }
            scratch.starts.append(p)
            scratch.classes.append(ScalarClass.of(value).rawValue)
            p += length
        }
        scratch.starts.append(end)
    }
}

/// The character classes the GPT-2 regex distinguishes.
enum ScalarClass: UInt8 {
    /// `\p{L}`: general categories Lu, Ll, Lt, Lm, Lo.
    case letter
    /// `\p{N}`: general categories Nd, Nl, No.
    case number
    /// `\s`: the Unicode White_Space property.
    case whitespace
    /// Everything else (`[^\s\p{L}\p{N}]`), including combining marks.
    case other

    /// Classes of U+0000…U+07FF, precomputed (covers ASCII, Latin, Greek, Cyrillic…).
    private static let table: [UInt8] = (0..<0x800).map { value in
        Unicode.Scalar(UInt32(value)).map { classify($0).rawValue } ?? ScalarClass.other.rawValue
    }

    /// The class of the scalar with value `value` (invalid values are `.other`).
    @inline(__always)
    static func of(_ value: UInt32) -> ScalarClass {
        if value < 0x800 { return ScalarClass(rawValue: table[Int(value)]) ?? .other }
        guard let scalar = Unicode.Scalar(value) else { return .other }
        return classify(scalar)
    }

    private static func classify(_ scalar: Unicode.Scalar) -> ScalarClass {
        let properties = scalar.properties
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }
}
