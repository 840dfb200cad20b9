import XCTest

final class RolesTestsPlaceholder: XCTestCase {}
