import XCTest

/// Asserts that `body` throws an error of type `E` whose description contains every one of
/// `fragments` (the user-facing message names what was expected, what was found and what to
/// do), then hands the error to `check` for type-specific assertions.
public func assertThrows<E: Error & CustomStringConvertible, T>(
    _ body: @autoclosure () throws -> T, _ type: E.Type, mentions fragments: [String],
    file: StaticString = #filePath, line: UInt = #line, _ check: (E) -> Void = { _ in }
) {
    do {
        _ = try body()
        XCTFail("expected a \(E.self) mentioning \(fragments), but nothing was thrown", file: file, line: line)
    } catch let error as E {
        check(error)
        for f in fragments {
            XCTAssertTrue(error.description.contains(f), "'\(error)' should mention '\(f)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected a \(E.self), got \(Swift.type(of: error)): \(error)", file: file, line: line)
    }
}
