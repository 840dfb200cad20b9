import Roles
import ArgumentParser
import Foundation
import Tensors
import Tokenization
import Transformer

/// `ispo-cluster generate`: continue a prompt (or answer a chat message) with a
/// GGUF or Hugging Face model. The continuation streams to stdout; load time and
/// prefill/decode speed go to stderr.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a prompt or a chat message with a .gguf file or a Hugging Face folder.")

    @Option(help: "A .gguf file, or a Hugging Face folder (config.json, model.safetensors, tokenizer.json).")
    var model: String
    @Option(help: "Raw text to continue (special-token strings such as <|im_start|> are matched).")
    var prompt: String?
    @Option(help: "A user message, rendered as ChatML with an opened assistant turn.")
    var chat: String?
    @Option(help: "A system message before --chat.")
    var system: String?
    @Option(help: "New tokens at most.")
    var maxTokens = 64
    @Flag(help: "Take the most likely token at every step (ignores --temperature and --top-p).")
    var greedy = false
    @Option(help: "Sampling temperature (> 0).")
    var temperature: Float = 0.7
    @Option(help: "Nucleus mass in (0, 1]; 1 disables top-p.")
    var topP: Float = 0.9
    @Option(help: "Sampling seed.")
    var seed: UInt64 = 1
    @Option(help: "Threads for OpenBLAS and the elementwise kernels.")
    var threads = 2
    @Option(help: "Positions to set up (KV cache, RoPE); default min(trained context, \(ModelLoading.defaultContextCap)).")
    var maxSeqLen: Int?
    @Option(help: "tokenizer.json to use with a Hugging Face folder that has none.")
    var tokenizer: String?
    @Flag(help: "Print the prompt (as fed to the model) before the continuation.")
    var echo = false

    @Flag(help: "Load the model even if its weights hold NaN or infinity (skips the scan after loading).")
    var noCheckFinite = false

    /// Checks the option combinations before anything is loaded.
    func validate() throws {
        guard (prompt == nil) != (chat == nil) else {
            throw ValidationError("Give exactly one of --prompt <text> or --chat <message>.")
        }
        if system != nil && chat == nil { throw ValidationError("--system goes with --chat, not with --prompt.") }
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive, found \(maxTokens).") }
        guard temperature > 0, temperature.isFinite else {
            throw ValidationError("--temperature must be a positive number, found \(temperature); use --greedy for arg-max.")
        }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1], found \(topP).") }
        guard threads > 0 else { throw ValidationError("--threads must be positive, found \(threads).") }
    }

    /// Loads the model, streams the continuation to stdout and the timing to stderr.
    func run() throws {
        Blas.configure(threads: threads)
        let loadStart = Clock.now
        let loaded = try ModelLoading.load(path: model, maxSeqLen: maxSeqLen, tokenizerPath: tokenizer,
                                           checkFinite: !noCheckFinite)
        let loadSeconds = loadStart.elapsed
        let text = try promptText(template: loaded.chatTemplate)
        let ids = loaded.tokenizer.encode(text)
        let maxLen = loaded.model.config.maxSeqLen
        guard !ids.isEmpty else {
            throw ModelInputError(description: "The prompt: expected at least one token, found none. Give some text.")
        }
        guard ids.count < maxLen else {
            throw ModelInputError(description: "The prompt has \(ids.count) tokens; expected fewer than --max-seq-len \(maxLen). "
                + "Shorten the prompt or raise --max-seq-len (up to \(loaded.trainedContext)).")
        }
        if echo { writeOut(Array(text.utf8)) }
        let options = SamplingOptions(temperature: temperature, topP: topP, greedy: greedy,
                                      maxNewTokens: min(maxTokens, maxLen - ids.count), stopTokens: loaded.stopTokens)
        var out = Utf8Stream()
        let timing = decode(loaded.model, prompt: ids, options: options) { token in
            if !loaded.stopTokens.contains(token) { writeOut(out.push(loaded.tokenizer.decodeBytes([token]))) }
        }
        writeOut(out.finish() + [UInt8(ascii: "\n")])
        log(String(format: "load %.2f s; prefill %d tokens in %.3f s (%.1f tokens/s); decode %d tokens in %.3f s "
            + "(%.1f tokens/s)", loadSeconds, ids.count, timing.prefillSeconds,
            Double(ids.count) / timing.prefillSeconds, timing.decodedTokens, timing.decodeSeconds,
            Double(timing.decodedTokens) / max(timing.decodeSeconds, 1e-9)) + "; finished by \(timing.finish.rawValue)")
    }

    /// The text fed to the model: the raw prompt, or the chat rendered with the
    /// model's own chat template (ChatML when the model has none).
    func promptText(template: ModelChatTemplate) throws -> String {
        if let prompt { return prompt }
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(role: "system", content: system)) }
        messages.append(ChatMessage(role: "user", content: chat ?? ""))
        return try template.render(messages, addGenerationPrompt: true)
    }

    /// Prefill, then one token per step until a stop token or `options.maxNewTokens`;
    /// `emit` sees every new token (stop token included) as soon as it is drawn.
    func decode(_ model: Model, prompt: [Int32], options: SamplingOptions,
                emit: (Int32) -> Void) -> DecodeTiming {
        let cache = KVCache(config: model.config, slots: 1, maxLen: prompt.count + options.maxNewTokens)
        let V = model.config.vocabSize
        let scratch = FlatBuffer(count: 2 * V)
        var rng = Rng(seed: SeedMixer.derive(run: seed))
        let start = Clock.now
        var logits = model.extend(cache: cache, slots: [Int](repeating: 0, count: prompt.count), tokens: prompt,
                                  logitRows: [prompt.count - 1])
        var token = Sampler.sample(row: logits.row(0), count: V, options: options, rng: &rng, scratch: scratch.pointer).token
        let prefillSeconds = start.elapsed
        emit(token)
        var produced = 1
        let decodeStart = Clock.now
        while !options.stopTokens.contains(token) && produced < options.maxNewTokens {
            logits = model.extend(cache: cache, slots: [0], tokens: [token], logitRows: [0])
            token = Sampler.sample(row: logits.row(0), count: V, options: options, rng: &rng, scratch: scratch.pointer).token
            produced += 1
            emit(token)
        }
        return DecodeTiming(prefillSeconds: prefillSeconds, decodeSeconds: decodeStart.elapsed,
                            decodedTokens: produced - 1,
                            finish: options.stopTokens.contains(token) ? .stop : .length)
    }

    /// Writes raw bytes to stdout unbuffered, so the text streams as it is generated.
    func writeOut(_ bytes: [UInt8]) {
        if !bytes.isEmpty { FileHandle.standardOutput.write(Data(bytes)) }
    }

    /// One `[generate]` line on stderr.
    func log(_ s: String) { FileHandle.standardError.write(Data(("[generate] " + s + "\n").utf8)) }
}

