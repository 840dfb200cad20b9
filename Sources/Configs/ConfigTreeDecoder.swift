import Foundation

/// A closed set of spellings for a config value (`loss_agg_mode`,
/// `merge_method`, …). The raw value is the canonical (verl/mergekit) name;
/// `aliases` lists further accepted spellings. Loading reports a bad value with
/// every allowed spelling and the nearest one.
public protocol ConfigChoice: RawRepresentable, CaseIterable, Codable, Sendable, Equatable where RawValue == String {
    /// Extra accepted spellings → case (e.g. `k3` for `low_var_kl`).
    static var aliases: [String: Self] { get }
}

extension ConfigChoice {
    /// No extra spellings unless a type lists some.
    public static var aliases: [String: Self] { [:] }

    /// The case spelled `text` (canonical or alias), nil if none.
    public static func parse(_ text: String) -> Self? { Self(rawValue: text) ?? aliases[text] }

    /// Every accepted spelling: canonical ones first, then aliases.
    public static var spellings: [String] { allCases.map(\.rawValue) + aliases.keys.sorted() }
}

/// Collects problems while decoding so that all type errors are reported together.
final class DecodeProblems {
    var list: [ConfigProblem] = []
}

/// Decodes the merged tree (user values over defaults) into the section types.
/// Leaf values that do not parse are recorded as problems and replaced by a
/// placeholder so decoding goes on and finds the rest.
struct ConfigTreeDecoder: Decoder {
    let node: ConfigNode
    let path: [String]
    let problems: DecodeProblems
    var codingPath: [CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// `actor.optim.lr` (or what the user wrote, if an alias moved it).
    static func display(_ path: [String], _ node: ConfigNode) -> String {
        let canonical = path.joined(separator: ".")
        if let written = node.writtenPath, written != canonical { return "\(written) (= \(canonical))" }
        return canonical
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard let entries = node.entries else {
            throw ConfigError([ConfigProblem("`\(Self.display(path, node))`: expected a mapping of keys, found "
                                                + node.shortDescription, source: node.source)])
        }
        return KeyedDecodingContainer(KeyedTreeDecoder<Key>(entries: entries, decoder: self))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case let .sequence(items) = node.value else {
            throw ConfigError([ConfigProblem("`\(Self.display(path, node))`: expected a list like [a, b], found "
                                                + node.shortDescription, source: node.source)])
        }
        return UnkeyedTreeDecoder(items: items, decoder: self)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { SingleTreeDecoder(decoder: self) }

    /// Decodes `node` at `path` as `T`: primitives and choices here, structs through their `init(from:)`.
    static func value<T: Decodable>(_ type: T.Type, _ node: ConfigNode, _ path: [String],
                                    _ problems: DecodeProblems) throws -> T {
        let leaf: Any?
        switch type {
        case is String.Type: leaf = string(node, path, problems)
        case is Bool.Type: leaf = bool(node, path, problems)
        case is Int.Type: leaf = int(node, path, problems)
        case is Double.Type: leaf = double(node, path, problems)
        case let choice as any ConfigChoice.Type: leaf = self.choice(choice, node, path, problems)
        default: leaf = nil
        }
        if let leaf {
            if let typed = leaf as? T { return typed }
            throw ConfigError([ConfigProblem("internal: decoded \(leaf) is not a \(T.self)", source: node.source)])
        }
        return try T(from: ConfigTreeDecoder(node: node, path: path, problems: problems))
    }

    private static func fail(_ expected: String, _ node: ConfigNode, _ path: [String],
                             _ problems: DecodeProblems, hint: String = "") {
        let found = node.value == .null ? "null" : node.shortDescription
        problems.list.append(ConfigProblem("`\(display(path, node))`: expected \(expected), found \(found)\(hint)",
                                           source: node.source))
    }

    private static func string(_ node: ConfigNode, _ path: [String], _ problems: DecodeProblems) -> String {
        if let s = node.scalarText { return s }
        fail("a string", node, path, problems, hint: "; write a value, or quote it: \"…\"")
        return ""
    }

    private static func bool(_ node: ConfigNode, _ path: [String], _ problems: DecodeProblems) -> Bool {
        switch node.scalarText?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            fail("a boolean (true or false)", node, path, problems)
            return false
        }
    }

    private static func int(_ node: ConfigNode, _ path: [String], _ problems: DecodeProblems) -> Int {
        if let s = node.scalarText, let i = Int(s.replacingOccurrences(of: "_", with: "")) { return i }
        fail("an integer", node, path, problems, hint: "; write a whole number such as 8")
        return 0
    }

    private static func double(_ node: ConfigNode, _ path: [String], _ problems: DecodeProblems) -> Double {
        if let s = node.scalarText {
            switch s.lowercased() {
            case ".inf", "+.inf": return .infinity
            case "-.inf": return -.infinity
            case ".nan": return .nan
            default: if let d = Double(s), s.lowercased() != "nan", !s.lowercased().contains("inf") { return d }
            }
        }
        fail("a number", node, path, problems, hint: "; write it like 0.2 or 1e-5, without quotes")
        return 0
    }

    private static func choice<C: ConfigChoice>(_ type: C.Type, _ node: ConfigNode, _ path: [String],
                                                _ problems: DecodeProblems) -> C {
        if let s = node.scalarText, let c = C.parse(s) { return c }
        let near = node.scalarText.flatMap { Spelling.nearest($0, in: C.spellings) }
        let hint = near.map { "; did you mean \($0)?" } ?? "; use one of them"
        fail("one of " + C.spellings.joined(separator: ", "), node, path, problems, hint: hint)
        return C.allCases.first ?? C.parse(C.spellings.first ?? "") ?? placeholderFailure(C.self)
    }

    private static func placeholderFailure<C>(_ type: C.Type) -> C {
        preconditionFailure("ConfigChoice \(C.self) has no cases")
    }
}

private struct KeyedTreeDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let entries: [ConfigNode.Entry]
    let decoder: ConfigTreeDecoder
    var codingPath: [CodingKey] { [] }
    /// Not needed by the synthesized section decoders (they ask for their keys by name).
    var allKeys: [Key] { [] }

