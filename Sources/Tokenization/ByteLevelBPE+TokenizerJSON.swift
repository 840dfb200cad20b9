import Foundation

extension ByteLevelBPE {
    /// Loads a Hugging Face `tokenizer.json` with a byte-level BPE model.
    ///
    /// Reads `model.vocab`, `model.merges` (either `"a b"` strings or `["a", "b"]`
    /// pairs) and `added_tokens` (all matched literally, like Hugging Face does).
    /// The pre-tokenizer must be `ByteLevel` (GPT-2 split) or a `Sequence` of
    /// `Digits(individual_digits: true)` followed by `ByteLevel` (SmolLM split).
    ///
    /// - Throws: `TokenizationError` naming `path` and the problem when the
    ///   file cannot be read, is not valid JSON, or does not describe a
    ///   supported, self-consistent byte-level BPE tokenizer.
    public static func load(tokenizerJSON path: String) throws -> ByteLevelBPE {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TokenizationError(
                "tokenizer.json '\(path)': could not read the file (\(error.localizedDescription)); "
                    + "check the path, or run Launch/fetch-data.sh to download the reference tokenizer")
        }
        return try load(tokenizerJSONData: data, source: path)
    }

    /// Loads a Hugging Face `tokenizer.json` from memory; `source` names it in
    /// error messages. See `load(tokenizerJSON:)` for what is supported.
    public static func load(tokenizerJSONData data: Data,
                            source: String = "<in-memory tokenizer.json>") throws -> ByteLevelBPE {
        let file = TokenizerJSONFile(source: source)
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw file.error("expected a JSON object at the top level, found another JSON value")
            }
            root = object
        } catch let error as TokenizationError {
            throw error
        } catch {
            throw file.error(
                "expected valid JSON, but parsing failed (\(error.localizedDescription)); the file is "
                    + "probably truncated or corrupted: download it again (Launch/fetch-data.sh)")
        }
        if let normalizer = root["normalizer"], !(normalizer is NSNull) {
            throw file.error("expected \"normalizer\": null, found a normalizer; only byte-level BPE "
                + "tokenizers without normalization (GPT-2, SmolLM) are supported")
        }
        let preTokenizer = try file.preTokenizerKind(root["pre_tokenizer"])
        guard let model = root["model"] as? [String: Any] else {
            throw file.error("expected a \"model\" object, found none; is this a Hugging Face tokenizer.json?")
        }
        if let type = model["type"], (type as? String) != "BPE" {
            throw file.error("expected model.type \"BPE\", found \(String(describing: type)); "
                + "only byte-level BPE models are supported")
        }
        if let ignore = model["ignore_merges"] as? Bool, ignore {
            throw file.error("expected model.ignore_merges false, found true; that mode is not supported")
        }
        guard let vocab = model["vocab"] as? [String: Any] else {
            throw file.error("expected model.vocab, an object mapping token strings to ids, found "
                + (model["vocab"] == nil ? "nothing" : "another JSON value"))
        }
        var assignments: [(token: String, id: Int)] = []
        assignments.reserveCapacity(vocab.count)
        for (token, value) in vocab {
            assignments.append((token, try file.id(value, what: "model.vocab[\(token.debugDescription)]")))
        }
        var specialIDs = Set<Int32>()
        if let added = root["added_tokens"], !(added is NSNull) {
            guard let entries = added as? [Any] else {
                throw file.error("expected added_tokens to be an array, found another JSON value")
            }
            for (index, entry) in entries.enumerated() {
                guard let object = entry as? [String: Any],
                      let content = object["content"] as? String, let rawID = object["id"] else {
                    throw file.error("added_tokens[\(index)]: expected an object with \"id\" and \"content\"")
                }
                let id = try file.id(rawID, what: "added_tokens[\(index)].id")
                assignments.append((content, id))
                specialIDs.insert(Int32(id))
            }
        }
        let tokens = try file.tokenArray(assignments)
        let pairs = try file.mergePairs(model["merges"])
        do {
            return try ByteLevelBPE(tokens: tokens, mergePairs: pairs, specialIDs: specialIDs,
                                    preTokenizer: preTokenizer)
        } catch let error as TokenizationError {
            throw file.error(error.message)
        }
    }
}

