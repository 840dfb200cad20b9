import Tasks
import XCTest

/// Where ISPO's sequence signal finds the answer in a response.
final class AnswerSpanTests: XCTestCase {
    func testSyntheticTraceAnswerFollowsTheLastALine() throws {
        let s = try XCTUnwrap(AnswerSpan.locate(in: "T:7+5=12,c1;0+0+1=1\nA:112"))
        XCTAssertEqual(s.markerStart, 20)
        XCTAssertEqual(s.answerStart, 22)
        XCTAssertEqual(s.emptiedThinking, "T:\n")
        XCTAssertEqual(s.marker, "A:")
    }

    func testHashesAndBoxedMarkersSkipSpaces() throws {
        let g = try XCTUnwrap(AnswerSpan.locate(in: "3 + 4 = 7 #### 7"))
        XCTAssertEqual(g.markerStart, 10)
        XCTAssertEqual(g.answerStart, 15)
        XCTAssertEqual(g.marker, "#### ")
        XCTAssertEqual(g.emptiedThinking, "")
        let b = try XCTUnwrap(AnswerSpan.locate(in: "so \\boxed{1} no, \\boxed{2}"))
        XCTAssertEqual(b.answerStart, Array("so \\boxed{1} no, \\boxed{".utf8).count)
    }

    func testNoMarkerOrNothingAfterItGivesNil() {
        XCTAssertNil(AnswerSpan.locate(in: "T:1+1=2"))
        XCTAssertNil(AnswerSpan.locate(in: "T:1+1=2\nA:"))
        XCTAssertNil(AnswerSpan.locate(in: "the answer is 7"))
        XCTAssertNil(AnswerSpan.locate(in: "xA:3"))  // A: must start a line
    }
}
