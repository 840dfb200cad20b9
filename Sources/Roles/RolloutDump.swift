import Foundation
import Objectives

/// Rollout dumps (`trainer.dump_rollouts`): `<run>/rollouts/<step>.jsonl`.
enum RolloutDump {
    /// Writes one JSON line per sample: prompt, response, ground_truth,
    /// data_source, reward, outcome, advantage, group_id and provenance, and with
    /// `flag.enable` the FLaG score `flag/score` and `flag/p_wrong`.
    static func write(_ samples: [RolloutSample], advantages: [Double], step: Int, directory: String) throws {
        let dir = directory + "/rollouts"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var lines: [String] = []
        for (s, a) in zip(samples, advantages) {
            var obj: [String: Any] = [
                "prompt": s.prompt, "response": s.response, "ground_truth": s.groundTruth,
                "data_source": s.dataSource, "reward": s.reward, "outcome": s.outcome, "group_id": s.groupId,
                "response_tokens": s.responseTokens.count, "advantage": a,
            ]
            if !s.provenance.isEmpty { obj["provenance"] = s.provenance.map(Int.init) }
            if let f = s.flagScore {
                obj["flag/score"] = f
                obj["flag/p_wrong"] = FLaGLiveRules.probabilityWrong(score: f)
            }
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            lines.append(String(decoding: data, as: UTF8.self))
        }
        let path = "\(dir)/\(step).jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
