import Foundation
import XCTest

/// The package root (the folder holding Package.swift), found from this file's path:
/// `Tests/TestSupport/Files.swift`.
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// A fresh temporary directory named after the test case, removed when the test ends.
public func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let name = "\(type(of: test))-\(UUID().uuidString)"
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}
