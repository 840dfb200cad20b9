import Configs
import Tasks

/// The user message of each question (`data.prompt.template`, per benchmark
/// `data.prompt.benchmarks.*`): a benchmark question through its template with
/// the benchmark's answer-format instruction; a synthetic family's question as
/// written unless `benchmarks.synthetic` gives a template. The defaults give
/// `question + "\n" + instruction`, the wording of earlier versions.
struct QuestionWording {
    private let general: PromptTemplate
    private let perSource: [String: PromptTemplate]
    private let synthetic: PromptTemplate?

    /// Parses every template of `prompt`.
    /// - Throws: `PromptTemplateError` naming the key of a template that does not parse.
    init(_ prompt: PromptConfig = PromptConfig()) throws {
        general = try PromptTemplate(parsing: prompt.template, key: "data.prompt.template")
        var perSource: [String: PromptTemplate] = [:]
        for t in prompt.allTemplates where t.key.hasPrefix("data.prompt.benchmarks.") {
            let source = String(t.key.dropFirst("data.prompt.benchmarks.".count))
            perSource[source] = try PromptTemplate(parsing: t.text, key: t.key)
        }
        synthetic = perSource.removeValue(forKey: "synthetic")
        self.perSource = perSource
    }

    /// The user message of a benchmark question from data source `dataSource`.
    func benchmark(_ question: String, dataSource: String) -> String {
        let instruction = BenchmarkSuite.instruction(for: AnswerFormat.forSource(dataSource))
        return (perSource[dataSource] ?? general).render(question: question, instruction: instruction)
    }

    /// The user message of a synthetic family's question (its instruction is empty).
    func synthetic(_ question: String) -> String {
        synthetic?.render(question: question, instruction: "") ?? question
    }
}
