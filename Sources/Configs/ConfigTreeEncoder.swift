import Foundation

/// Swift property names ↔ YAML keys: `clipRatioLow` ↔ `clip_ratio_low`,
/// `useKLLoss` ↔ `use_kl_loss` (an acronym is one word). Every section type
/// relies on this instead of hand-written `CodingKeys`, so a key cannot drift
/// from its property.
enum KeyNaming {
    /// The snake_case YAML key of a camelCase Swift property name.
    static func snakeCase(_ name: String) -> String {
        let chars = Array(name)
        var out = ""
        for (i, c) in chars.enumerated() {
            if c.isUppercase, i > 0 {
                let prev = chars[i - 1]
                let nextIsLower = i + 1 < chars.count && chars[i + 1].isLowercase
                if prev.isLowercase || prev.isNumber || (prev.isUppercase && nextIsLower) { out.append("_") }
            }
            out.append(contentsOf: c.lowercased())
        }
        return out
    }
}

/// Encodes a section type into a `ConfigNode` tree: the schema (every key with
/// its default), the resolved config for printing and the reference doc.
/// nil optionals are written as explicit nulls so that every key appears.
final class ConfigTreeEncoder: Encoder {
    var codingPath: [CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]
    /// What was encoded so far (a mapping, a list or a single value).
    fileprivate(set) var node = ConfigNode(.null, source: .defaults)

    /// The tree of `value`; `value` must be one of this module's section types,
    /// whose encoding cannot fail (so a failure is a programmer error).
    static func tree<T: Encodable>(_ value: T) -> ConfigNode {
        let encoder = ConfigTreeEncoder()
        do {
            try value.encode(to: encoder)
        } catch {
            preconditionFailure("ConfigTreeEncoder: \(T.self) failed to encode: \(error)")
        }
        if case .mapping = encoder.node.value { encoder.node.typeName = String(describing: T.self) }
        return encoder.node
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .mapping = node.value {} else { node = .emptyMapping(.defaults) }
        return KeyedEncodingContainer(KeyedTreeEncoder<Key>(encoder: self))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        if case .sequence = node.value {} else { node = ConfigNode(.sequence([]), source: .defaults) }
        return UnkeyedTreeEncoder(encoder: self)
    }

    func singleValueContainer() -> SingleValueEncodingContainer { SingleTreeEncoder(encoder: self) }

    /// A scalar node for a primitive value, nil for anything that needs its own encoder.
    fileprivate static func primitive(_ value: Any) -> ConfigNode? {
        let text: String
        switch value {
        case let s as String: return ConfigNode(.scalar(s, quoted: true), source: .defaults)
        case let b as Bool: text = b ? "true" : "false"
        case let d as Double: text = format(d)
        case let f as Float: text = format(Double(f))
        case let i as Int: text = String(i)
        case let i as Int32: text = String(i)
        case let i as Int64: text = String(i)
        case let i as UInt64: text = String(i)
        default: return nil
        }
        return ConfigNode(.scalar(text, quoted: false), source: .defaults)
    }

    /// YAML text of a double that reads back to the same bits: Swift's shortest
    /// round-trip form, with YAML's spellings for infinities and NaN.
    static func format(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d > 0 ? ".inf" : "-.inf" }
        return "\(d)"
    }

    fileprivate static func encodeChild<T: Encodable>(_ value: T) throws -> ConfigNode {
        if let p = primitive(value) { return p }
        let child = ConfigTreeEncoder()
        try value.encode(to: child)
        if case .mapping = child.node.value { child.node.typeName = String(describing: T.self) }
        return child.node
    }
}

private struct KeyedTreeEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: ConfigTreeEncoder
    var codingPath: [CodingKey] { encoder.codingPath }

    private func set(_ child: ConfigNode, for key: Key) {
        guard case var .mapping(entries) = encoder.node.value else { return }
        let name = KeyNaming.snakeCase(key.stringValue)
        let entry = ConfigNode.Entry(key: name, keySource: .defaults, node: child)
        if let i = entries.firstIndex(where: { $0.key == name }) { entries[i] = entry } else { entries.append(entry) }
        encoder.node.value = .mapping(entries)
    }

    mutating func encodeNil(forKey key: Key) throws { set(ConfigNode(.null, source: .defaults), for: key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try ConfigTreeEncoder.encodeChild(value), for: key)
    }

    // The standard library's defaults skip nil optionals; the schema needs every key.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                        forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        preconditionFailure("ConfigTreeEncoder: nested containers are not used by config sections")
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        preconditionFailure("ConfigTreeEncoder: nested containers are not used by config sections")
    }

    mutating func superEncoder() -> Encoder { encoder }
    mutating func superEncoder(forKey key: Key) -> Encoder { encoder }
}

private struct UnkeyedTreeEncoder: UnkeyedEncodingContainer {
    let encoder: ConfigTreeEncoder
    var codingPath: [CodingKey] { encoder.codingPath }
    var count: Int {
        if case let .sequence(items) = encoder.node.value { return items.count }
        return 0
    }

    private func append(_ child: ConfigNode) {
        guard case var .sequence(items) = encoder.node.value else { return }
        items.append(child)
        encoder.node.value = .sequence(items)
    }

    mutating func encodeNil() throws { append(ConfigNode(.null, source: .defaults)) }
    mutating func encode<T: Encodable>(_ value: T) throws { append(try ConfigTreeEncoder.encodeChild(value)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        preconditionFailure("ConfigTreeEncoder: nested containers are not used by config sections")
    }
    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        preconditionFailure("ConfigTreeEncoder: nested containers are not used by config sections")
    }
    mutating func superEncoder() -> Encoder { encoder }
}

private struct SingleTreeEncoder: SingleValueEncodingContainer {
    let encoder: ConfigTreeEncoder
    var codingPath: [CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws { encoder.node = ConfigNode(.null, source: .defaults) }
    mutating func encode<T: Encodable>(_ value: T) throws { encoder.node = try ConfigTreeEncoder.encodeChild(value) }
}
