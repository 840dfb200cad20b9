import Foundation
import Merging
import ModelIO
@testable import Roles
import Tensors
import TestSupport
import XCTest

/// `ispo-cluster merge` against merges made by real mergekit 0.1.5 (Tests/Fixtures/mergekit,
/// written by Tests/Fixtures/make_mergekit_fixtures.py): the same mergekit YAML files, run on
/// the same tiny Llama models.
final class MergekitConformanceTests: XCTestCase {
    static let root = packageRoot + "/Tests/Fixtures/mergekit"

    /// Largest |ours − mergekit| / max(1, |mergekit|) over every parameter of the deterministic
    /// cases. Both merge in fp32 but sum in different orders (mergekit over a stacked tensor and
    /// in its set order of models, L1 norms in torch's pairwise sum); measured 1.2e-7 (1 ulp at 1).
    static let mergekitTolerance = 1e-6
    /// The bf16 output: an fp32 difference within `mergekitTolerance` can round to the
    /// neighbouring bf16 value, one bf16 ulp (2⁻⁷ relative); measured: no such flip.
    static let bf16Ulp = 1.0 / 128
    /// Standard deviations allowed for DARE's random statistics (5σ: a false alarm once in
    /// ~3.5 million per statistic).
    static let sigmas = 5.0

    struct Case: Decodable {
        var name: String
        var compare: String
        var files: [String]?
        var mergekit_error: String?
    }

