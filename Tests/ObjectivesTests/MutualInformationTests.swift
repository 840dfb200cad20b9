import Foundation
import Objectives
import XCTest

/// The plug-in mutual information used for FLaG's routing specialisation.
final class MutualInformationTests: XCTestCase {
    func testHandValues() {
        // Identical balanced binary labelings: log 2.
        XCTAssertEqual(DetectionMetrics.mutualInformation([0, 0, 1, 1], ["a", "a", "b", "b"]), log(2), accuracy: 1e-12)
        // A relabeling does not change it.
        XCTAssertEqual(DetectionMetrics.mutualInformation([1, 1, 0, 0], ["a", "a", "b", "b"]), log(2), accuracy: 1e-12)
        // Independent (every combination once): 0.
        XCTAssertEqual(DetectionMetrics.mutualInformation([0, 0, 1, 1], ["a", "b", "a", "b"]), 0, accuracy: 1e-12)
        // One constant labeling: 0.
        XCTAssertEqual(DetectionMetrics.mutualInformation([3, 3, 3], ["a", "b", "c"]), 0, accuracy: 1e-12)
        // p(x,y) = {(0,a): 1/2, (1,a): 1/4, (1,b): 1/4}: I = H(Y) − H(Y|X) = H(1/4) − (1/2)·log 2.
        let h = -(0.25 * log(0.25) + 0.75 * log(0.75))
        XCTAssertEqual(DetectionMetrics.mutualInformation([0, 0, 1, 1], ["a", "a", "a", "b"]), h - 0.5 * log(2), accuracy: 1e-12)
    }
}
