import Foundation
import Objectives

/// Validation generations (`trainer.dump_rollouts`): `<run>/generations/<step>.jsonl`,
/// written by the leader after each evaluation, one JSON object per response.
enum GenerationDump {
    /// The folder under the run directory.
    static let folder = "generations"

    /// Writes one line per sample with its prompt (the task text before the
    /// chat template), rendered_prompt (the text the model was given, special
    /// tokens spelled out: `codec.decodeVerbatim` of the prompt ids),
    /// prompt_ids and response_ids (the exact tokens, so a reference
    /// implementation can run the same input and compare outputs token by
    /// token), response, ground_truth, data_source, correct (the verifier's
    /// verdict), extracted answer (null when none was found), group_id (the
    /// validation prompt's index), `step`, and with `flag.enable` the FLaG
    /// score `flag/score` and `flag/p_wrong`, and with `passes` (an evaluation
    /// with `rollout.val_kwargs.greedy_pass`) the sample's `pass`, `sampled` or
    /// `greedy`; atomically, replacing an older file of the same step (a resumed
    /// run evaluates that step again).
    static func write(_ samples: [RolloutSample], extracted: [String?], passes: [String]? = nil, codec: TextCodec,
                      step: Int, directory: String) throws {
        precondition(samples.count == extracted.count, "one extracted answer per sample")
        precondition(passes.map { $0.count == samples.count } ?? true, "one pass name per sample")
        let dir = directory + "/" + folder
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var text = ""
        for (i, (s, answer)) in zip(samples, extracted).enumerated() {
            var obj: [String: Any] = [
                "step": step, "prompt": s.prompt, "response": s.response, "ground_truth": s.groundTruth,
                "data_source": s.dataSource, "correct": s.outcome > 0, "extracted": answer ?? NSNull(),
                "group_id": s.groupId, "response_tokens": s.responseTokens.count,
                "rendered_prompt": codec.decodeVerbatim(s.promptTokens),
                "prompt_ids": s.promptTokens.map(Int.init), "response_ids": s.responseTokens.map(Int.init),
            ]
            if let passes { obj["pass"] = passes[i] }
            if let f = s.flagScore { obj["flag/score"] = f; obj["flag/p_wrong"] = FLaGLiveRules.probabilityWrong(score: f) }
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
            text += String(decoding: data, as: UTF8.self) + "\n"
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(dir)/\(step).jsonl"), options: .atomic)
    }
}
