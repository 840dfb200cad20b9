import Checkpoint
import Configs
import Foundation
import Objectives
import Tensors
import Transformer

/// T3S's imitation anchors: the token ledger of every example at θ_0 and
/// θ_b, the anchors A = {Δc > 0}, each arm's weights, and the anchors'
/// statistics (fraction, token types).
struct T3SAnchors {
    /// Per example, per completion token: whether it is an anchor.
    let anchors: [[Bool]]
    /// Per example: the completion tokens.
    let tokens: [[Int32]]
    /// `t3s/anchor_frac` and `t3s/anchor_type/<type>` (the share of anchors of each type).
    let metrics: [String: Double]

    /// Name of the ledger file in the run directory.
    static let ledgerFile = "t3s-ledger.tl"
    /// Ledger names: the two checkpoints, and the token ids (as floats, exact below 2^24).
    static let initial = "theta_0", bottleneck = "theta_b", tokenIDs = "tokens"

    /// Computes the ledger on every rank (no communication; the leader writes it) and the anchors.
    /// Leaves the model at `thetaB`.
    static func build(ctx: JobContext, examples: [T3SExample], theta0: [Float], thetaB: [Float]) throws -> T3SAnchors {
        var ledger = TokenLedger()
        for (name, parameters) in [(initial, theta0), (bottleneck, thetaB)] {
            ctx.model.parameters.write(parameters)
            for (i, lp) in try logProbs(ctx: ctx, examples: examples).enumerated() {
                ledger.record(checkpoint: name, sampleID: i, logProbs: lp)
            }
        }
        var anchors: [[Bool]] = [], tokens: [[Int32]] = []
        var typeCounts: [TokenType: Int] = [:]
        for (i, e) in examples.enumerated() {
            ledger.record(checkpoint: tokenIDs, sampleID: i, logProbs: e.completion.map { Float($0) })
            let delta = T3SSelection.confidenceShift(bottleneckLogProbs: ledger.logProbs(checkpoint: bottleneck, sampleID: i)!,
                                                     initialLogProbs: ledger.logProbs(checkpoint: initial, sampleID: i)!)
            let a = T3SSelection.anchors(confidenceShift: delta, targets: e.completion)
            anchors.append(a); tokens.append(e.completion)
            let texts = e.completion.map { ctx.codec.decode([$0]) }
            typeCounts.merge(TokenTypes.breakdown(texts: texts, selected: a)) { $0 + $1 }
        }
        if ctx.isLeader, let dir = ctx.runDirectory {
            try ledger.write(to: (dir as NSString).appendingPathComponent(ledgerFile))
        }
        let nAnchors = anchors.map { $0.filter { $0 }.count }.reduce(0, +), nTokens = tokens.map(\.count).reduce(0, +)
        var m: [String: Double] = ["t3s/anchor_frac": Double(nAnchors) / Double(max(1, nTokens))]
        for type in TokenType.allCases {
            m["t3s/anchor_type/\(type.rawValue)"] = Double(typeCounts[type] ?? 0) / Double(max(1, nAnchors))
        }
        return T3SAnchors(anchors: anchors, tokens: tokens, metrics: m)
    }

    /// Per example, the log-prob of each completion token under the model's current parameters.
    static func logProbs(ctx: JobContext, examples: [T3SExample]) throws -> [[Float]] {
        CompletionBatch.logProbs(model: ctx.model, pad: ctx.codec.pad, examples: examples, chunk: ctx.scoringChunk)
    }

    /// Per example, the weights of `arm`'s loss (1 = trained, 0 = masked).
    func weights(arm: T3SArm, seed: UInt64) -> [[Float]] {
        anchors.indices.map { i in
            let mode: T3SMaskMode
            switch arm {
            case .anti: mode = .antiT3S
            case .random: mode = .random(seed: SeedMixer.derive(run: seed, sample: UInt64(i)))
            case .t3s, .sft, .rrt: mode = .t3s
            }
            return T3SSelection.weights(anchors: anchors[i], targets: tokens[i], mode: mode)
        }
    }
}
