import Tasks
import XCTest

/// Direct-answer warm-start examples: the thinking emptied as ISPO empties it,
/// and a stable per-(step, index) choice at the asked fraction.
final class DirectAnswerTests: XCTestCase {
    func testCompletionEmptiesTheThinking() {
        XCTAssertEqual(DirectAnswer.completion(from: "T:3+4=7;7*2=14\nA:14\n"), "T:\nA:14\n")
        // The emptied form is exactly what the sequence signal conditions on.
        let span = AnswerSpan.locate(in: "T:3+4=7\nA:14\n")!
        XCTAssertEqual(span.emptiedThinking + span.marker, "T:\nA:")
        XCTAssertNil(DirectAnswer.completion(from: "T:3+4=7"))
    }

    func testSelectionFractionAndStability() {
        let n = 20_000
        let chosen = (0..<n).filter { DirectAnswer.isDirect(step: $0 / 32, index: $0 % 32, fraction: 0.25) }.count
        XCTAssertEqual(Double(chosen) / Double(n), 0.25, accuracy: 0.015)
        XCTAssertEqual(DirectAnswer.isDirect(step: 4, index: 9, fraction: 0.3), DirectAnswer.isDirect(step: 4, index: 9, fraction: 0.3))
        XCTAssertFalse((0..<1000).contains { DirectAnswer.isDirect(step: $0, index: 1, fraction: 0) })
        XCTAssertTrue((0..<1000).allSatisfy { DirectAnswer.isDirect(step: $0, index: 1, fraction: 1) })
    }
}
