import XCTest
@testable import Configs

/// The memory estimate: its arithmetic written out by hand for the defaults,
/// saturation instead of overflow, and the refusal with its breakdown.
final class MemoryEstimateTests: XCTestCase {
    private let gib = 1 << 30

    func testDefaultTinyModelCountedByHand() throws {
        var c = Config.defaults
        c.data.maxPromptLength = 48
        c.data.maxResponseLength = 48
        let e = try XCTUnwrap(MemoryEstimate(config: c))
        // V 256, D 128, L 4, H 4, K = 2 × 32 = 64, F 384, T = 96.
        // Per layer: 2·128² + 2·128·64 + 3·128·384 + 2·128 = 32768 + 16384 + 147456 + 256 = 196864.
        // Total: 2·256·128 + 4·196864 + 128 = 65536 + 787456 + 128 = 853120.
        XCTAssertEqual(e.parameterCount, 853_120)
        XCTAssertEqual(e.parameters, 3_412_480)
        XCTAssertEqual(e.gradients, 3_412_480)
        XCTAssertEqual(e.adamMoments, 6_824_960)
        // 8 prompts × 8 responses × 96 tokens × 4 layers × 64 × 2 × 4 bytes.
        XCTAssertEqual(e.kvCaches, 12_582_912)
        // 4 sequences × 96 tokens × (4 × (10·128 + 3·384 + 4·96) + 2·256) × 4 bytes = 4 · 96 · 11776 · 4.
        XCTAssertEqual(e.activations, 18_087_936)
        XCTAssertEqual(e.total, 3_412_480 * 4 + 12_582_912 + 18_087_936)
        XCTAssertNoThrow(try c.validate(memoryBytes: e.total))
        XCTAssertThrowsError(try c.validate(memoryBytes: e.total - 1))
    }

    func testVocabularySizeIsUsedWhenSet() throws {
        var c = Config.defaults
        c.model.tiny.vocabSize = 1_000
        let e = try XCTUnwrap(MemoryEstimate(config: c))
        XCTAssertEqual(e.parameterCount, 2 * 1_000 * 128 + 4 * 196_864 + 128)
    }

    func testLoadedModelsAreNotEstimated() {
        var c = Config.defaults
        c.model.path = "models/qwen.gguf"
        XCTAssertNil(MemoryEstimate(config: c))
        XCTAssertNoThrow(try c.validate(memoryBytes: 1))
    }

    func testLargestSettingsSaturateInsteadOfTrapping() throws {
        var c = Config.defaults
        c.model.tiny.dim = 65_536; c.model.tiny.layers = 1_024; c.model.tiny.ffnDim = 262_144
        c.model.tiny.heads = 1; c.model.tiny.kvHeads = 1; c.model.tiny.vocabSize = 1_048_576
        c.data.trainBatchSize = 65_536; c.rollout.n = 4_096
        c.data.maxPromptLength = 131_072; c.data.maxResponseLength = 131_072
        c.actor.ppoMicroBatchSizePerGPU = 65_536
        let e = try XCTUnwrap(MemoryEstimate(config: c))
        XCTAssertEqual(e.kvCaches, Int.max)
        XCTAssertEqual(e.total, Int.max)
        XCTAssertGreaterThan(e.parameters, 0)
    }

    func testABigModelIsRefusedWithItsBreakdown() throws {
        let c = try Config.load(yamlFile: nil, overrides: [
            "model.tiny.dim=4096", "model.tiny.layers=32", "model.tiny.heads=32", "model.tiny.kv_heads=8",
            "model.tiny.ffn_dim=11008", "model.tiny.max_seq_len=2048",
            "data.max_prompt_length=1024", "data.max_response_length=1024",
            "data.train_batch_size=64", "rollout.n=16", "actor.ppo_mini_batch_size=64",
        ])
        XCTAssertNoThrow(try c.validate(), "valid apart from memory")
        let p = configError { try c.validate(memoryBytes: 16 * gib) }.problems
        XCTAssertEqual(p.count, 1, "\(p)")
        let m = p.first?.message ?? ""
        let e = try XCTUnwrap(MemoryEstimate(config: c))
        // 1024 sequences × 2048 tokens × 32 layers × 1024 × 2 × 4 bytes = 512 GiB.
        XCTAssertEqual(e.kvCaches, 512 * gib)
        for fragment in ["the run needs an estimated \(MemoryEstimate.gib(e.total)) of memory",
                         "the machine has 16.00 GiB of RAM", "KV caches 512.00 GiB",
                         "parameters \(MemoryEstimate.gib(e.parameters)) (\(e.parameterCount) numbers × 4 bytes)",
                         "AdamW moments", "activations", "data.train_batch_size (64) × rollout.n (16) sequences",
                         "2048 tokens (data.max_prompt_length + data.max_response_length)",
                         "model.tiny.layers (32)", "key/value width (1024)", "lower the largest part"] {
            XCTAssertTrue(m.contains(fragment), "missing «\(fragment)» in \(m)")
        }
        XCTAssertNoThrow(try c.validate(memoryBytes: e.total))
    }

    func testMemoryIsCheckedOnlyOnAnOtherwiseValidConfig() throws {
        var c = Config.defaults   // lengths 512 + 256 do not fit the tiny model
        c.rollout.n = 8
        let m = c.validationProblems(memoryBytes: 1).map(\.message)
        XCTAssertEqual(m.count, 1, "\(m)")
        XCTAssertTrue(m.first?.contains("exceeds model.tiny.max_seq_len") ?? false, "\(m)")
    }
}

/// A loaded model's dimensions (known once its file is read) are checked the same way.
final class LoadedModelMemoryTests: XCTestCase {
    func testALoadedModelWhoseTrainingStateCannotFitIsRefusedWithTheBreakdown() throws {
        var config = Config()
        config.model.path = "model.gguf"
        config.data.trainBatchSize = 4096; config.rollout.n = 512; config.data.maxResponseLength = 4096
        let smol = ModelDimensions(vocabSize: 49_152, dim: 576, layers: 30, heads: 9, kvHeads: 3, ffnDim: 1536)
        let problem = try XCTUnwrap(config.memoryProblem(model: smol, memoryBytes: 24 << 30))
        XCTAssertTrue(problem.message.contains("model.gguf") && problem.message.contains("KV caches"), problem.message)
        XCTAssertTrue(problem.message.contains("rollout.n"), "names the keys to lower")
        // The same model with a small batch fits.
        config.data.trainBatchSize = 4; config.rollout.n = 4; config.data.maxResponseLength = 256
        XCTAssertNil(config.memoryProblem(model: smol, memoryBytes: 24 << 30))
        // The tiny-model estimate is the same computation with the tiny dimensions.
        let tiny = Config()
        let t = tiny.model.tiny
        XCTAssertEqual(MemoryEstimate(config: tiny),
                       MemoryEstimate(config: tiny, model: ModelDimensions(vocabSize: t.vocabSize ?? MemoryEstimate.assumedVocabSize,
                                                                           dim: t.dim, layers: t.layers, heads: t.heads,
                                                                           kvHeads: t.kvHeads, ffnDim: t.ffnDim)))
    }
}
