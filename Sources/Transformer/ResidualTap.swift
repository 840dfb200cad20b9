/// A read-only look at the residual stream during `Model.extend`: after the
/// block that leaves the stream at `depth` (0 = the embeddings, `layers` = the
/// input of the final norm), `read(x, rows)` gets the (rows, dim) row-major
/// residual of every row of that call. The pointer is valid only inside `read`.
/// This is how features are taken from the forward that generates, with no second pass.
public struct ResidualTap {
    /// Residual depth read (0…layers).
    public let depth: Int
    /// Called once per `extend` call with the residual rows.
    public let read: (UnsafePointer<Float>, Int) -> Void

    /// A tap at `depth`.
    public init(depth: Int, read: @escaping (UnsafePointer<Float>, Int) -> Void) {
        self.depth = depth; self.read = read
    }
}

/// What `Model.generate` reports, per sequence, to a caller that builds
/// per-answer features from the generating forward (FLaG): the residual at
/// `depth` of every position the sequence occupies (prompt rows in the prefill,
/// then each response token, the last one included), and the temperature-1
/// log-prob and entropy of every drawn token. A sequence that ends on a stop
/// token is reported by `endedOnStopToken`: the stop token is not part of the
/// answer (decoded text drops it, so features recomputed from the text never see
/// it), and its row is never computed. A sequence that ends at its length limit
/// has its last token fed through one more decode row, alongside the other
/// sequences' next step, so that token's residual exists; one whose cache is full
/// gets no such row (`finishedWithoutLastRow`).
public protocol GenerationObserver: AnyObject {
    /// Residual depth read (0…layers).
    var depth: Int { get }
    /// Row r (`channels` floats at `residual + r·channels`) is the next position of sequence `sequences[r]`.
    func appended(sequences: [Int], residual: UnsafePointer<Float>, channels: Int)
    /// log p and entropy, at temperature 1, of the token sequence `sequence` just drew.
    func drew(sequence: Int, logProb: Float, entropy: Float)
    /// The sequence ended on a stop token (the last token `drew` reported).
    func endedOnStopToken(sequence: Int)
    /// The sequence ended with a full cache: its last token has no residual row.
    func finishedWithoutLastRow(sequence: Int)
}
