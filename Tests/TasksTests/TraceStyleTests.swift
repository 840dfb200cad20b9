import Tasks
import Tensors
import XCTest

/// Trace styles of the synthetic families (teachers with distinct styles for MoT).
final class TraceStyleTests: XCTestCase {
    func testWorkedExamplesOfEachStyle() {
        XCTAssertEqual(AdditionTask(digits: 2).problem(47, 85).thinking, "T:7+5=12,c1;4+8+1=13,c1\n")
        XCTAssertEqual(AdditionTask(digits: 2, style: 1).problem(47, 85).thinking, "T:5+7=12;8+4+1=13\n")
        XCTAssertEqual(AdditionTask(digits: 2, style: 2).problem(47, 85).thinking, "T:7+5=12,2;4+8+1=13,32\n")
        XCTAssertEqual(AdditionTask(digits: 2, style: 3).problem(47, 85).thinking, "T:(7+5) = 12, c 1; (4+8+1) = 13, c 1\n")
        let ops: [ChainTask.Op] = [.add(7), .mul(3), .sub(4)]
        XCTAssertEqual(ChainTask(steps: 3).problem(start: 17, ops: ops).thinking, "T:17+7=24;24*3=72;72-4=68\n")
        XCTAssertEqual(ChainTask(steps: 3, style: 1).problem(start: 17, ops: ops).thinking, "T:+7=24;*3=72;-4=68\n")
        XCTAssertEqual(ChainTask(steps: 3, style: 2).problem(start: 17, ops: ops).thinking, "T:24;72;68\n")
        // The answer never depends on the style.
        XCTAssertEqual(AdditionTask(digits: 2, style: 2).problem(47, 85).answer, "132")
    }

    /// Every style of every level verifies as correct, stays in the alphabet, parses back
    /// from its spec, and its completion is its own valid derivation (firstWrongStep nil).
    func testEveryStyleVerifiesAndParsesBack() throws {
        let verifier = AnswerVerifier()
        let alphabet = Set(syntheticAlphabet)
        for info in SyntheticFamilies.all {
            for style in 0..<info.styles {
                for level in [info.levels.lowerBound, info.hardLevel] {
                    let spec = "\(info.name):\(level)@style\(style)"
                    let f = try SyntheticFamilies.named(spec)
                    XCTAssertEqual(f.style, style, spec)
                    XCTAssertEqual(f.spec, "\(info.name):\(level)", "the data source ignores the style")
                    XCTAssertEqual(f.styledSpec, style == 0 ? f.spec : spec)
                    XCTAssertEqual(try SyntheticFamilies.named(f.styledSpec).style, style)
                    var rng = Rng(seed: UInt64(7 + style))
                    for _ in 0..<20 {
                        let p = f.sample(&rng)
                        let r = verifier.verify(response: p.completion, groundTruth: p.answer, source: f.spec)
                        XCTAssertTrue(r.correct, "\(spec): \(p.completion)")
                        XCTAssertTrue(Set(p.prompt + p.completion).isSubset(of: alphabet), spec)
                        XCTAssertNil(try f.firstWrongStep(problem: p, completion: p.completion), spec)
                    }
                }
            }
        }
        // Styles differ from each other (same problem).
        var rng = Rng(seed: 3)
        let p = AdditionTask(digits: 3).sample(&rng)
        let parts = p.prompt.dropFirst(2).dropLast().split(separator: "+").map { Int($0)! }
        let texts = (0..<AdditionTask.styleCount).map { AdditionTask(digits: 3, style: $0).problem(parts[0], parts[1]).thinking }
        XCTAssertEqual(Set(texts).count, AdditionTask.styleCount)
    }

    /// Style 3 re-phrases style 0 without changing the procedure: the same steps,
    /// with the same digits in the same order, and the same characters once the
    /// spaces and parentheses it adds are removed; both verify alike.
    func testPhrasingStyleKeepsTheProcedure() throws {
        let verifier = AnswerVerifier()
        let digitsOf = { (s: String) in s.filter { $0.isASCII && $0.isNumber } }
        for level in 1...6 {
            let plain = AdditionTask(digits: level), phrased = AdditionTask(digits: level, style: 3)
            var rng = Rng(seed: UInt64(100 + level))
            for _ in 0..<200 {
                let p0 = plain.sample(&rng)
                let parts = p0.prompt.dropFirst(2).dropLast().split(separator: "+").map { Int($0)! }
                let p3 = phrased.problem(parts[0], parts[1])
                XCTAssertNotEqual(p3.thinking, p0.thinking)
                XCTAssertEqual(p3.prompt, p0.prompt)
                XCTAssertEqual(p3.answer, p0.answer)
                XCTAssertEqual(p3.thinking.filter { !" ()".contains($0) }, p0.thinking, "only spaces and parentheses added")
                let s0 = SyntheticTrace.steps(ofThinking: p0.thinking), s3 = SyntheticTrace.steps(ofThinking: p3.thinking)
                XCTAssertEqual(s3.count, level)
                XCTAssertEqual(s3.map(digitsOf), s0.map(digitsOf), "same digits per step, same order")
                XCTAssertEqual(digitsOf(p3.completion), digitsOf(p0.completion))
                let r0 = verifier.verify(response: p0.completion, groundTruth: p0.answer, source: plain.spec)
                let r3 = verifier.verify(response: p3.completion, groundTruth: p3.answer, source: phrased.spec)
                XCTAssertTrue(r0.correct && r3.correct, p3.completion)
                // A style-3 trace with a wrong answer fails like a style-0 one.
                let wrong = p3.completion.replacingOccurrences(of: "A:\(p3.answer)", with: "A:\(Int(p3.answer)! + 1)")
                XCTAssertFalse(verifier.verify(response: wrong, groundTruth: p3.answer, source: phrased.spec).correct)
            }
        }
        // The T3S recipe's budget: the longest 3-digit style-3 completion fits 72 response tokens.
        XCTAssertLessThanOrEqual(AdditionTask(digits: 3, style: 3).problem(999, 999).completion.count, 71)
        XCTAssertEqual(try SyntheticFamilies.named("addition:3@style3").style, 3)
    }

    func testStyleErrorsAreClear() {
        XCTAssertEqual(try SyntheticFamilies.named("addition:3@2").style, 2)
        for bad in ["addition:3@style9", "sort:4@style1", "chain:2@fancy", "addition:3@"] {
            XCTAssertThrowsError(try SyntheticFamilies.named(bad), bad) { error in
                XCTAssertTrue("\(error)".contains("trace style"), "\(bad): \(error)")
            }
        }
    }
}
