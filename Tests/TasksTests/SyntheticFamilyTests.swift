import Foundation
import Tasks
import Tensors
import XCTest

final class SyntheticFamilyTests: XCTestCase {
    /// Every spec of every family at every level.
    var everyFamily: [any SyntheticFamily] {
        SyntheticFamilies.all.flatMap { info in info.levels.compactMap { try? SyntheticFamilies.family(name: info.name, level: $0) } }
    }

    func testRegistryParsesSpecsAndListsValidNames() throws {
        XCTAssertEqual(try SyntheticFamilies.named("addition:3").spec, "addition:3")
        XCTAssertEqual(try SyntheticFamilies.named("chain5").spec, "chain:5")
        XCTAssertEqual(try SyntheticFamilies.named(" sort:4 ").spec, "sort:4")
        XCTAssertEqual(everyFamily.count, 6 + 10 + 8 + 8)
        XCTAssertEqual(SyntheticFamilies.hardSpecs, ["addition:5", "chain:8", "sort:8", "checked:8"])
        for spec in SyntheticFamilies.hardSpecs { XCTAssertNoThrow(try SyntheticFamilies.named(spec)) }
        for bad in ["multiply:3", "chain", "chain:x", ""] {
            XCTAssertThrowsError(try SyntheticFamilies.named(bad), bad) { error in
                XCTAssertTrue("\(error)".contains("addition:1...6, chain:1...10, sort:2...9, checked:3...10"), "\(error)")
            }
        }
        XCTAssertThrowsError(try SyntheticFamilies.named("addition:7")) { error in
            XCTAssertEqual(error as? SyntheticTaskError, .levelOutOfRange(family: "addition", level: 7, valid: 1...6))
        }
    }

    func testWorkedExamples() {
        let c = ChainTask(steps: 3).problem(start: 17, ops: [.add(7), .mul(3), .sub(4)])
        XCTAssertEqual(c.prompt, "Q:17,+7,*3,-4\n")
        XCTAssertEqual(c.completion, "T:17+7=24;24*3=72;72-4=68\nA:68\n")
        let s = SortTask(length: 4).problem([53, 7, 19, 4])
        XCTAssertEqual(s.prompt, "Q:<53,7,19,4\n")
        XCTAssertEqual(s.completion, "T:4:53,7,19;7:53,19;19:53\nA:4,7,19,53\n")
        XCTAssertEqual(SortTask(length: 3).problem([5, 5, 1]).completion, "T:1:5,5;5:5\nA:1,5,5\n")
    }

    func testSamplesAreCorrectInAlphabetAndConsistentWithTheirSteps() throws {
        var rng = Rng(seed: SeedMixer.derive(run: 7, purpose: 11))
        for family in everyFamily {
            for _ in 0..<50 {
                let p = family.sample(&rng)
                XCTAssertTrue((p.prompt + p.completion).allSatisfy(syntheticAlphabet.contains), "\(family.spec): \(p)")
                XCTAssertEqual(try family.steps(of: p), SyntheticTrace.steps(ofThinking: p.thinking), family.spec)
                XCTAssertNil(try family.firstWrongStep(problem: p, completion: p.completion), family.spec)
                XCTAssertEqual(extractFinalAnswer(p.completion), p.answer)
                XCTAssertEqual(independentAnswer(family, p), p.answer, "\(family.spec): \(p.prompt)")
            }
        }
    }

    /// The answer computed from the prompt without the families' own code.
    func independentAnswer(_ family: any SyntheticFamily, _ p: SyntheticProblem) -> String? {
        let body = p.prompt.dropFirst(2).dropLast()
        switch family.name {
        case "addition":
            let xs = body.split(separator: "+").compactMap { Int($0) }
            return xs.count == 2 ? String(xs[0] + xs[1]) : nil
        case "chain", "checked":  // a checked chain's "=v" checkpoints are skipped, not trusted
            let fields = body.split(separator: ",").map { $0.split(separator: "=")[0] }
            guard var v = Int(fields[0]), fields.count == family.level + 1 else { return nil }
            for f in fields.dropFirst() {
                guard let k = Int(f.dropFirst()) else { return nil }
                switch f.first { case "+": v += k; case "-": v -= k; default: v *= k }
                guard (0...99).contains(v) else { return nil }
            }
            return String(v)
        default:
            let xs = body.dropFirst().split(separator: ",").compactMap { Int($0) }
            return xs.count == family.level ? xs.sorted().map(String.init).joined(separator: ",") : nil
        }
    }

