import XCTest

final class CommTestsPlaceholder: XCTestCase {}
