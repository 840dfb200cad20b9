/// One query attention head: `head` in 0..<heads of block `layer`.
public struct AttentionHead: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Decoder block index.
    public let layer: Int
    /// Query head index within the block.
    public let head: Int

    /// Creates a head id.
    public init(layer: Int, head: Int) { self.layer = layer; self.head = head }

    /// Layer-major order (the order of `ParameterLayout.attentionHeads`).
    public static func < (a: AttentionHead, b: AttentionHead) -> Bool {
        (a.layer, a.head) < (b.layer, b.head)
    }

    /// `L<layer>H<head>`.
    public var description: String { "L\(layer)H\(head)" }
}

/// Where each attention head's parameters are (P2D head masks and scores).
///
/// A query head h of a block owns: rows h·d..<(h+1)·d of `q_proj` (weight and
/// bias), the rows of its key/value head g = h / (heads / kvHeads) in
/// `k_proj` and `v_proj` (shared by the g-th group of query heads under GQA),
/// and input columns h·d..<(h+1)·d of `o_proj`, which in the row-major
/// (C, heads·d) weight are C strided runs of d floats. d = head dim.
extension ParameterLayout {
    /// Number of decoder blocks (blocks with a `q_proj.weight`).
    public var attentionLayers: Int {
        var l = 0
        while entry("model.layers.\(l).self_attn.q_proj.weight") != nil { l += 1 }
        return l
    }

    /// Every query head, layer-major.
    public var attentionHeads: [AttentionHead] {
        (0..<attentionLayers).flatMap { l in
            (0..<self["model.layers.\(l).self_attn.q_proj.weight"].headSlices.count).map { AttentionHead(layer: l, head: $0) }
        }
    }

    /// Flat ranges of `head`'s Q, K and V weight rows, in that order (the
    /// vector P2D flattens and scores; biases and O are left out).
    public func headWeightRanges(_ head: AttentionHead) -> [Range<Int>] {
        let (q, kv) = headIndices(head)
        let p = "model.layers.\(head.layer).self_attn."
        return [self[p + "q_proj.weight"].headSlices[q], self[p + "k_proj.weight"].headSlices[kv],
                self[p + "v_proj.weight"].headSlices[kv]]
    }

    /// Every flat range `head` owns: Q/K/V weight rows and biases (if any) and
    /// its C strided O-projection column runs, in buffer order.
    public func headRanges(_ head: AttentionHead) -> [Range<Int>] {
        let (q, kv) = headIndices(head)
        let p = "model.layers.\(head.layer).self_attn."
        var out: [Range<Int>] = []
        for (name, h) in [("q_proj", q), ("k_proj", kv), ("v_proj", kv)] {
            out.append(self[p + name + ".weight"].headSlices[h])
            if let bias = entry(p + name + ".bias") { out.append(bias.headSlices[h]) }
        }
        let o = self[p + "o_proj.weight"]
        let rows = o.shape[0], width = o.shape[1]
        let d = width / self[p + "q_proj.weight"].headSlices.count
        for r in 0..<rows {
            let start = o.offset + r * width + q * d
            out.append(start..<(start + d))
        }
        return out.sorted { $0.lowerBound < $1.lowerBound }
    }

    /// The union of `heads`' ranges, sorted and merged (a K/V head shared by
    /// two selected query heads appears once). Feed it to
    /// `ParameterMask.only(_:totalCount:)` or `.allBut(_:totalCount:)`.
    public func headRanges(_ heads: [AttentionHead]) -> [Range<Int>] {
        let all = heads.flatMap { headRanges($0) }.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [Range<Int>] = []
        for r in all {
            if let last = merged.last, r.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged
    }

    /// (query head, key/value head) indices of `head`; preconditions that it exists.
    private func headIndices(_ head: AttentionHead) -> (Int, Int) {
        let p = "model.layers.\(head.layer).self_attn."
        guard let q = entry(p + "q_proj.weight"), let k = entry(p + "k_proj.weight") else {
            preconditionFailure("ParameterLayout: no attention block \(head.layer)")
        }
        let heads = q.headSlices.count, kvHeads = k.headSlices.count
        precondition(head.head >= 0 && head.head < heads, "ParameterLayout: head \(head.head) outside 0..<\(heads) in block \(head.layer)")
        return (head.head, head.head / (heads / kvHeads))
    }
}
