import Comm
import Foundation
import Tasks
import Transformer

/// Test-only records of the evaluations (never set by the CLI).
struct JobEvaluationHooks {
    /// Record the parameters each evaluation generates with.
    var record = false
    /// (step, this rank's parameters at that evaluation), in order.
    var parameters: [(step: Int, parameters: [Float])] = []
}

extension ClusterJob {
    /// Greedy (or `val_kwargs`) generation on the validation prompts, sharded
    /// over the rollout ranks; the leader logs per-source accuracy.
    func evaluate(step: Int) throws {
        _ = try syncWeights()
        if evaluationHooks.record { evaluationHooks.parameters.append((step, model.parameters.toArray())) }
        let R = rolloutRanks.count
        let vk = config.rollout.valKwargs
        var mine: [RolloutSample] = []
        if let r = rolloutRanks.firstIndex(of: world.rank) {
            let idx = Array(stride(from: r, to: validation.count, by: R))
            var engine = RolloutEngine(model: model, codec: codec, verify: verify)
            let opts = SamplingOptions(temperature: Float(vk.temperature), topP: Float(vk.topP), greedy: vk.greedy,
                                       maxNewTokens: config.rollout.maxNewTokens ?? config.data.maxResponseLength)
            mine = try engine.rollout(items: idx.map { validation[$0] }, indices: idx, groupSize: max(1, vk.n),
                                      options: opts, runSeed: runSeed, step: step, purpose: 9)
        }
        let all = try gatherSamples(mine)
        guard isLeader else { return }
        // avg@k, unbiased pass@k and maj@k per source (greedy pass@1 when n = 1);
        // majority voting needs each answer's normalised key, re-extracted here.
        let evalSamples = all.map { s -> EvalSample in
            let r = verifier.verify(response: s.response, groundTruth: s.groundTruth, source: s.dataSource)
            let key = r.extracted.map { AnswerVerifier.answerKey($0, format: AnswerFormat.forSource(s.dataSource)) }
            return EvalSample(dataSource: s.dataSource, problemID: "\(s.groupId)", correct: s.outcome > 0, answerKey: key)
        }
        var metrics = EvalMetrics.perSource(evalSamples)
        let n = max(1, vk.n)
        metrics["val-core/all/acc/mean@\(n)"] = all.map(\.outcome).reduce(0, +) / Double(max(all.count, 1))
        evaluations.append((step, metrics))
        logger?.log(step: step, metrics)
    }

    /// Every rank's samples at every rank, in (group, rank) order.
    func gatherSamples(_ mine: [RolloutSample]) throws -> [RolloutSample] {
        let batch = RolloutBatch(weightVersion: weightVersion, step: 0, workerRank: world.rank, samples: mine)
        let parts = try world.allgatherBytes(batch.encoded())
        var all: [RolloutSample] = []
        for p in parts { all += try RolloutBatch(decoding: p).samples }
        // Stable order independent of which worker drew what: by group, then draw order.
        return all.enumerated().sorted { ($0.element.groupId, $0.offset) < ($1.element.groupId, $1.offset) }.map(\.element)
    }
}
