import Foundation
import ModelIO
import TestSupport
import XCTest

/// `readHuggingFaceConfig` on the config.json forms transformers writes.
final class HuggingFaceConfigTests: XCTestCase {
    let shape: [String: Any] = ["model_type": "llama", "vocab_size": 32, "hidden_size": 16, "num_hidden_layers": 2,
                                "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 24]

    func read(_ extra: [String: Any]) throws -> Float {
        let path = try temporaryDirectory(self) + "/config.json"
        try JSONSerialization.data(withJSONObject: shape.merging(extra) { $1 }).write(to: URL(fileURLWithPath: path))
        return try readHuggingFaceConfig(path).ropeTheta
    }

    func testRopeThetaOfTransformers5sRopeParameters() throws {
        XCTAssertEqual(try read(["rope_theta": 50000]), 50000)
        // transformers ≥ 5 (e.g. a SmolLM2 re-saved, or mergekit's output): no top-level rope_theta.
        XCTAssertEqual(try read(["rope_parameters": ["rope_theta": 100000, "rope_type": "default"]]), 100000)
        XCTAssertEqual(try read([:]), 10000, "neither: Llama's default")
        assertModelIOError(try read(["rope_parameters": ["rope_theta": 100000, "rope_type": "yarn", "factor": 4]]),
                           kind: .malformed, mentions: ["rope_parameters", "no RoPE scaling"])
    }
}
