import Tasks
import Tensors
import XCTest

/// Trace styles of the synthetic families (teachers with distinct styles for MoT).
final class TraceStyleTests: XCTestCase {
    func testWorkedExamplesOfEachStyle() {
        XCTAssertEqual(AdditionTask(digits: 2).problem(47, 85).thinking, "T:7+5=12,c1;4+8+1=13,c1\n")
        XCTAssertEqual(AdditionTask(digits: 2, style: 1).problem(47, 85).thinking, "T:5+7=12;8+4+1=13\n")
        XCTAssertEqual(AdditionTask(digits: 2, style: 2).problem(47, 85).thinking, "T:7+5=12,2;4+8+1=13,32\n")
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

    func testStyleErrorsAreClear() {
        XCTAssertEqual(try SyntheticFamilies.named("addition:3@2").style, 2)
        for bad in ["addition:3@style9", "sort:4@style1", "chain:2@fancy", "addition:3@"] {
            XCTAssertThrowsError(try SyntheticFamilies.named(bad), bad) { error in
                XCTAssertTrue("\(error)".contains("trace style"), "\(bad): \(error)")
            }
        }
    }
}