/// Wall-clock split of one generation: prefill (prompt + first token) and the decode steps after it.
struct DecodeTiming {
    /// Seconds for the prompt's forward and the first draw.
    let prefillSeconds: Double
    /// Seconds for the remaining tokens.
    let decodeSeconds: Double
    /// Tokens drawn after the first one.
    let decodedTokens: Int
    /// Why generation ended.
    let finish: FinishReason
}

/// Releases bytes as whole UTF-8 characters, holding back a character split across tokens.
struct Utf8Stream {
    private var pending: [UInt8] = []

    /// Appends `bytes`; returns the prefix that ends on a character boundary.
    mutating func push(_ bytes: [UInt8]) -> [UInt8] {
        pending += bytes
        guard !pending.isEmpty else { return [] }
        var cut = pending.count
        // Look back at most 3 bytes for the lead byte of an unfinished sequence.
        for back in 1...min(3, pending.count) {
            let b = pending[pending.count - back]
            if b & 0xC0 == 0x80 { continue }  // continuation byte: keep looking
            let need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            if need > back { cut = pending.count - back }
            break
        }
        let ready = Array(pending[..<cut])
        pending.removeFirst(cut)
        return ready
    }

    /// Whatever is left (an unfinished character is written as is; terminals show U+FFFD).
    mutating func finish() -> [UInt8] {
        defer { pending = [] }
        return pending
    }
}
