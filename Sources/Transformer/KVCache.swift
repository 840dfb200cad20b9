import Tensors

/// Keys and values of past positions for a fixed set of sequence slots, laid
/// out for the decode attention kernel: per (layer, slot, KV head) the keys
/// are transposed blocks of 8 positions, (keyStride/8, hd, 8), and the values
/// are (maxLen, hd) rows, so one head's keys and values are each one
/// contiguous stream. keyStride = maxLen rounded up to 8. A slot's length
public final class KVCache {
    /// Number of sequence slots.
    public let slots: Int
    /// Positions per slot.
    public let maxLen: Int
    let layers: Int, kvDim: Int, headDim: Int, kvHeads: Int
    /// Row stride of the transposed keys: maxLen rounded up to a multiple of 8.
    let keyStride: Int
    let keys: FlatBuffer, values: FlatBuffer
    /// Tokens currently cached per slot.
    public private(set) var lengths: [Int]

    /// A cache for `slots` sequences of up to `maxLen` tokens of `config`'s model.
    public init(config: ModelConfig, slots: Int, maxLen: Int? = nil) {
        self.slots = slots
        self.maxLen = min(maxLen ?? config.maxSeqLen, config.maxSeqLen)
        layers = config.layers; kvDim = config.kvHeads * config.headDim; headDim = config.headDim
        kvHeads = config.kvHeads
        keyStride = (self.maxLen + 7) & ~7
        keys = FlatBuffer(count: layers * slots * keyStride * kvDim)
        values = FlatBuffer(count: layers * slots * self.maxLen * kvDim)
        lengths = [Int](repeating: 0, count: slots)
    }

    /// Start of (layer, slot) in K; KV head g starts `g · keyHeadStride` later.
    @inline(__always) func keyBase(layer: Int, slot: Int) -> UnsafeMutablePointer<Float> {
        keys.pointer + ((layer * slots + slot) * keyStride) * kvDim
    }
    /// Floats per KV head in K (and the offset between heads).
    @inline(__always) var keyHeadStride: Int { keyStride * headDim }

    /// Start of (layer, slot) in V; KV head g starts `g · maxLen · headDim` later, rows of headDim.
    @inline(__always) func valueBase(layer: Int, slot: Int) -> UnsafeMutablePointer<Float> {
        values.pointer + ((layer * slots + slot) * maxLen) * kvDim
    }

    /// Stores the key and value (Hkv·hd floats each) of `position` in (layer, slot).
    @inline(__always) func store(key k: UnsafePointer<Float>, value v: UnsafePointer<Float>,
                                 layer: Int, slot: Int, position p: Int) {
        let hd = headDim
        let kb = keyBase(layer: layer, slot: slot) + (p >> 3) * hd * 8 + (p & 7)
        let vb = valueBase(layer: layer, slot: slot) + p * hd
        for g in 0..<kvHeads {
            let kg = kb + g * keyHeadStride, src = k + g * hd
            for d in 0..<hd { kg[d * 8] = src[d] }
            (vb + g * maxLen * hd).update(from: v + g * hd, count: hd)
        }
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