    func cases(_ kind: String) throws -> [Case] {
        struct Manifest: Decodable { var cases: [Case] }
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.root + "/cases.json"))
        let all = try JSONDecoder().decode(Manifest.self, from: data).cases
        XCTAssertFalse(all.isEmpty)
        return all.filter { $0.compare == kind }
    }

    func tensors(_ path: String) throws -> [String: [Float]] {
        try readSafetensors(path).tensors.mapValues(\.data)
    }

    func model(_ name: String) throws -> [String: [Float]] {
        try tensors(Self.root + "/models/\(name)/model.safetensors")
    }

    /// Runs the case's YAML with `ispo-cluster merge`'s code; returns the output folder.
    func merge(_ c: Case) throws -> String {
        let out = try temporaryDirectory(self) + "/out"
        _ = try ModelMerge.run(recipePath: Self.root + "/cases/\(c.name)/mergekit.yaml", output: out) { _ in }
        return out
    }

    func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    func testDeterministicMergesEqualMergekit() throws {
        let close = try cases("close")
        XCTAssertGreaterThanOrEqual(close.count, 10)
        var report: [String] = []
        for c in close {
            let ours = try tensors(try merge(c) + "/model.safetensors")
            let theirs = try tensors(Self.root + "/cases/\(c.name)/model.safetensors")
            XCTAssertEqual(Set(ours.keys), Set(theirs.keys), c.name)
            var worst = 0.0, exact = true
            for (name, t) in theirs {
                guard let o = ours[name], o.count == t.count else { XCTFail("\(c.name): \(name)"); continue }
                worst = max(worst, maxRelativeError(o, t))
                exact = exact && o == t
            }
            let bound = c.name.hasSuffix("bf16") ? Self.bf16Ulp : Self.mergekitTolerance
            XCTAssertLessThanOrEqual(worst, bound, c.name)
            report.append("\(c.name) \(exact ? "exact" : "\(worst)")")
        }
        print("[merging] mergekit conformance max relative error per case " + report.joined(separator: ", "))
    }

    func testTinyDensitiesKeepOneEntryPerTensorAsMergekitDoes() throws {
        // density 0.01 and 0.05: ⌊density·n⌋ = 0 for every tensor but the 384-entry MLP ones (0.05).
        let c = try XCTUnwrap(try cases("close").first { $0.name == "ties_tiny_density" })
        let ours = try tensors(try merge(c) + "/model.safetensors"), base = try model("base")
        let norm = "model.norm.weight"
        let changed = zip(ours[norm]!, base[norm]!).filter { $0 != $1 }.count
        XCTAssertEqual(changed, 2, "one entry from each of the two models (different ones here)")
    }

    func testConfigsMergekitRejectsAreRejectedWithAClearMessage() throws {
        let errors = try cases("error")
        XCTAssertFalse(errors.isEmpty)
        for c in errors {
            XCTAssertThrowsError(try merge(c), c.name) { error in
                XCTAssertTrue(error is MergeError, "\(c.name): \(error)")
                XCTAssertTrue("\(error)".contains("expected a weight"), "\(c.name): \(error)")
            }
            XCTAssertNotNil(c.mergekit_error, c.name)
        }
    }

    /// Per tensor: the task vector τ = model − base and the merged delta δ = out − base.
    func deltas(_ out: [String: [Float]], _ name: String) throws -> [String: (tau: [Float], delta: [Float])] {
        let base = try model("base"), m = try model(name)
        var result: [String: (tau: [Float], delta: [Float])] = [:]
        for (k, b) in base {
            result[k] = (zip(m[k]!, b).map { $0 - $1 }, zip(out[k]!, b).map { $0 - $1 })
        }
        return result
    }

    func testDareLinearKeepsTheFractionAndTheL1NormLikeMergekit() throws {
        // One model (b), weight 1, density 0.3: δ = mask ⊙ τ × L1(τ)/L1(mask ⊙ τ), per tensor.
        let c = try XCTUnwrap(try cases("dare").first { $0.name == "dare_linear_single" })
        let d = 0.3
        let ours = try deltas(try tensors(try merge(c) + "/model.safetensors"), "b")
        let theirs = try deltas(try tensors(Self.root + "/cases/\(c.name)/model.safetensors"), "b")
        var fractions: [Double] = []
        for (label, tensors) in [("ours", ours), ("mergekit", theirs)] {
            var kept = 0, total = 0, sumDelta = 0.0, sumTau = 0.0, varianceOfSum = 0.0
            for (name, (tau, delta)) in tensors {
                let keptHere = delta.indices.filter { delta[$0] != 0 }
                kept += keptHere.count
                total += tau.count
                let l1Tau = tau.reduce(0.0) { $0 + Double(abs($1)) }
                let l1Kept = keptHere.reduce(0.0) { $0 + Double(abs(tau[$1])) }
                let l1Delta = delta.reduce(0.0) { $0 + Double(abs($1)) }
                if !keptHere.isEmpty {
                    // The rescale keeps the L1 norm: deterministic given the mask.
                    XCTAssertEqual(l1Delta / l1Tau, 1, accuracy: 1e-5, "\(label) \(name)")
                    // The kept share of the L1 norm is binomial-like: mean d, variance d(1−d)Στ²/(Σ|τ|)².
                    let sumSquares = tau.reduce(0.0) { $0 + Double($1 * $1) }
                    let sd = (d * (1 - d) * sumSquares).squareRoot() / l1Tau
                    XCTAssertEqual(l1Kept / l1Tau, d, accuracy: Self.sigmas * sd, "\(label) \(name) kept L1 share")
                }
                for i in 0..<tau.count {
                    sumDelta += Double(delta[i]); sumTau += Double(tau[i])
                    varianceOfSum += Double(tau[i] * tau[i]) * (1 - d) / d
                }
            }
            let fraction = Double(kept) / Double(total)
            fractions.append(fraction)
            // Kept count ~ Binomial(n, d).
            let sd = (d * (1 - d) / Double(total)).squareRoot()
            XCTAssertEqual(fraction, d, accuracy: Self.sigmas * sd, "\(label) kept fraction")
            // E[δ] = τ (approximately, the rescale being ≈ 1/d): Σδ − Στ has variance Σ τ²(1−d)/d.
            XCTAssertEqual(sumDelta, sumTau, accuracy: Self.sigmas * varianceOfSum.squareRoot(), "\(label) Σδ")
            print("dare_linear \(label): kept \(fraction) (density \(d)), Σδ \(sumDelta) vs Στ \(sumTau)")
        }
        let n = Double(ours.values.reduce(0) { $0 + $1.tau.count })
        XCTAssertEqual(fractions[0], fractions[1], accuracy: Self.sigmas * (2 * d * (1 - d) / n).squareRoot(),
                       "ours against mergekit's")
    }

    func testDareWithoutRescaleKeepsTheWeightedTaskVectorEntries() throws {
        // weight 0.8, density 0.6, rescale false: every entry is the base or base + 0.8 τ.
        let c = try XCTUnwrap(try cases("dare").first { $0.name == "dare_linear_no_rescale" })
        let d = 0.6
        for (label, out) in [("ours", try merge(c) + "/model.safetensors"),
                             ("mergekit", Self.root + "/cases/\(c.name)/model.safetensors")] {
            var kept = 0, total = 0
            for (name, (tau, delta)) in try deltas(try tensors(out), "b") {
                for i in 0..<tau.count where delta[i] != 0 {
                    kept += 1
                    XCTAssertEqual(delta[i], 0.8 * tau[i], accuracy: 1e-6, "\(label) \(name)[\(i)]")
                }
                total += tau.count
            }
            let sd = (d * (1 - d) / Double(total)).squareRoot()
            XCTAssertEqual(Double(kept) / Double(total), d, accuracy: Self.sigmas * sd, label)
        }
    }

    func testDareTiesChangesAsManyEntriesAsMergekit() throws {
        // Densities 0.5 and 0.4: an entry changes when either model keeps it, P = 1 − 0.5·0.6 = 0.7.
        let c = try XCTUnwrap(try cases("dare").first { $0.name == "dare_ties_pair" })
        let p = 0.7, base = try model("base")
        var fractions: [Double] = []
        for out in [try merge(c) + "/model.safetensors", Self.root + "/cases/\(c.name)/model.safetensors"] {
            let merged = try tensors(out)
            var changed = 0, total = 0
            for (k, b) in base {
                changed += zip(merged[k]!, b).filter { $0 != $1 }.count
                total += b.count
            }
            let fraction = Double(changed) / Double(total)
            XCTAssertEqual(fraction, p, accuracy: Self.sigmas * (p * (1 - p) / Double(total)).squareRoot(), out)
            fractions.append(fraction)
        }
        print("dare_ties changed fraction: ours \(fractions[0]), mergekit \(fractions[1]) (expected \(p))")
    }

    func testTokenizerChatTemplateAndSpecialIdsMatchMergekit() throws {
        for c in try cases("close") + cases("dare") {
            let out = try merge(c)
            let expected = Self.root + "/cases/\(c.name)"
            let theirs = try json(expected + "/config.json"), ours = try json(out + "/config.json")
            for key in ["bos_token_id", "eos_token_id", "pad_token_id", "vocab_size"] {
                XCTAssertEqual(ours[key] as? Int, theirs[key] as? Int, "\(c.name) config.json \(key)")
            }
            XCTAssertEqual(try MergeTokenizer.vocabulary(of: out), try MergeTokenizer.vocabulary(of: expected), c.name)
            let template = "/chat_template.jinja"
            let yaml = try String(contentsOfFile: expected + "/mergekit.yaml", encoding: .utf8)
            // Without base_model mergekit takes the tokenizer files of whichever model its set of
            // models yields first; here the first listed (a) gives them.
            let donor = yaml.contains("base_model") || yaml.contains("chat_template")
                ? expected : Self.root + "/models/a"
            XCTAssertEqual(FileManager.default.contents(atPath: out + template),
                           FileManager.default.contents(atPath: donor + template), "\(c.name) chat_template.jinja")
            if let config = try? json(out + "/tokenizer_config.json"), let t = config["chat_template"] as? String {
                XCTAssertEqual(t, try String(contentsOfFile: out + template, encoding: .utf8), "\(c.name): one template")
            }
        }
        // The cases that set a template really wrote one (so the equality above is not nil == nil).
        for name in ["tokenizer_base_literal_template", "tokenizer_model_auto_template", "chat_template_only"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: Self.root + "/cases/\(name)/chat_template.jinja"), name)
        }
    }
}
