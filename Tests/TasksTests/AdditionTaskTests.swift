import Tasks
import Tensors
import XCTest

final class AdditionTaskTests: XCTestCase {
    func testWorkedSolutionShowsCarries() {
        let p = AdditionTask(digits: 2).problem(47, 85)
        XCTAssertEqual(p.prompt, "Q:47+85\n")
        XCTAssertEqual(p.completion, "T:7+5=12,c1;4+8+1=13,c1\nA:132\n")
    }

    func testSamplesHaveTheRightSizeAndCorrectAnswers() {
        var rng = Rng(seed: 1)
        let task = AdditionTask(digits: 3)
        for _ in 0..<200 {
            let p = task.sample(&rng)
            let body = p.prompt.dropFirst(2).dropLast()
            let parts = body.split(separator: "+").map { Int($0)! }
            XCTAssertTrue(parts.allSatisfy { (100...999).contains($0) })
            XCTAssertEqual(Int(p.answer), parts[0] + parts[1])
            XCTAssertTrue(p.completion.allSatisfy(syntheticAlphabet.contains))
        }
    }

    func testFinalAnswerExtraction() {
        XCTAssertEqual(extractFinalAnswer("T:1+1=2,c0\nA:2\n"), "2")
        XCTAssertEqual(extractFinalAnswer("A:5\nA: 17 \nmore"), "17")
        XCTAssertNil(extractFinalAnswer("T:no answer"))
        XCTAssertNil(extractFinalAnswer("A:\n"))
    }
}
