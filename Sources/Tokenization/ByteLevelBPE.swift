import Foundation

/// A GPT-2 style byte-level BPE tokenizer (GPT-2, SmolLM, …).
///
/// Text is first cut at special tokens (matched literally, longest first),
/// then each remaining piece is split into words by the pre-tokenizer, each
/// word's UTF-8 bytes become byte tokens, and merges are applied lowest rank
/// first (leftmost first among equal ranks), exactly as Hugging Face
/// `tokenizers` does. Any string whose bytes all have tokens (see
/// `unencodableBytes`) round-trips through `encode` and `decode`.
///
/// Instances are immutable apart from an internal, thread-safe word cache and
/// may be shared across tasks.
public struct ByteLevelBPE: Sendable {
    /// Number of token ids (`0..<vocabSize`).
    public var vocabSize: Int { tokens.count }

    /// The rules used to cut text into words.
    public let preTokenizer: PreTokenizerKind

    /// Every special token string and its id. Special tokens are matched
    /// literally in the text by `encode(_:allowSpecial:)` with `allowSpecial`.
    public let specialTokenIDs: [String: Int32]

    /// Bytes that have no single-byte token (SmolLM lacks a few control
    /// bytes such as 0x04 and the never-used UTF-8 lead bytes 0xC0, 0xC1,
    /// 0xF1, 0xF2, 0xF5…0xFF). Like Hugging Face without an `unk_token`,
    /// `encode` drops them, so text containing them does not round-trip.
    public let unencodableBytes: [UInt8]

    let tokens: [String]
    private let idForToken: [String: Int32]
    private let tokenBytes: [[UInt8]]
    private let byteIDs: [Int32]
    private let merges: [UInt64: MergeEntry]
    /// Special tokens grouped by their first UTF-8 byte, longest first.
    private let specialsByFirstByte: [[SpecialToken]]
    private let cache = WordCache(capacity: 200_000)

