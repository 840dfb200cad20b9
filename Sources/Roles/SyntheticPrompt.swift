import Tasks

/// Synthetic problems rebuilt from their prompt text (for trigger scoring):
/// every family's reference steps are a function of the prompt alone.
enum SyntheticPrompt {
    /// The problem of `family` whose prompt is `prompt`, or nil when it does not parse.
    static func problem(family: any SyntheticFamily, prompt: String) -> SyntheticProblem? {
        var body = prompt.trimmingCharacters(in: .whitespacesAndNewlines)
        guard body.hasPrefix("Q:") else { return nil }
        body.removeFirst(2)
        let built: SyntheticProblem?
        switch family {
        case let f as AdditionTask:
            let parts = body.split(separator: "+").compactMap { Int($0) }
            built = parts.count == 2 ? f.problem(parts[0], parts[1]) : nil
        case let f as ChainTask:
            let parts = body.split(separator: ",").map(String.init)
            guard let start = parts.first.flatMap({ Int($0) }) else { return nil }
            var ops: [ChainTask.Op] = []
            for p in parts.dropFirst() {
                guard let k = Int(p.dropFirst()) else { return nil }
                switch p.first {
                case "+": ops.append(.add(k))
                case "-": ops.append(.sub(k))
                case "*": ops.append(.mul(k))
                default: return nil
                }
            }
            built = ops.count == f.stepCount ? f.problem(start: start, ops: ops) : nil
        case let f as CheckedChainTask:
            built = (try? f.parse(prompt)).map { f.problem(start: $0.start, ops: $0.ops) }
        case let f as SortTask:
            guard body.hasPrefix("<") else { return nil }
            let values = body.dropFirst().split(separator: ",").compactMap { Int($0) }
            built = values.count == f.level ? f.problem(values) : nil
        default:
            built = nil
        }
        // Only a problem that reproduces the prompt exactly is the one the family wrote.
        return built?.prompt == prompt ? built : nil
    }
}