    func testSamplingIsDeterministicBySeed() {
        for spec in ["addition:4", "chain:6", "sort:5"] {
            guard let f = try? SyntheticFamilies.named(spec) else { return XCTFail(spec) }
            var a = Rng(seed: 42), b = Rng(seed: 42), c = Rng(seed: 43)
            let x = (0..<20).map { _ in f.sample(&a) }, y = (0..<20).map { _ in f.sample(&b) }, z = (0..<20).map { _ in f.sample(&c) }
            XCTAssertEqual(x, y, spec)
            XCTAssertNotEqual(x, z, spec)
        }
    }

    func testLevelsSetDifficulty() throws {
        var rng = Rng(seed: 3)
        let p = try SyntheticFamilies.named("chain:8").sample(&rng)
        XCTAssertEqual(SyntheticTrace.steps(ofThinking: p.thinking).count, 8)
        let q = try SyntheticFamilies.named("sort:9").sample(&rng)
        XCTAssertEqual(SyntheticTrace.steps(ofThinking: q.thinking).count, 8)
        XCTAssertEqual(q.answer.split(separator: ",").count, 9)
    }

    func testFirstWrongStepOnCorruptedTraces() throws {
        let chain = ChainTask(steps: 3)
        let p = chain.problem(start: 17, ops: [.add(7), .mul(3), .sub(4)])
        XCTAssertNil(try chain.firstWrongStep(problem: p, completion: "T:17+7=24;24*3=72;72-4=68\nA:68\n"))
        XCTAssertNil(try chain.firstWrongStep(problem: p, completion: "T: 17+7=24 ; 24*3=72\n72-4=68\nA:99\n"),
                     "spacing and newlines separate steps; the answer is not a step")
        XCTAssertEqual(try chain.firstWrongStep(problem: p, completion: "T:17+7=25;25*3=75;75-4=71\nA:71\n"), 0)
        XCTAssertEqual(try chain.firstWrongStep(problem: p, completion: "T:17+7=24;24*3=72;72-4=67\nA:67\n"), 2)
        XCTAssertEqual(try chain.firstWrongStep(problem: p, completion: "T:17+7=24;24*3=62;62-4=58\nA:58\n"), 1)
        XCTAssertEqual(try chain.firstWrongStep(problem: p, completion: "T:17+7=24\nA:24\n"), 1, "a missing step")
        XCTAssertEqual(try chain.firstWrongStep(problem: p, completion: "T:17+7=24;24*3=72;72-4=68;68+1=69\n"), 3, "an extra step")
        XCTAssertEqual(try chain.firstWrongStep(problem: p, completion: ""), 0)

        let add = AdditionTask(digits: 2)
        let a = add.problem(47, 85)
        XCTAssertEqual(try add.firstWrongStep(problem: a, completion: "T:7+5=12,c1;4+8=12,c1\nA:122\n"), 1, "dropped carry")
        XCTAssertEqual(try add.firstWrongStep(problem: a, completion: "T:7+5=12,c0;4+8=12,c1\nA:122\n"), 0)

        let sort = SortTask(length: 4)
        let s = sort.problem([53, 7, 19, 4])
        XCTAssertEqual(try sort.firstWrongStep(problem: s, completion: "T:4:53,7,19;19:53,7;7:53\nA:4,19,7,53\n"), 1)

        XCTAssertThrowsError(try chain.firstWrongStep(problem: a, completion: a.completion)) { error in
            XCTAssertTrue("\(error)".contains("not a 'chain' prompt"), "\(error)")
        }
    }

    func testTraceStepOffsetsPointIntoTheCompletion() {
        let completion = "T:17+7=24; 24*3=72\n72-4=68\nA:68\n"
        let steps = SyntheticTrace.steps(ofCompletion: completion)
        let chars = Array(completion)
        XCTAssertEqual(steps.map(\.text), ["17+7=24", "24*3=72", "72-4=68"])
        for s in steps { XCTAssertEqual(String(chars[s.offset..<(s.offset + s.text.count)]), s.text) }
    }

    func testAlphabetIsSmallAndStable() {
        XCTAssertEqual(String(syntheticAlphabet), "0123456789+-*=:;,.()ACQTcn \n<")
        XCTAssertEqual(Set(syntheticAlphabet).count, syntheticAlphabet.count)
    }
}