    /// Creates a tokenizer from a vocabulary and a merge list, as stored in
    /// GGUF files (`tokenizer.ggml.tokens`, `.merges`, `.token_type`).
    ///
    /// - Parameters:
    ///   - tokens: `tokens[i]` is the byte-level string of token id `i`
    ///     (GPT-2 `bytes_to_unicode` alphabet). Bytes without a
    ///     single-byte token are dropped by `encode` (see `unencodableBytes`).
    ///   - merges: `"a b"` strings in priority order (index = rank); `a`, `b`
    ///     and `ab` must all be tokens.
    ///   - tokenTypes: GGUF token types, one per token; control (3) and
    ///     user-defined (4) tokens are special. Tokens of the form `<|…|>` are
    ///     special whatever their type.
    ///   - preTokenizer: how text is cut into words.
    /// - Throws: `TokenizationError` describing the first inconsistency found.
    public init(tokens: [String], merges: [String], tokenTypes: [Int32]? = nil,
                preTokenizer: PreTokenizerKind) throws {
        if let tokenTypes, tokenTypes.count != tokens.count {
            throw TokenizationError(
                "token types: expected one type per token (\(tokens.count)), found \(tokenTypes.count); "
                    + "pass the token_type array that belongs to this vocabulary, or nil")
        }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizationError(
                    "merge #\(rank) \(merge.debugDescription): expected two tokens separated by a single space "
                        + "(like \"Ġ t\"); check that the merge list is the one belonging to this vocabulary")
            }
            pairs.append((String(parts[0]), String(parts[1])))
        }
        var special = Set<Int32>()
        for (index, token) in tokens.enumerated() {
            let type = tokenTypes?[index] ?? 1
            let looksSpecial = token.count > 4 && token.hasPrefix("<|") && token.hasSuffix("|>")
            if type == 3 || type == 4 || looksSpecial { special.insert(Int32(index)) }
        }
        try self.init(tokens: tokens, mergePairs: pairs, specialIDs: special, preTokenizer: preTokenizer)
    }

    /// The designated initializer: `mergePairs[rank]` is the pair merged at
    /// that rank, `specialIDs` the ids matched literally in text.
    init(tokens: [String], mergePairs: [(String, String)], specialIDs: Set<Int32>,
         preTokenizer: PreTokenizerKind) throws {
        guard !tokens.isEmpty, tokens.count < Int(Int32.max) else {
            throw TokenizationError(
                "vocabulary: expected between 1 and \(Int32.max - 1) tokens, found \(tokens.count); "
                    + "check that the token list was read from the right file")
        }
        var idForToken: [String: Int32] = [:]
        idForToken.reserveCapacity(tokens.count)
        for (index, token) in tokens.enumerated() where idForToken[token] == nil {
            idForToken[token] = Int32(index)
        }
        var byteIDs = [Int32](repeating: -1, count: 256)
        var missing: [UInt8] = []
        for byte in 0..<256 {
            let stand = ByteLevelAlphabet.string(forByte: UInt8(byte))
            if let id = idForToken[stand] { byteIDs[byte] = id } else { missing.append(UInt8(byte)) }
        }
        guard missing.count < 128 else {
            throw TokenizationError(
                "vocabulary: a byte-level BPE vocabulary has a token for (nearly) each of the 256 bytes "
                    + "in the GPT-2 bytes_to_unicode alphabet, but \(missing.count) are missing, e.g. "
                    + missing.prefix(5).map { ByteLevelAlphabet.string(forByte: $0).debugDescription }
                        .joined(separator: ", ")
                    + "; this is not a byte-level vocabulary, load it with a matching tokenizer")
        }
        var merges: [UInt64: MergeEntry] = [:]
        merges.reserveCapacity(mergePairs.count)
        for (rank, (left, right)) in mergePairs.enumerated() {
            func missing(_ role: String, _ token: String) -> TokenizationError {
                TokenizationError(
                    "merge #\(rank) \"\(left) \(right)\": its \(role) \(token.debugDescription) is not in the "
                        + "vocabulary; expected every merge to join two vocabulary tokens into a third. "
                        + "The merges and the vocabulary do not belong together: load both from the same model")
            }
            guard let leftID = idForToken[left] else { throw missing("left token", left) }
            guard let rightID = idForToken[right] else { throw missing("right token", right) }
            guard let mergedID = idForToken[left + right] else { throw missing("merged token", left + right) }
            let key = Self.pairKey(leftID, rightID)
            if merges[key] == nil { merges[key] = MergeEntry(rank: Int32(rank), id: mergedID) }
        }
        var specialsByFirstByte = [[SpecialToken]](repeating: [], count: 256)
        var specialTokenIDs: [String: Int32] = [:]
        for id in specialIDs.sorted() {
            guard id >= 0 && Int(id) < tokens.count else {
                throw TokenizationError(
                    "special tokens: expected ids in 0..<\(tokens.count), found \(id); "
                        + "check the added tokens against the vocabulary")
            }
            let text = tokens[Int(id)]
            let bytes = Array(text.utf8)
            guard let first = bytes.first else { continue }
            specialTokenIDs[text] = id
            specialsByFirstByte[Int(first)].append(SpecialToken(bytes: bytes, id: id))
        }
        for index in specialsByFirstByte.indices {
            specialsByFirstByte[index].sort { $0.bytes.count > $1.bytes.count }
        }
        self.tokens = tokens
        self.idForToken = idForToken
        // Special tokens are raw text (they are matched literally), so they
        // decode to their own UTF-8 bytes; the rest are byte-level strings.
        self.tokenBytes = tokens.enumerated().map { index, token in
            specialIDs.contains(Int32(index)) ? Array(token.utf8) : ByteLevelAlphabet.bytes(of: token)
        }
        self.byteIDs = byteIDs
        self.merges = merges
        self.specialsByFirstByte = specialsByFirstByte
        self.specialTokenIDs = specialTokenIDs
        self.preTokenizer = preTokenizer
        self.unencodableBytes = missing
    }

    /// The id of the token whose vocabulary string is `token`, if any.
    public func id(of token: String) -> Int32? { idForToken[token] }

    /// The vocabulary string (byte-level encoded) of token `id`, if it exists.
    public func tokenString(_ id: Int32) -> String? {
        id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : nil
    }

    /// Whether `id` is a special token (matched literally in text).
    public func isSpecial(_ id: Int32) -> Bool {
        guard let text = tokenString(id) else { return false }
        return specialTokenIDs[text] == id
    }

    /// Token ids for `text`.
    ///
    /// - Parameter allowSpecial: when true, special-token strings in `text`
    ///   (such as `<|im_start|>`) become their single ids; when false they are
    ///   encoded as ordinary text.
    public func encode(_ text: String, allowSpecial: Bool = true) -> [Int32] {
        let bytes = Array(text.utf8)
        var ids: [Int32] = []
        ids.reserveCapacity(bytes.count / 3 + 1)
        var scratch = PreTokenizer.Scratch()
        guard allowSpecial && !specialTokenIDs.isEmpty else {
            encodeSegment(bytes, 0..<bytes.count, &scratch, &ids)
            return ids
        }
        var segmentStart = 0
        var p = 0
        while p < bytes.count {
            if let special = matchSpecial(bytes, at: p) {
                encodeSegment(bytes, segmentStart..<p, &scratch, &ids)
                ids.append(special.id)
                p += special.bytes.count
                segmentStart = p
            } else {
                p += 1
            }
        }
        encodeSegment(bytes, segmentStart..<bytes.count, &scratch, &ids)
        return ids
    }

    /// The raw bytes that `ids` stand for. Ids outside the vocabulary give
    /// the UTF-8 bytes of U+FFFD. Useful for streaming, where a token can end
    /// in the middle of a multi-byte character.
    public func decodeBytes(_ ids: [Int32]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        for id in ids {
            if id >= 0 && Int(id) < tokenBytes.count {
                out.append(contentsOf: tokenBytes[Int(id)])
            } else {
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
            }
        }
        return out
    }

    /// The text that `ids` stand for; invalid UTF-8 sequences become U+FFFD.
    /// `decode(encode(s))` is exactly `s` for every string `s`.
    public func decode(_ ids: [Int32]) -> String {
        String(decoding: decodeBytes(ids), as: UTF8.self)
    }

    // MARK: - Internals

    /// Pre-tokenizes `bytes[segment]` (text without special tokens) and
    /// appends the BPE ids of each word.
    private func encodeSegment(_ bytes: [UInt8], _ segment: Range<Int>,
                               _ scratch: inout PreTokenizer.Scratch, _ ids: inout [Int32]) {
        guard !segment.isEmpty else { return }
        PreTokenizer(kind: preTokenizer).split(bytes, segment, scratch: &scratch) { word in
            appendWord(bytes, word, to: &ids)
        }
    }

    /// The longest special token starting at byte offset `p`, if any.
    private func matchSpecial(_ bytes: [UInt8], at p: Int) -> SpecialToken? {
        let candidates = specialsByFirstByte[Int(bytes[p])]
        guard !candidates.isEmpty else { return nil }
        candidateLoop: for candidate in candidates {
            let length = candidate.bytes.count
            guard p + length <= bytes.count else { continue }
            for k in 1..<max(length, 1) where bytes[p + k] != candidate.bytes[k] {
                continue candidateLoop
            }
            return candidate
        }
        return nil
    }

    /// Appends the BPE tokens of the word `bytes[word]` to `ids`.
    private func appendWord(_ bytes: [UInt8], _ word: Range<Int>, to ids: inout [Int32]) {
        if word.count == 1 {
            let id = byteIDs[Int(bytes[word.lowerBound])]
            if id >= 0 { ids.append(id) }
            return
        }
        let key = Array(bytes[word])
        if let cached = cache.value(for: key) {
            ids.append(contentsOf: cached)
            return
        }
        let result = applyMerges(key)
        cache.insert(result, for: key)
        ids.append(contentsOf: result)
    }

    /// Runs the merge loop on one word (Hugging Face's priority-queue
    /// algorithm: lowest rank first, then leftmost position).
    private func applyMerges(_ word: [UInt8]) -> [Int32] {
        var symbols = word.compactMap { byte -> Int32? in
            let id = byteIDs[Int(byte)]
            return id >= 0 ? id : nil
        }
        let count = symbols.count
        guard count > 1 else { return symbols }
        var previous = Array(-1..<(count - 1))
        var next = Array(1...count)
        next[count - 1] = -1
        var alive = [Bool](repeating: true, count: count)
        var queue = MergeQueue()
        for i in 0..<(count - 1) {
            if let merge = merges[Self.pairKey(symbols[i], symbols[i + 1])] {
                queue.push(MergeCandidate(rank: merge.rank, position: i, id: merge.id))
            }
        }
        while let top = queue.pop() {
            let position = top.position
            guard alive[position] else { continue }
            let right = next[position]
            guard right >= 0,
                  let current = merges[Self.pairKey(symbols[position], symbols[right])],
                  current.id == top.id else { continue }
            symbols[position] = top.id
            alive[right] = false
            let afterRight = next[right]
            next[position] = afterRight
            if afterRight >= 0 { previous[afterRight] = position }
            let before = previous[position]
            if before >= 0, let merge = merges[Self.pairKey(symbols[before], top.id)] {
                queue.push(MergeCandidate(rank: merge.rank, position: before, id: merge.id))
            }
            if afterRight >= 0, let merge = merges[Self.pairKey(top.id, symbols[afterRight])] {
                queue.push(MergeCandidate(rank: merge.rank, position: position, id: merge.id))
            }
        }
        var result: [Int32] = []
        var index = 0
        while index >= 0 {
            result.append(symbols[index])
            index = next[index]
        }
        return result
    }

    @inline(__always)
    private static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }
}

/// The rank of a merge and the id of the token it produces.
struct MergeEntry: Sendable {
    let rank: Int32
    let id: Int32
}

/// A special token's UTF-8 bytes and id.
struct SpecialToken: Sendable {
    let bytes: [UInt8]
    let id: Int32
}
