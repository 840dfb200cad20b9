import Foundation
import XCTest
@testable import Configs

/// Documents that are too large, or whose aliases would expand past the limit,
/// are refused with a message before anything is expanded.
final class YAMLLimitsTests: XCTestCase {
    /// Tests/Fixtures/alias-bomb.yaml: 9 levels of 10 aliases, 10^9 values from about 500 bytes.
    private let bombPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/alias-bomb.yaml").path

    func testAliasBombFileIsRefusedBeforeExpanding() throws {
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: bombPath)).count
        let started = Date()
        let p = configError { try Config.load(yamlFile: bombPath) }.problems
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "the limit must stop the count early")
        XCTAssertEqual(p.count, 1, p.map(\.message).joined(separator: "\n"))
        let m = p.first?.message ?? ""
        XCTAssertTrue(m.contains("expands to more than \(YAMLLimits.maxExpandedValues) values"), m)
        XCTAssertTrue(m.contains("aliases (`*name`)"), m)
        XCTAssertTrue(m.contains("writes only 29 values in \(bytes) bytes"), m)
        XCTAssertTrue(m.contains("an alias bomb"), m)
        XCTAssertTrue(m.contains("remove the nested aliases"), m)
        XCTAssertEqual(p.first?.source, .file(name: bombPath, line: 1, column: 1))
    }

    func testAliasBombInAMergekitFileIsRefused() {
        let p = configError { try MergeConfig.load(mergekitFile: bombPath) }.problems
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p.first?.message.contains("alias bomb") ?? false, "\(p)")
    }

    func testAliasBombInAnOverrideNamesTheOverride() {
        var levels = ["&a [" + Array(repeating: "x", count: 10).joined(separator: ",") + "]"]
        for (prev, name) in zip("abcdefgh", "bcdefghi") {
            levels.append("&\(name) [" + Array(repeating: "*\(prev)", count: 10).joined(separator: ",") + "]")
        }
        let text = "data.train_files=[" + levels.joined(separator: ", ") + "]"
        let p = configError { try Config.load(yamlFile: nil, overrides: ["rollout.n=4", text]) }.problems
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p.first?.message.contains("alias bomb") ?? false, "\(p)")
        XCTAssertEqual(p.first?.source, .override(index: 2, text: text))
    }

    func testOrdinaryAnchorsStillLoad() throws {
        let yaml = """
            merge:
              parameters: &shared {weight: 0.5, density: 0.7}
              models:
                - model: a
                  parameters: *shared
                - model: b
                  parameters: *shared
            """
        let c = try Config.load(yamlText: yaml)
        XCTAssertEqual(c.merge.models.map(\.parameters.weight), [0.5, 0.5])
        XCTAssertEqual(c.merge.models.map(\.parameters.density), [0.7, 0.7])
    }

    func testTheExpansionLimitCountsEveryAliasAsAFullCopy() {
        // [&a [x × 1000], *a × k] is 1 + 1001 × (k + 1) values: k = 98 gives 99 100 (under the
        // limit of 100 000, so only the list-shape problem remains), k = 99 gives 100 101.
        func problems(aliases k: Int) -> [ConfigProblem] {
            let anchor = "&a [" + Array(repeating: "x", count: 1_000).joined(separator: ",") + "]"
            let text = "data.train_files=[" + ([anchor] + Array(repeating: "*a", count: k)).joined(separator: ",") + "]"
            return configError { try Config.load(yamlFile: nil, overrides: [text]) }.problems
        }
        XCTAssertEqual(YAMLLimits.maxExpandedValues, 100_000)
        let under = problems(aliases: 98)
        XCTAssertFalse(under.contains { $0.message.contains("alias bomb") }, "\(under)")
        XCTAssertTrue(under.first?.message.contains("expected a single value in this list") ?? false, "\(under)")
        let over = problems(aliases: 99)
        XCTAssertEqual(over.count, 1)
        XCTAssertTrue(over.first?.message.contains("writes only 1002 values") ?? false, "\(over)")
    }

    func testDocumentOverTheSizeLimitIsRefused() throws {
        let padding = "# " + String(repeating: "x", count: YAMLLimits.maxDocumentBytes) + "\n"
        let text = "rollout:\n  n: 4\n" + padding
        let p = configError { try Config.load(yamlText: text, sourceName: "big.yaml") }.problems
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p.first?.message.contains("is \(text.utf8.count) bytes: expected at most "
                                                + "\(YAMLLimits.maxDocumentBytes) bytes (1 MiB)") ?? false, "\(p)")
        let path = try temporaryYAML(text)
        let q = configError { try Config.load(yamlFile: path) }.problems
        XCTAssertEqual(q.first?.source, .file(name: path, line: 1, column: 1))
        XCTAssertTrue(q.first?.message.contains("expected at most") ?? false, "\(q)")
        let r = configError { try MergeConfig.load(mergekitFile: path) }.problems
        XCTAssertEqual(r.first?.source, .file(name: path, line: 1, column: 1))
        XCTAssertTrue(r.first?.message.contains("expected at most") ?? false, "\(r)")
        // Just under the limit loads.
        let fits = "rollout:\n  n: 4\n# " + String(repeating: "x", count: YAMLLimits.maxDocumentBytes - 100) + "\n"
        XCTAssertEqual(try Config.load(yamlText: fits).rollout.n, 4)
    }

    func testDeepFlowNestingIsRefusedBeforeParsing() {
        // 200 000 levels overflowed the stack (SIGSEGV) in the parser; 2 000 in the tree conversion.
        for depth in [2_000, 200_000] {
            let text = "rollout: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
            let p = configError { try Config.load(yamlText: text, sourceName: "deep.yaml") }.problems
            XCTAssertEqual(p.count, 1)
            XCTAssertTrue(p.first?.message.contains("nests lists and mappings \(depth + 1) levels deep: expected at "
                                                    + "most \(YAMLLimits.maxNestingDepth)") ?? false, "\(p)")
            XCTAssertEqual(p.first?.source, .file(name: "deep.yaml", line: 1, column: 1))
        }
    }

    func testDeepBlockNestingIsRefused() {
        let text = String(repeating: "- ", count: 150) + "x\n"
        let p = configError { try Config.load(yamlText: text) }.problems
        XCTAssertTrue(p.first?.message.contains("nests lists and mappings 151 levels deep") ?? false, "\(p)")
    }

    func testNestingBuiltFromAliasesIsRefused() {
        // Each anchor nests the previous one 4 levels deeper: 30 anchors, 121 levels, 151 values.
        var lines = ["a0: &a0 [[[[x]]]]"]
        for i in 1..<30 { lines.append("a\(i): &a\(i) [[[[*a\(i - 1)]]]]") }
        let p = configError { try Config.load(yamlText: lines.joined(separator: "\n")) }.problems
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p.first?.message.contains("nests lists and mappings more than 100 levels deep") ?? false, "\(p)")
    }

    func testNestingBoundOfAnOrdinaryDocument() {
        // Line 3: 4 columns of indentation, `- `, the mapping, `[` and `{`.
        XCTAssertEqual(YAMLLimits.nestingBound("a:\n  b:\n    - [1, {c: 2}]\n"), 8)
        // Brackets inside quoted scalars and comments do not count; an apostrophe inside a word opens no quote.
        XCTAssertEqual(YAMLLimits.nestingBound("a: \"[[[[\" # [[[[\nb: don't [x]\n"), 2)
        XCTAssertEqual(YAMLLimits.nestingBound("a: 'it''s [[['\nb: [c]\n"), 2)
    }
}
