extension Config {
    /// Every leaf of the resolved config as `dotted.key → inline YAML value`
    /// (`actor.optim.lr → 3e-3`, `data.train_files → ["a.jsonl"]`, `trainer.total_steps → null`).
    /// Lists are one leaf each. Two configs differ exactly where these maps differ,
    /// which is how a resume compares the config a checkpoint was saved with to the current one.
    public func flatValues() -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ node: ConfigNode, _ prefix: String) {
            if let entries = node.entries, !entries.isEmpty || prefix.isEmpty {
                for e in entries { walk(e.node, prefix.isEmpty ? e.key : prefix + "." + e.key) }
            } else {
                out[prefix] = ConfigPrinter.inline(node)
            }
        }
        walk(ConfigTreeEncoder.tree(self), "")
        return out
    }
}
