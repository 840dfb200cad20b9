import Layers
import Tensors
import Transformer

/// A teacher's KV cache for keyed score queries (`ScoreQuery.cacheKey`), which
/// MOTAB's teacher-side trigger sends as each student prefix grows.
///
/// Each key has a cache slot holding the keys and values of the tokens its
/// last query ran. A new query under the key is compared with them token by
/// token: the slot is cut to their longest common prefix (a student backtrack
/// or a teacher splice diverges there) and only the tokens after it go through
/// the model. A sequence scored every few tokens so costs about one pass over
/// it instead of one per query. The check is on the tokens themselves, so a
/// stale or reused key costs compute, never a wrong number.
///
/// - A query of n tokens leaves n − 1 positions in its slot (no scored row
///   needs the last token's keys and values), and reuses at most `from − 1`
///   of them: a scored row's logits are computed now (the cache holds keys
///   and values, not logits). A growing prefix with `from` = the previous
///   query's length so reuses everything it can.
/// - Slots are allocated as keys arrive (doubling, which drops what is
///   cached: growth happens while the first queries arrive) up to `capacity`;
///   then the least recently used key's slot is reused.
/// - Results equal `Model.teacherForcedLogits` (the same `Model.extend`)
///   up to rounding: the rows are computed in other batch shapes.
final class TeacherPrefixCache {
    /// Slots of the first allocation.
    static let initialSlots = 8

    /// The teacher network.
    let model: Model
    /// Keys held at most; at least the keys of one `logits` call.
    let capacity: Int
    private var cache: KVCache?
    private var slotOf: [Int: Int] = [:]
    private var keyOf: [Int?] = []
    /// Per slot: the tokens whose keys and values it holds.
    private var held: [[Int32]] = []
    private var lastUse: [Int] = []
    private var clock = 0
    /// Tokens run through the model, and tokens whose cached keys and values were reused, over all calls.
    private(set) var computedTokens = 0, reusedTokens = 0

    /// An empty cache for `model`'s sequences.
    init(model: Model, capacity: Int = LocalTeacher.defaultPrefixCapacity) {
        precondition(capacity >= 1, "TeacherPrefixCache: capacity must be ≥ 1")
        self.model = model; self.capacity = capacity
    }

    /// Teacher-forced logits of `members` of `queries` (all keyed, distinct
    /// keys, at most `capacity`, each with `from` < its token count), in
    /// `Model.teacherForcedLogits`'s row order: per member, the rows
    /// predicting tokens `from..<count`. Valid until the model's next `extend`.
    func logits(_ queries: [ScoreQuery], members: [Int]) -> LogitsBlock {
        let slots = assign(members.map { queries[$0].cacheKey! })
        let cache = self.cache!
        var rowSlots: [Int] = [], tokens: [Int32] = [], logitRows: [Int] = []
        for (k, i) in members.enumerated() {
            let q = queries[i], s = slots[k]
            precondition(q.from >= 1 && q.from < q.tokens.count && q.tokens.count - 1 <= cache.maxLen,
                         "TeacherPrefixCache: query \(i) scores from \(q.from) of \(q.tokens.count) tokens")
            let reuse = min(Self.commonPrefix(held[s], q.tokens), q.from - 1)
            cache.truncate(slot: s, to: reuse)
            for t in reuse..<(q.tokens.count - 1) {
                if t >= q.from - 1 { logitRows.append(tokens.count) }
                rowSlots.append(s); tokens.append(q.tokens[t])
            }
            held[s] = Array(q.tokens.dropLast())
            reusedTokens += reuse; computedTokens += q.tokens.count - 1 - reuse
        }
        return model.extend(cache: cache, slots: rowSlots, tokens: tokens, logitRows: logitRows)
    }

    /// Length of the common prefix of `a` and `b`.
    static func commonPrefix(_ a: [Int32], _ b: [Int32]) -> Int {
        var n = 0
        while n < a.count && n < b.count && a[n] == b[n] { n += 1 }
        return n
    }

    /// The slot of each key (distinct keys, at most `capacity` of them).
    private func assign(_ keys: [Int]) -> [Int] {
        precondition(keys.count <= capacity && Set(keys).count == keys.count,
                     "TeacherPrefixCache: \(keys.count) keys (distinct, at most \(capacity)) per call")
        clock += 1
        let wanted = slotOf.count + keys.filter { slotOf[$0] == nil }.count
        let have = cache?.slots ?? 0
        if have < min(wanted, capacity) {
            // A larger cache; what the old one held is recomputed when asked for again.
            let slots = min(capacity, max(Self.initialSlots, 2 * have, wanted))
            cache = KVCache(config: model.config, slots: slots)
            slotOf = [:]; keyOf = [Int?](repeating: nil, count: slots)
            held = [[Int32]](repeating: [], count: slots); lastUse = [Int](repeating: 0, count: slots)
        }
        return keys.map { key in
            let s: Int
            if let known = slotOf[key] {
                s = known
            } else {
                // A free slot, else the least recently used one not taken by this call.
                s = keyOf.firstIndex(where: { $0 == nil })
                    ?? keyOf.indices.filter { lastUse[$0] < clock }.min { lastUse[$0] < lastUse[$1] }!
                if let old = keyOf[s] { slotOf[old] = nil }
                slotOf[key] = s; keyOf[s] = key
                held[s] = []; cache!.reset(slot: s)
            }
            lastUse[s] = clock
            return s
        }
    }
}
