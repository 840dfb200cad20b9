import Tasks
import Tensors
import XCTest

/// Partial-correctness labels: the count of leading thinking steps that match
/// the reference derivation.
final class PartialCorrectnessTests: XCTestCase {
    func testCountsLeadingCorrectSteps() throws {
        for spec in ["chain:3", "addition:4"] {
            let family = try SyntheticFamilies.named(spec)
            var rng = Rng(seed: 5)
            let p = family.sample(&rng)
            let steps = try family.steps(of: p)
            XCTAssertGreaterThanOrEqual(steps.count, 3, spec)
            func completion(_ s: [String]) -> String { "T:" + s.joined(separator: ";") + "\nA:" + p.answer + "\n" }
            XCTAssertEqual(PartialCorrectness.correctSteps(spec: spec, prompt: p.prompt, completion: p.completion), steps.count)
            XCTAssertEqual(PartialCorrectness.correctSteps(spec: spec, prompt: p.prompt, completion: completion(steps)), steps.count)
            var wrong = steps; wrong[1] = "9=9"
            XCTAssertEqual(PartialCorrectness.correctSteps(spec: spec, prompt: p.prompt, completion: completion(wrong)), 1, spec)
            XCTAssertEqual(PartialCorrectness.correctSteps(spec: spec, prompt: p.prompt, completion: "T:\nA:3\n"), 0)
            XCTAssertEqual(PartialCorrectness.correctSteps(spec: spec, prompt: p.prompt,
                                                           completion: completion(Array(steps.prefix(2)))), 2)
        }
        XCTAssertNil(PartialCorrectness.correctSteps(spec: "gsm8k", prompt: "Q: x", completion: "T:1\nA:1"))
    }
}
