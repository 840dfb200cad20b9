import Configs
import Merging
import Roles
import XCTest

/// mergekit configs: the README examples parse and resolve; mistakes get clear messages.
final class MergekitYAMLTests: XCTestCase {
    func load(_ yaml: String) throws -> MergeConfig { try MergeConfig.load(mergekitYAML: yaml, sourceName: "m.yaml") }

    /// The message of the ConfigError `yaml` throws.
    func problems(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try load(yaml)
            XCTFail("expected an error", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testTiesExampleWithTheBaseListedAmongTheModels() throws {
        // mergekit's README TIES example, with one number per parameter.
        let c = try load("""
            models:
              - model: psmathur/orca_mini_v3_13b
                parameters:
                  density: 0.7
                  weight: 1.0
              - model: garage-bAInd/Platypus2-13B
                parameters:
                  density: 0.5
                  weight: 0.3
              - model: WizardLM/WizardMath-13B-V1.0
                parameters:
                  density: 0.33
                  weight: 0.5
            merge_method: ties
            base_model: TheBloke/Llama-2-13B-fp16
            parameters:
              normalize: true
              int8_mask: true
            dtype: float16
            """)
        XCTAssertEqual(c.mergeMethod, .ties)
        XCTAssertEqual(c.baseModel, "TheBloke/Llama-2-13B-fp16")
        XCTAssertEqual(c.models.map(\.parameters.density), [0.7, 0.5, 0.33])
        XCTAssertEqual(c.dtype, "float16")
        let plan = try MergePlan(config: c)
        XCTAssertEqual(plan.recipe.weights, [1, 0.3, 0.5])
        XCTAssertEqual(plan.recipe.normalize, true)
        XCTAssertTrue(plan.notes.contains { $0.contains("int8_mask") }, "\(plan.notes)")
    }

    func testGradientsAndFiltersAreReportedAsUnsupported() {
        let message = problems("""
            models:
              - model: a
                parameters:
                  density: [1, 0.7, 0.1]
                  weight:
                    - filter: mlp
                      value: 0.5
                    - value: 0
            merge_method: ties
            base_model: b
            """)
        XCTAssertTrue(message.contains("`models.0.parameters.density`: expected one number for the whole model, found [1, 0.7, 0.1]"), message)
        XCTAssertTrue(message.contains("`models.0.parameters.weight`"), message)
        XCTAssertTrue(message.contains("per-layer gradients and filters are not supported"), message)
        XCTAssertTrue(message.contains("m.yaml:4:"), message)
    }

    func testBaseListedAmongTheModelsIsNotABranch() throws {
        let c = try load("""
            models:
              - model: mistralai/Mistral-7B-v0.1
                # no parameters necessary for base model
              - model: samir-fama/SamirGPT-v1
                parameters:
                  density: 0.53
                  weight: 0.4
              - model: abacusai/Slerp-CM-mist-dpo
                parameters:
                  density: 0.53
                  weight: 0.3
            merge_method: dare_ties
            base_model: mistralai/Mistral-7B-v0.1
            parameters:
              int8_mask: true
            dtype: bfloat16
            """)
        let plan = try MergePlan(config: c)
        XCTAssertEqual(plan.branches, ["samir-fama/SamirGPT-v1", "abacusai/Slerp-CM-mist-dpo"])
        XCTAssertEqual(plan.baseModel, "mistralai/Mistral-7B-v0.1")
        XCTAssertEqual(plan.recipe.method, .dareTies)
        XCTAssertEqual(plan.recipe.densities, [0.53, 0.53])
        XCTAssertEqual(plan.recipe.normalize, false, "mergekit's dare_ties default")
        XCTAssertEqual(plan.recipe.rescale, true)
        XCTAssertTrue(plan.notes.contains { $0.contains("it is the base, not a branch") })
    }

    func testLinearAndTaskArithmeticExamples() throws {
        let linear = try MergePlan(config: load("""
            models:
              - model: psmathur/orca_mini_v3_13b
                parameters:
                  weight: 1.0
              - model: WizardLM/WizardLM-13B-V1.2
                parameters:
                  weight: 0.3
              - model: garage-bAInd/Platypus2-13B
                parameters:
                  weight: 0.5
            merge_method: linear
            dtype: float16
            """))
        XCTAssertEqual(linear.recipe.weights, [1, 0.3, 0.5])
        XCTAssertNil(linear.baseModel)
        let ta = try MergePlan(config: load("""
            merge_method: task_arithmetic
            base_model: base
            models: [{model: a, parameters: {weight: 0.5}}, {model: b}]
            parameters: {lambda: 0.8, normalize: true}
            """))
        XCTAssertEqual(ta.recipe.weights, [0.5, 1])
        XCTAssertEqual(ta.recipe.lambda, 0.8)
        XCTAssertEqual(ta.recipe.normalize, true)
    }

    func testUnknownMethodsAndKeysGetSuggestions() {
        let typo = problems("merge_method: tie\nbase_model: b\nmodels: [{model: a}]")
        XCTAssertTrue(typo.contains("merge_method (= merge.merge_method)"), typo)
        XCTAssertTrue(typo.contains("ties"), typo)
        XCTAssertTrue(typo.contains("m.yaml:1:"), typo)

        let slerp = problems("merge_method: slerp\nmodels: [{model: a}, {model: b}]")
        XCTAssertTrue(slerp.contains("`slerp` is a mergekit method this build does not implement"), slerp)
        XCTAssertTrue(slerp.contains("linear, task_arithmetic, ties, dare_linear, dare_ties"), slerp)

        let ram = problems("merge_method: ramplus_tl\nmodels: [{model: a}, {model: b}]")
        XCTAssertTrue(ram.contains("`ramplus_tl` is a mergekit method this build does not implement"), ram)

        let key = problems("merge_method: linear\nmodles: [{model: a}]")
        XCTAssertTrue(key.contains("unknown key `modles (= merge.modles)`; did you mean `merge.models`?"), key)

        let slerpParameter = problems("merge_method: linear\nmodels: [{model: a}]\nparameters: {t: 0.5}")
        XCTAssertTrue(slerpParameter.contains("unknown key `parameters.t (= merge.parameters.t)`; (valid keys in "
                                                + "merge.parameters: weight, density, normalize, lambda, rescale, "
                                                + "int8_mask)"), slerpParameter)

        let nested = problems("merge_method: ties\nmodels: [{model: a, parameters: {densty: 0.5}}]")
        XCTAssertTrue(nested.contains("did you mean `merge.models.0.parameters.density`?"), nested)

        let slices = problems("slices:\n  - sources: [{model: a, layer_range: [0, 32]}]\nmerge_method: passthrough")
        XCTAssertTrue(slices.contains("`slices`: layer slices (frankenmerges) are not supported"), slices)
        XCTAssertTrue(slices.contains("`passthrough` is a mergekit method this build does not implement"), slices)

        let range = problems("merge_method: ties\nparameters: {density: 1.5}\nmodels: [{model: a}]")
        XCTAssertTrue(range.contains("merge.parameters.density"), range)

        let dtype = problems("merge_method: linear\nmodels: [{model: a}]\ndtype: float8")
        XCTAssertTrue(dtype.contains("merge.dtype (`float8`) must be one of float32"), dtype)

        let empty = problems("")
        XCTAssertTrue(empty.contains("expected a mergekit config"), empty)
    }

    func testPlanErrors() throws {
        let perModel = try load("merge_method: ties\nbase_model: b\nmodels: [{model: a, parameters: {normalize: false}}]")
        XCTAssertThrowsError(try MergePlan(config: perModel)) { error in
            XCTAssertTrue("\(error)".contains("models.0.parameters.normalize"), "\(error)")
            XCTAssertTrue("\(error)".contains("move it to the top-level `parameters`"), "\(error)")
        }
        let noBase = try load("merge_method: ties\nmodels: [{model: a}, {model: b}]")
        XCTAssertThrowsError(try MergePlan(config: noBase)) { error in
            XCTAssertTrue("\(error)".contains("base_model: expected a base model for ties"), "\(error)")
        }
        let zero = try load("merge_method: linear\nmodels: [{model: a, parameters: {weight: 0}}]")
        XCTAssertThrowsError(try MergePlan(config: zero)) { error in
            XCTAssertTrue("\(error)".contains("nonzero sum of weights"), "\(error)")
        }
        XCTAssertThrowsError(try MergePlan(config: load("merge_method: linear\nmodels: [{model: a}]"), branchCount: 2))
        // MoT: no models, one equal branch per teacher.
        let mot = try MergePlan(config: MergeConfig(), branchCount: 3, defaultSeed: 7)
        XCTAssertEqual(mot.recipe, MergeRecipe.uniform(branches: 3, seed: 7))
    }

    func testLinearAveragesTheBaseModelWhichNeedsAWeight() throws {
        // Listed with a weight: it is one of the branches, where it is listed.
        let listed = try MergePlan(config: load("""
            merge_method: linear
            base_model: base
            models: [{model: a, parameters: {weight: 0.5}}, {model: base, parameters: {weight: 0.2}}]
            """))
        XCTAssertEqual(listed.branches, ["a", "base"])
        XCTAssertEqual(listed.recipe.weights, [0.5, 0.2])
        XCTAssertNil(listed.baseModel, "linear has no task-vector base")
        XCTAssertEqual(listed.donorModel, "base", "the output's tokenizer and config come from the base")
        // Not listed: it comes first, with the top-level weight.
        let unlisted = try MergePlan(config: load("""
            merge_method: linear
            base_model: base
            parameters: {weight: 2}
            models: [{model: a}, {model: b, parameters: {weight: 3}}]
            """))
        XCTAssertEqual(unlisted.branches, ["base", "a", "b"])
        XCTAssertEqual(unlisted.recipe.weights, [2, 2, 3])
        // No weight for the base anywhere: mergekit's error, said plainly.
        let noWeight = try load("""
            merge_method: linear
            base_model: base
            models: [{model: a, parameters: {weight: 1}}]
            """)
        XCTAssertThrowsError(try MergePlan(config: noWeight)) { error in
            XCTAssertEqual("\(error)", "base_model `base`: expected a weight: linear averages the base with the models "
                + "(as mergekit does), found no weight for it. List it under models with `parameters: {weight: …}` (or "
                + "set a top-level parameters.weight), or remove base_model to average only the models.")
        }
        // A MoT round (branches given by the caller) still averages only the branches.
        var mot = MergeConfig()
        mot.baseModel = "student"
        XCTAssertEqual(try MergePlan(config: mot, branchCount: 2).branches.count, 2)
    }

    func testNegativeWeightsAndTokenizerKeysAreAccepted() throws {
        let c = try load("""
            merge_method: task_arithmetic
            base_model: base
            models: [{model: a, parameters: {weight: 1}}, {model: b, parameters: {weight: -1}}]
            tokenizer_source: base
            chat_template: auto
            """)
        XCTAssertEqual(c.tokenizerSource, "base")
        XCTAssertEqual(c.chatTemplate, "auto")
        XCTAssertEqual(try MergePlan(config: c).recipe.weights, [1, -1])
        let section = problems("merge_method: linear\nmodels: [{model: a}]\ntokenizer: {source: union}")
        XCTAssertTrue(section.contains("`tokenizer`: mergekit's `tokenizer` section"), section)
        XCTAssertTrue(section.contains("use `tokenizer_source: base`"), section)
    }
}
