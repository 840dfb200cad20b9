import Configs
import Foundation
import Merging
import ModelIO
@testable import Roles
import TestSupport
import XCTest

/// The tokenizer files of `ispo-cluster merge`'s output beyond what mergekit can be compared on:
/// a GGUF donor, and the configs refused with a reason (`MergeTokenizer`).
final class MergeTokenizerTests: XCTestCase {
    static let models = packageRoot + "/Tests/Fixtures/mergekit/models"

    func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    func mergeConfig(_ method: MergeMethod, base: String?, models: [(String, Double)]) -> MergeConfig {
        var c = MergeConfig()
        c.mergeMethod = method
        c.baseModel = base
        c.models = models.map { MergeModel(model: $0.0, weight: $0.1) }
        return c
    }

    func testAGGUFDonorGivesTheFolderItsTokenizerTemplateAndSpecialIds() throws {
        // base.gguf: the base model with a 261-token byte-level vocabulary (embedding and head rows
        // the base's, repeated), as llama.cpp writes it.
        let gguf = Self.models + "/base.gguf"
        let out = try temporaryDirectory(self) + "/out"
        let summary = try ModelMerge.run(config: mergeConfig(.linear, base: nil, models: [(gguf, 1)]), output: out) { _ in }
        XCTAssertFalse(summary.notes.contains { $0.contains("no tokenizer files") }, "\(summary.notes)")
        let spec = try tokenizerSpec(from: GGUFFile(path: gguf))
        let config = try json(out + "/config.json")
        XCTAssertEqual(config["bos_token_id"] as? Int, 1)
        XCTAssertEqual(config["eos_token_id"] as? Int, 2)
        XCTAssertEqual(config["pad_token_id"] as? Int, 0)
        XCTAssertEqual(config["vocab_size"] as? Int, 261)
        XCTAssertEqual(try json(out + "/generation_config.json")["eos_token_id"] as? Int, 2)
        XCTAssertEqual(try json(out + "/tokenizer_config.json")["chat_template"] as? String, spec.chatTemplate)
        XCTAssertNotNil(spec.chatTemplate)
        let vocabulary = try XCTUnwrap(try MergeTokenizer.vocabulary(of: out))
        XCTAssertEqual(vocabulary.count, 261)
        for (id, token) in spec.tokens.enumerated() { XCTAssertEqual(vocabulary[token], id, token) }

        // The weights come back in Hugging Face's order (Q and K rows de-interleaved): merging the
        // GGUF alone with weight 1 gives the base's tensors exactly.
        let merged = try readSafetensors(out + "/model.safetensors").tensors
        let base = try readSafetensors(Self.models + "/base/model.safetensors").tensors
        XCTAssertEqual(Set(merged.keys), Set(base.keys))
        for (name, t) in base {
            let m = try XCTUnwrap(merged[name]?.data, name)
            if name == "model.embed_tokens.weight" || name == "lm_head.weight" {
                XCTAssertEqual(Array(m.prefix(t.data.count)), t.data, name)
            } else {
                XCTAssertEqual(m, t.data, name)
            }
        }
    }

    func testTokenizerSourcesThatWouldNeedEmbeddingSurgeryAreRefused() throws {
        let root = try temporaryDirectory(self)
        var c = mergeConfig(.ties, base: Self.models + "/base", models: [(Self.models + "/a", 1), (Self.models + "/b", 1)])
        func refusal(_ source: String?, template: String? = nil) -> String {
            c.tokenizerSource = source
            c.chatTemplate = template
            do {
                _ = try ModelMerge.run(config: c, output: root + "/out") { _ in }
                return "accepted"
            } catch {
                XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/out"), "refused before writing")
                return "\(error)"
            }
        }
        XCTAssertTrue(refusal("union").contains("tokenizer_source: expected `base` or a model whose tokenizer has the "
                                                + "same vocabulary, found `union`"), refusal("union"))

        // Model a with two tokens' ids swapped: mergekit would permute embedding rows.
        let swapped = root + "/swapped"
        try FileManager.default.copyItem(atPath: Self.models + "/a", toPath: swapped)
        var tokenizer = try json(swapped + "/tokenizer.json")
        var model = try XCTUnwrap(tokenizer["model"] as? [String: Any])
        var vocab = try XCTUnwrap(model["vocab"] as? [String: Int])
        (vocab["w0"], vocab["w1"]) = (vocab["w1"]!, vocab["w0"]!)
        model["vocab"] = vocab
        tokenizer["model"] = model
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: URL(fileURLWithPath: swapped + "/tokenizer.json"))
        let permuted = refusal(swapped)
        XCTAssertTrue(permuted.contains("found other ids, e.g. for `w0`, `w1`"), permuted)
        XCTAssertTrue(permuted.contains("mergekit would permute the embedding rows"), permuted)

        // One token fewer than embedding rows: mergekit would shrink the embeddings.
        vocab["w1"] = nil
        model["vocab"] = vocab
        tokenizer["model"] = model
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: URL(fileURLWithPath: swapped + "/tokenizer.json"))
        let short = refusal(swapped)
        XCTAssertTrue(short.contains("expected ids 0..<32, one per embedding row, found 31 tokens"), short)

        XCTAssertTrue(refusal(nil, template: "chatml").contains("mergekit's bundled name `chatml`"))
        XCTAssertTrue(refusal(nil, template: "hello").contains("expected a Jinja template"))
        XCTAssertTrue(refusal(root + "/nothing").contains("without a tokenizer"))
        XCTAssertEqual(refusal(Self.models + "/c", template: "auto"), "accepted", "same vocabulary: accepted")
    }
}
