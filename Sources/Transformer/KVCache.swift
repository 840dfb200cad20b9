import Tensors

/// Keys and values of past positions for a fixed set of sequence slots.
/// Layout: (layers, slots, maxLen, Hkv·hd) for K and for V. A slot's length
/// can be truncated to any earlier position (MOTAB backtracking): positions
/// past the length are simply overwritten by the next tokens.
public final class KVCache {
    /// Number of sequence slots.
    public let slots: Int
    /// Positions per slot.
    public let maxLen: Int
    let layers: Int, kvDim: Int
    let keys: FlatBuffer, values: FlatBuffer
    /// Tokens currently cached per slot.
    public private(set) var lengths: [Int]

    /// A cache for `slots` sequences of up to `maxLen` tokens of `config`'s model.
    public init(config: ModelConfig, slots: Int, maxLen: Int? = nil) {
        self.slots = slots
        self.maxLen = min(maxLen ?? config.maxSeqLen, config.maxSeqLen)
        layers = config.layers; kvDim = config.kvHeads * config.headDim
        keys = FlatBuffer(count: layers * slots * self.maxLen * kvDim)
        values = FlatBuffer(count: layers * slots * self.maxLen * kvDim)
        lengths = [Int](repeating: 0, count: slots)
    }

    /// Start of (layer, slot, position 0) in K.
    @inline(__always) func keyBase(layer: Int, slot: Int) -> UnsafeMutablePointer<Float> {
        keys.pointer + ((layer * slots + slot) * maxLen) * kvDim
    }
    /// Start of (layer, slot, position 0) in V.
    @inline(__always) func valueBase(layer: Int, slot: Int) -> UnsafeMutablePointer<Float> {
        values.pointer + ((layer * slots + slot) * maxLen) * kvDim
    }

    /// Forgets everything after the first `length` positions of `slot`.
    public func truncate(slot: Int, to length: Int) {
        precondition(length >= 0 && length <= lengths[slot], "KVCache.truncate: \(length) outside 0...\(lengths[slot])")
        lengths[slot] = length
    }

    /// Empties a slot.
    public func reset(slot: Int) { lengths[slot] = 0 }

    func advance(slot: Int, by n: Int) { lengths[slot] += n }
}
