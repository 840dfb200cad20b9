import Tensors

/// The decode GEMM weights of a model packed for `PackedGemm` (a second copy,
/// as large as the matrices themselves). The packing is a snapshot: the
/// optimizer and weight broadcasts update `model.parameters` in place, so
/// `generate` re-packs at the start of every call and marks the copy stale
/// when it returns; `extend` uses the packed path only while `valid` is set
/// and otherwise falls back to BLAS on the live parameters.
final class PackedDecodeWeights {
    struct Layer {
        /// Q|K|V projection, (qd + 2·kvd) × C.
        let qkv: PackedMatrix
        /// Output projection, C × qd.
        let o: PackedMatrix
        /// Gate and up interleaved by panel: panel 2p holds gate columns
        /// 16p..<16p+16 and panel 2p+1 the same up columns (zero-padded), so
        /// one worker's panel pairs carry everything its SwiGLU needs.
        let gateUp: PackedMatrix
        /// Down projection, C × F.
        let down: PackedMatrix
    }

    let engine: DecodeEngine
    /// Packed matrices per layer and of the LM head (empty / nil for `.blas`).
    let layers: [Layer]
    let head: PackedMatrix?
    /// Width of the gate/up GEMM output: 32 columns per panel pair.
    let gateUpWidth: Int
    /// True between `repack` and the end of the `generate` that called it.
    var valid = false
    private let storage: FlatBuffer

    /// With the `.blas` engine, steps with fewer rows still use the packed
    /// micro-kernel: there OpenBLAS's per-call packing of the whole weight
    /// matrix costs more than the few rows' FMAs it speeds up.
    static let blasMinRows = 32

    /// Whether a step of `rows` rows runs on the packed copy.
    func usesPacking(rows: Int) -> Bool { engine == .packed || rows < Self.blasMinRows }

    /// Largest row count (sequences decoded together) that uses the packed
    /// path; larger batches (and prefill) go to OpenBLAS, which wins there.
    static let maxRows = 96

    init(config c: ModelConfig, engine: DecodeEngine) {
        self.engine = engine
        let C = c.dim, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim, F = c.ffnDim
        let pw = PackedGemm.panelWidth
        let pairs = (F + pw - 1) / pw
        gateUpWidth = 2 * pw * pairs
        let qkvN = qd + 2 * kvd
        let perLayer = PackedGemm.packedCount(n: qkvN, k: C) + PackedGemm.packedCount(n: C, k: qd)
            + PackedGemm.packedCount(n: gateUpWidth, k: C) + PackedGemm.packedCount(n: C, k: F)
        let packs = true  // .blas keeps a packing too, for steps under `blasMinRows` rows
        storage = FlatBuffer(count: packs ? c.layers * perLayer + PackedGemm.packedCount(n: c.vocabSize, k: C) : 0)
        var p = storage.pointer
        func take(_ n: Int, _ k: Int) -> PackedMatrix {
            defer { p += PackedGemm.packedCount(n: n, k: k) }
            return PackedMatrix(n: n, k: k, data: p)
        }
        var layers: [Layer] = []
        for _ in 0..<(packs ? c.layers : 0) {
            layers.append(Layer(qkv: take(qkvN, C), o: take(C, qd), gateUp: take(gateUpWidth, C), down: take(C, F)))
        }
        self.layers = layers
        head = packs ? take(c.vocabSize, C) : nil
    }

    /// Copies the current parameters of `model` into the packed layout and marks it valid.
    func repack(from model: Model) {
        valid = true
        guard let head else { return }
        let c = model.config, C = c.dim, F = c.ffnDim, pw = PackedGemm.panelWidth
        for (l, o) in model.weights.enumerated() {
            let L = layers[l]
            _ = PackedGemm.pack(model.w(o.wq), n: L.qkv.n, k: C, into: L.qkv.data)
            _ = PackedGemm.pack(model.w(o.wo), n: C, k: L.o.k, into: L.o.data)
            _ = PackedGemm.pack(model.w(o.wDown), n: C, k: F, into: L.down.data)
            let gate = model.w(o.wGate), up = model.w(o.wUp)
            let pairs = gateUpWidth / (2 * pw)
            Parallel.forRanges(pairs, minPerWorker: 4) { range in
                for q in range {
                    let cols = min(pw, F - q * pw)
                    _ = PackedGemm.pack(gate + q * pw * C, n: cols, k: C, into: L.gateUp.data + (2 * q) * pw * C)
                    _ = PackedGemm.pack(up + q * pw * C, n: cols, k: C, into: L.gateUp.data + (2 * q + 1) * pw * C)
                }
            }
        }
        _ = PackedGemm.pack(model.w(model.headOffset), n: c.vocabSize, k: C, into: head.data)
    }
}
