import Foundation
import XCTest
@testable import Configs

/// Docs/ConfigReference.md is generated from the Swift definitions; these tests
/// keep the doc comments complete and the file current.
final class ConfigReferenceTests: XCTestCase {
    func testEveryKeyHasADocCommentWithItsTrueDefault() throws {
        let props = try ConfigReferenceDoc.properties()
        for info in Config.keyReference {
            guard let prop = ConfigReferenceDoc.property(for: info, in: props) else {
                XCTFail("\(info.key): no `public var` for it in \(info.declaringType)")
                continue
            }
            let (meaning, documented) = ConfigReferenceDoc.splitDefault(prop.doc)
            XCTAssertFalse(meaning.isEmpty, "\(info.key): write a /// comment saying what it means")
            guard let documented else {
                XCTFail("\(info.key): end its /// comment with Default: `\(info.defaultValue)`.")
                continue
            }
            XCTAssertTrue(ConfigReferenceDoc.sameDefault(documented, info.defaultValue),
                          "\(info.key): the comment says Default: `\(documented)` but the default is \(info.defaultValue)")
        }
    }

    func testEveryChoiceTypeIsListed() throws {
        let props = try ConfigReferenceDoc.properties()
        let known: Set<String> = ["Int", "Double", "Bool", "String", "[String]", "[Double]", "Int?", "Double?",
                                  "Bool?", "String?"]
        for info in Config.keyReference {
            guard let type = ConfigReferenceDoc.property(for: info, in: props)?.type else { continue }
            XCTAssertTrue(known.contains(type) || ConfigReferenceDoc.choices[type] != nil || type.hasPrefix("["),
                          "\(info.key) has type \(type): add it to ConfigReferenceDoc.choices")
        }
    }

    func testReferenceDocIsCurrent() throws {
        let generated = try ConfigReferenceDoc.markdown()
        let url = ConfigReferenceDoc.root.appendingPathComponent("Docs/ConfigReference.md")
        if ProcessInfo.processInfo.environment["UPDATE_CONFIG_REFERENCE"] == "1" {
            try generated.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let current = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        XCTAssertTrue(current == generated, "Docs/ConfigReference.md is out of date with Sources/Configs; regenerate: "
                        + "UPDATE_CONFIG_REFERENCE=1 swift test --scratch-path .build-cfg --filter ConfigReferenceTests")
    }

    func testDocListsEveryKeyAndAlias() throws {
        let doc = try ConfigReferenceDoc.markdown()
        for info in Config.keyReference {
            XCTAssertTrue(doc.contains("| `\(info.key)` |"), "\(info.key) missing")
        }
        for (alias, _) in Config.aliasTable {
            XCTAssertTrue(doc.contains("`\(alias)`"), "alias \(alias) missing")
        }
    }
}