    private func child(_ key: Key) -> ConfigNode? {
        let name = KeyNaming.snakeCase(key.stringValue)
        return entries.first(where: { $0.key == name })?.node
    }

    func contains(_ key: Key) -> Bool { child(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool { (child(key)?.value ?? .null) == .null }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let name = KeyNaming.snakeCase(key.stringValue)
        guard let node = child(key) else {
            throw ConfigError([ConfigProblem("missing key `\((decoder.path + [name]).joined(separator: "."))`; "
                                                + "expected it in this mapping", source: decoder.node.source)])
        }
        return try ConfigTreeDecoder.value(type, node, decoder.path + [name], decoder.problems)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type,
                                               forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try superDecoder(forKey: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try superDecoder(forKey: key).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder { decoder }

    func superDecoder(forKey key: Key) throws -> Decoder {
        let name = KeyNaming.snakeCase(key.stringValue)
        return ConfigTreeDecoder(node: child(key) ?? ConfigNode(.null, source: decoder.node.source),
                                 path: decoder.path + [name], problems: decoder.problems)
    }
}

private struct UnkeyedTreeDecoder: UnkeyedDecodingContainer {
    let items: [ConfigNode]
    let decoder: ConfigTreeDecoder
    var codingPath: [CodingKey] { [] }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }
    var currentIndex = 0

    init(items: [ConfigNode], decoder: ConfigTreeDecoder) {
        self.items = items; self.decoder = decoder
    }

    private mutating func next() throws -> (ConfigNode, [String]) {
        guard !isAtEnd else {
            throw ConfigError([ConfigProblem("`\(decoder.path.joined(separator: "."))`: list ended early",
                                             source: decoder.node.source)])
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], decoder.path + ["\(currentIndex)"])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex].value == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (node, path) = try next()
        return try ConfigTreeDecoder.value(type, node, path, decoder.problems)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try superDecoder().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try superDecoder().unkeyedContainer() }

    mutating func superDecoder() throws -> Decoder {
        let (node, path) = try next()
        return ConfigTreeDecoder(node: node, path: path, problems: decoder.problems)
    }
}

private struct SingleTreeDecoder: SingleValueDecodingContainer {
    let decoder: ConfigTreeDecoder
    var codingPath: [CodingKey] { [] }

    func decodeNil() -> Bool { decoder.node.value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try ConfigTreeDecoder.value(type, decoder.node, decoder.path, decoder.problems)
    }
}
