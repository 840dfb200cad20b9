/// A character-level tokenizer for synthetic tasks.
///
/// Ids `0..<specials.count` are the special tokens (for example `<pad>`,
/// `<bos>`, `<eos>`), followed by one id per alphabet character in order.
public struct CharTokenizer: Sendable {
    /// The special token strings, in id order.
    public let specials: [String]
    /// The characters of the alphabet, in id order after the specials.
    public let alphabet: [Character]
    private let idForCharacter: [Character: Int32]

    /// Total number of ids: specials plus alphabet.
    public var vocabSize: Int { specials.count + alphabet.count }

    /// Creates a tokenizer over `alphabet` with `specials` first.
    /// - Throws: `TokenizationError` if a character or special repeats.
    public init(alphabet: [Character], specials: [String]) throws {
        var seenSpecials = Set<String>()
        for special in specials where !seenSpecials.insert(special).inserted {
            throw TokenizationError("CharTokenizer: expected distinct specials, found \(special.debugDescription) "
                + "twice in \(specials); remove the duplicate")
        }
        var ids: [Character: Int32] = [:]
        for (offset, character) in alphabet.enumerated() {
            guard ids[character] == nil else {
                throw TokenizationError("CharTokenizer: expected distinct alphabet characters, found "
                    + "\(String(character).debugDescription) twice; remove the duplicate")
            }
            ids[character] = Int32(specials.count + offset)
        }
        self.specials = specials
        self.alphabet = alphabet
        self.idForCharacter = ids
    }

    /// The id of a special token, if `name` is one.
    public func specialID(_ name: String) -> Int32? {
        specials.firstIndex(of: name).map(Int32.init)
    }

    /// One id per character of `text`.
    /// - Throws: `TokenizationError` naming the first character that is not
    ///   in the alphabet, its position, and the alphabet.
    public func encode(_ text: String) throws -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.count)
        for (position, character) in text.enumerated() {
            guard let id = idForCharacter[character] else {
                let codes = character.unicodeScalars
                    .map { "U+" + String($0.value, radix: 16, uppercase: true) }
                    .joined(separator: " ")
                throw TokenizationError(
                    "CharTokenizer: expected only characters of the alphabet "
                        + "\(String(alphabet).debugDescription), found \(String(character).debugDescription) "
                        + "(\(codes)) at character \(position); add it to the alphabet or clean the input")
            }
            ids.append(id)
        }
        return ids
    }

    /// The text for `ids`: specials appear as their strings (unless
    /// `skipSpecials`), ids outside the vocabulary as U+FFFD.
    public func decode(_ ids: [Int32], skipSpecials: Bool = false) -> String {
        var text = ""
        for id in ids {
            let index = Int(id)
            if index >= 0 && index < specials.count {
                if !skipSpecials { text += specials[index] }
            } else if index >= specials.count && index < vocabSize {
                text.append(alphabet[index - specials.count])
            } else {
                text.append("\u{FFFD}")
            }
        }
        return text
    }
}