/// Field-level parsing of a tokenizer.json, with errors that name the file.
private struct TokenizerJSONFile {
    let source: String

    func error(_ problem: String) -> TokenizationError {
        TokenizationError("tokenizer.json '\(source)': \(problem)")
    }

    /// A non-negative token id that fits in Int32.
    func id(_ value: Any, what: String) throws -> Int {
        guard let id = value as? Int, id >= 0, id < Int(Int32.max) else {
            throw error("\(what): expected a non-negative integer token id, found \(String(describing: value))")
        }
        return id
    }

    /// Token strings indexed by id; ids must be exactly `0..<count`.
    func tokenArray(_ assignments: [(token: String, id: Int)]) throws -> [String] {
        var byID: [Int: String] = [:]
        for (token, id) in assignments {
            if let existing = byID[id], existing != token {
                throw error("token id \(id) is given to both \(existing.debugDescription) and "
                    + "\(token.debugDescription); expected one string per id")
            }
            byID[id] = token
        }
        guard !byID.isEmpty else {
            throw error("model.vocab is empty; expected the tokenizer's vocabulary")
        }
        var tokens = [String](repeating: "", count: byID.count)
        for (id, token) in byID {
            guard id < tokens.count else {
                let gap = (0..<tokens.count).first { byID[$0] == nil } ?? 0
                throw error("token ids must be contiguous from 0, but \(byID.count) tokens use ids up to "
                    + "\(byID.keys.max() ?? id) and id \(gap) has no token; the vocabulary is incomplete")
            }
            tokens[id] = token
        }
        return tokens
    }

    /// `model.merges` as pairs: `"a b"` strings or `["a", "b"]` arrays.
    func mergePairs(_ value: Any?) throws -> [(String, String)] {
        guard let value, !(value is NSNull) else { return [] }
        guard let list = value as? [Any] else {
            throw error("expected model.merges to be an array, found another JSON value")
        }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(list.count)
        for (rank, entry) in list.enumerated() {
            if let text = entry as? String {
                let parts = text.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw error("model.merges[\(rank)] \(text.debugDescription): expected two tokens "
                        + "separated by a single space")
                }
                pairs.append((String(parts[0]), String(parts[1])))
            } else if let pair = entry as? [Any], pair.count == 2,
                      let left = pair[0] as? String, let right = pair[1] as? String {
                pairs.append((left, right))
            } else {
                throw error("model.merges[\(rank)]: expected \"a b\" or [\"a\", \"b\"], "
                    + "found \(String(describing: entry))")
            }
        }
        return pairs
    }

    /// The supported pre-tokenizer that `value` (the `pre_tokenizer` field) describes.
    func preTokenizerKind(_ value: Any?) throws -> PreTokenizerKind {
        let expected = "expected pre_tokenizer ByteLevel (GPT-2) or Sequence[Digits(individual_digits: "
            + "true), ByteLevel] (SmolLM)"
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw error("\(expected), found \(value.map { String(describing: $0) } ?? "nothing")")
        }
        switch type {
        case "ByteLevel":
            try checkByteLevel(object)
            return .gpt2
        case "Sequence":
            guard let steps = object["pretokenizers"] as? [[String: Any]] else {
                throw error("\(expected), found a Sequence without a \"pretokenizers\" array")
            }
            let types = steps.map { $0["type"] as? String ?? "?" }
            if types == ["ByteLevel"] {
                try checkByteLevel(steps[0])
                return .gpt2
            }
            if types == ["Digits", "ByteLevel"], steps[0]["individual_digits"] as? Bool == true {
                try checkByteLevel(steps[1])
                return .smollm
            }
            throw error("\(expected), found Sequence\(types)")
        default:
            throw error("\(expected), found \(type)")
        }
    }

    private func checkByteLevel(_ object: [String: Any]) throws {
        if object["add_prefix_space"] as? Bool == true {
            throw error("expected ByteLevel add_prefix_space false, found true; that mode is not supported")
        }
        if object["use_regex"] as? Bool == false {
            throw error("expected ByteLevel use_regex true, found false; that mode is not supported")
        }
    }
}
