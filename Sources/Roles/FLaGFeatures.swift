import Checkpoint
import Foundation
import Objectives
import Tasks
import Tensors
import Transformer

/// One answer's FLaG feature vector and the per-token values it came from.
public struct FLaGFeatureVector: Sendable {
    /// Representation features (3·C): the last answer token's hidden state, the mean
    /// answer hidden state, and the drift mean(answer) − mean(question).
    public var representation: [Float]
    /// The 7 `FLaGTokenFeatures`.
    public var token: [Double]
    /// log p of each answer token (A).
    public var logProbs: [Float]
    /// Entropy of the predictive distribution at each answer token (A).
    public var entropies: [Float]
    /// `[representation | token]`, the head's input.
    public var combined: [Double] { representation.map(Double.init) + token }
}

/// Features for the FLaG head from a frozen model on a stored answer: one
/// teacher-forced forward of prompt + answer gives the hidden states (read at
/// `depth`, the residual after that many blocks; the final-norm input by
/// default) and the answer tokens' log-probs and entropies.
public struct FLaGFeatureExtractor {
    /// The frozen model (its parameters are only read).
    public let model: Model
    /// Residual depth the hidden states are read at (0…layers).
    public let depth: Int
    /// Tokens read by `answer_token_prob`.
    public let answerTail: Int

    /// An extractor reading hidden states at `depth` (nil = `model.config.layers`).
    public init(model: Model, depth: Int? = nil, answerTail: Int = FLaGTokenFeatures.defaultAnswerTail) {
        let d = depth ?? model.config.layers
        precondition(d >= 0 && d <= model.config.layers, "FLaG features: depth \(d) outside 0…\(model.config.layers)")
        self.model = model; self.depth = d; self.answerTail = answerTail
    }

    /// Length of `representation`.
    public var representationDim: Int { 3 * model.config.dim }

    /// The features of `answer` given `prompt` (token ids, the prompt already formatted).
    /// Throws when either is empty or together they exceed the model's positions.
    public func features(prompt: [Int32], answer: [Int32]) throws -> FLaGFeatureVector {
        let P = prompt.count, A = answer.count, n = P + A, C = model.config.dim
        guard P >= 1, A >= 1 else {
            throw ModelInputError(description: "FLaG features: expected a prompt and an answer of at least one token each, "
                                  + "found \(P) and \(A) tokens; drop empty samples from the dump")
        }
        guard n <= model.config.maxSeqLen else {
            throw ModelInputError(description: "FLaG features: prompt + answer is \(n) tokens, the model holds "
                                  + "\(model.config.maxSeqLen) positions; raise --max-seq-len or skip long samples")
        }
        let sequence = prompt + answer
        let (logits, hidden) = model.forwardWithHidden(TokenBatch(batchSize: 1, seqLen: n, tokens: sequence), depths: [depth])
        // Row t predicts token t+1: answer token P+j is scored at row P+j−1.
        var targets = [Int32](repeating: -1, count: n)
        for t in (P - 1)..<(n - 1) { targets[t] = sequence[t + 1] }
        let (lpAll, entAll) = PolicyLoss.targetLogProbs(logits, targets: targets)
        let lp = Array(lpAll[(P - 1)..<(n - 1)]), ent = Array(entAll[(P - 1)..<(n - 1)])
        var acc = FLaGFeatureAccumulator(promptLength: P, channels: C)
        hidden[0].withUnsafeBufferPointer { h in for t in 0..<n { acc.addRow(h.baseAddress! + t * C) } }
        for j in 0..<A { acc.addToken(logProb: lp[j], entropy: ent[j]) }
        let (representation, token) = acc.features(answerTail: answerTail)!
        return FLaGFeatureVector(representation: representation, token: token, logProbs: lp, entropies: ent)
    }
}

/// Loading the frozen model for `detect features`: a GGUF file or Hugging Face
/// folder with its tokenizer and chat template, or a tiny model's checkpoint /
/// run directory with the synthetic tasks' character codec.
public enum FLaGModelLoading {
    /// The model and the codec that encodes the dump's prompts and responses.
    public static func load(path: String, maxSeqLen: Int) throws -> (Model, TextCodec) {
        if CheckpointResolver.isCheckpointLocation(path) {
            return (try ModelSource.load(path, maxSeqLen: maxSeqLen), try CharCodec(alphabet: syntheticAlphabet))
        }
        let loaded = try ModelLoading.load(path: path, maxSeqLen: maxSeqLen)
        return (loaded.model, BPECodec(tokenizer: loaded.tokenizer, chatTemplate: loaded.chatTemplate))
    }
}
