import XCTest

final class ConfigsTestsPlaceholder: XCTestCase {}
