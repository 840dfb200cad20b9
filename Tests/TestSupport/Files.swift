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

extension XCTestCase {
    /// A fresh path in the temporary directory, named after the test case and `name`, that
    /// does not exist yet (for code that creates its own directory, such as a run's
    /// output); whatever is there is removed when the test ends.
    public func temporaryPath(_ name: String) -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(type(of: self))-\(name)-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }
}
