import Configs
import Foundation
import Tokenization

/// `data.prompt.chat_template` and `data.prompt.system` turned into what a codec uses.
enum PromptWrappingSetup {
    /// The wrapping `prompt` asks for: nil for `model` (the codec then takes the
    /// model's own template, `modelTemplate`), ChatML, raw, or a Jinja file read
    /// now (relative paths against the working directory), given the model's
    /// BOS/EOS texts as transformers would.
    /// - Throws: `JobError` when the file is missing, empty or not a template
    ///   this Jinja subset renders, naming the key, the path and what to do.
    static func wrapping(_ prompt: PromptConfig, modelTemplate: ModelChatTemplate?) throws -> PromptWrapping? {
        switch prompt.chatTemplateChoice {
        case .model: return nil
        case .chatML: return .chatML
        case .none: return .raw
        case .file(let path):
            let text = try read(path)
            do {
                return .jinja(try ModelChatTemplate(source: text, bosToken: modelTemplate?.bosToken,
                                                    eosToken: modelTemplate?.eosToken))
            } catch {
                throw JobError("data.prompt.chat_template: \(path): expected a Jinja chat template, found one this "
                               + "renderer cannot parse (\(error)); fix the template or use model, chatml or none")
            }
        }
    }

    /// The built-in tiny model (and its checkpoints) reads prompts character by
    /// character: a chat template or a system message would only add characters
    /// outside its alphabet, so asking for one is refused here instead of
    /// failing at the first prompt.
    static func checkCharacterLevel(_ prompt: PromptConfig) throws {
        let choice = prompt.chatTemplateChoice
        guard choice == .model || choice == .none else {
            throw JobError("data.prompt.chat_template (\(prompt.chatTemplate)) needs a model with a BPE tokenizer; the "
                           + "built-in tiny model reads the raw prompt text. Set model.path to a GGUF or Hugging Face "
                           + "model, or leave data.prompt.chat_template at model")
        }
        if prompt.system != nil {
            throw JobError("data.prompt.system is set but the built-in tiny model has no chat turns (it reads the raw "
                           + "prompt text); set model.path to a chat model, or data.prompt.system to null")
        }
    }

    private static func read(_ path: String) throws -> String {
        let full = path.hasPrefix("/") ? path
            : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path).path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else {
            let near = ChatTemplateChoice.nearestKeyword(path).map { "did you mean \($0)? " } ?? ""
            throw JobError("data.prompt.chat_template (\(path)): expected model, chatml, none or the path of a Jinja "
                           + "template file, found neither a keyword nor a file at \(full); \(near)"
                           + "check the path (relative paths are under the working directory)")
        }
        guard let text = try? String(contentsOfFile: full, encoding: .utf8),
              !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw JobError("data.prompt.chat_template (\(path)): expected a UTF-8 Jinja template in \(full), found an "
                           + "empty or unreadable file")
        }
        return text
    }
}
