import Tasks
import Tensors
import XCTest

/// The `checked` family (#18): chains whose question gives every second
/// running value, so that a wrong step contradicts the question.
final class CheckedChainTaskTests: XCTestCase {
    func testWorkedExample() throws {
        let f = CheckedChainTask(steps: 4)
        let p = f.problem(start: 17, ops: [.add(7), .mul(3), .sub(4), .add(5)])
        XCTAssertEqual(p.prompt, "Q:17,+7,*3=72,-4,+5\n", "a checkpoint after operation 2; none after the last (4)")
        XCTAssertEqual(p.completion, "T:17+7=24;24*3=72;72-4=68;68+5=73\nA:73\n")
        XCTAssertEqual(CheckedChainTask(steps: 5).problem(start: 2, ops: [.add(1), .mul(2), .sub(1), .mul(3), .add(9)]).prompt,
                       "Q:2,+1,*2=6,-1,*3=15,+9\n")
        XCTAssertEqual(try SyntheticFamilies.named("checked:4").spec, "checked:4")
        XCTAssertEqual(AnswerFormat.known(source: "checked:4"), .synthetic)
    }

    /// Same draws as `chain`: the operations are chain's, with checkpoints added.
    func testSamplesAreChainsWithTheirRunningValues() throws {
        for steps in [3, 6, 10] {
            var a = Rng(seed: 5), b = Rng(seed: 5)
            for _ in 0..<30 {
                let checked = CheckedChainTask(steps: steps).sample(&a), chain = ChainTask(steps: steps).sample(&b)
                XCTAssertEqual(checked.thinking, chain.thinking)
                XCTAssertEqual(checked.answer, chain.answer)
                let withoutCheckpoints = checked.prompt.split(separator: ",").map { $0.split(separator: "=")[0] }.joined(separator: ",")
                XCTAssertEqual(withoutCheckpoints, chain.prompt)
                XCTAssertEqual(checked.prompt.filter { $0 == "=" }.count, (steps - 1) / 2, checked.prompt)
            }
        }
    }

    /// Prompts this family could not have written are refused with what was expected.
    func testMalformedPromptsAreRefused() {
        let f = CheckedChainTask(steps: 4)
        for bad in ["Q:17,+7,*3=73,-4,+5\n",   // the checkpoint disagrees with the derivation
                    "Q:17,+7,*3,-4,+5\n",      // missing
                    "Q:17,+7=24,*3,-4,+5\n",   // misplaced
                    "Q:17,+7,*3=72,-4,+5=73\n", // on the last operation: the answer would be in the question
                    "Q:17,+7,*3=x,-4,+5\n", "Q:17,+7,*3=72=72,-4,+5\n", "Q:17,+7,*3=72,-4\n"] {
            XCTAssertThrowsError(try f.steps(of: SyntheticProblem(prompt: bad, thinking: "", answer: "0")), bad) { error in
                XCTAssertTrue("\(error)".contains("is not a 'checked' prompt"), "\(error)")
                XCTAssertTrue("\(error)".contains("every second one but the last followed by =<running value>"), "\(error)")
            }
        }
    }

    /// The conflict the family exists for: after a wrong step, the reference
    /// continues from the question's checkpoint, not from the wrong value.
    func testAfterAWrongStepTheReferenceRepairsFromTheCheckpoint() throws {
        let f = CheckedChainTask(steps: 4)
        let p = f.problem(start: 17, ops: [.add(7), .mul(3), .sub(4), .add(5)])
        let student = "T:17+7=25;25*3=75;75-4=71;71+5=76\nA:76\n"
        XCTAssertEqual(try f.firstWrongStep(problem: p, completion: student), 0)
        let cut = try XCTUnwrap(FirstErrorPrefix.cut(family: f, problem: p, completion: student))
        XCTAssertEqual(cut.wrongPrefix, "T:17+7=25;")
        XCTAssertEqual(cut.referencePrefix, "T:17+7=24;")
        // A trace that stays wrong until the checkpoint and then takes the question's value is right from step 2 on.
        let repaired = "T:17+7=25;25*3=75;72-4=68;68+5=73\nA:73\n"
        XCTAssertEqual(Array(SyntheticTrace.steps(ofCompletion: repaired).map(\.text)[2...]), Array(try f.steps(of: p)[2...]))
        XCTAssertTrue(AnswerVerifier().verify(response: repaired, groundTruth: p.answer, source: f.spec).correct)
    }
}
