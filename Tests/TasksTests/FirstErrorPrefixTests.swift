import Tasks
import XCTest

final class FirstErrorPrefixTests: XCTestCase {
    let family = ChainTask(steps: 3)
    var problem: SyntheticProblem { family.problem(start: 17, ops: [.add(7), .mul(3), .sub(4)]) }  // T:17+7=24;24*3=72;72-4=68

    func testCutsAtTheFirstWrongStepAndBuildsTheMatchedCorrectPrefix() throws {
        // Step 2 (index 1) is wrong: 24*3=71; the student then continues from its wrong value.
        let text = "T:17+7=24;24*3=71;71-4=67\nA:67\n"
        let cut = try XCTUnwrap(try FirstErrorPrefix.cut(family: family, problem: problem, completion: text))
        XCTAssertEqual(cut.depth, 1)
        XCTAssertEqual(cut.wrongPrefix, "T:17+7=24;24*3=71;")
        XCTAssertEqual(cut.referencePrefix, "T:17+7=24;24*3=72;")
        XCTAssertEqual(Array(cut.wrongPrefix)[cut.stepStart..<cut.separator].map(String.init).joined(), "24*3=71")
        XCTAssertEqual(Array(cut.referencePrefix)[cut.stepStart..<cut.referenceSeparator].map(String.init).joined(), "24*3=72")
    }

    func testWrongStepOfADifferentLengthAndTheLastStepOnANewline() throws {
        let text = "T:17+7=24;24*3=72;72-4=6\nA:6\n"
        let cut = try XCTUnwrap(try FirstErrorPrefix.cut(family: family, problem: problem, completion: text))
        XCTAssertEqual(cut.depth, 2)
        XCTAssertEqual(cut.wrongPrefix, "T:17+7=24;24*3=72;72-4=6\n")
        XCTAssertEqual(cut.referencePrefix, "T:17+7=24;24*3=72;72-4=68\n")
        XCTAssertEqual(cut.referenceSeparator, cut.stepStart + "72-4=68".count)
        XCTAssertEqual(cut.separator, cut.stepStart + "72-4=6".count)
    }

    func testNothingToMeasureForRightMissingExtraOrUnfinishedSteps() throws {
        for text in ["T:17+7=24;24*3=72;72-4=68\nA:68\n",   // right
                     "T:17+7=24;24*3=72\nA:72\n",            // a missing step
                     "T:17+7=24;24*3=72;72-4=68;68+1=69\nA:69\n",  // an extra step
                     "T:17+7=24;24*3=7"] {                   // wrong so far, never finished
            XCTAssertNil(try FirstErrorPrefix.cut(family: family, problem: problem, completion: text), text)
        }
    }
}
