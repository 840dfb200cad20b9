import Foundation

/// The one answer to "which checkpoint does this path name?", used by every
/// reader of checkpoints: a model path, distill and MoT teachers, merges,
/// `inspect` and resume.
///
/// A path names a checkpoint when it is
/// - a checkpoint directory (`global_step_<N>` with `manifest.json` or `DONE`): itself, verified;
/// - a checkpoints directory (holding `global_step_<N>` entries or
///   `latest_checkpointed_iteration.txt`): its newest checkpoint that verifies;
/// - a run directory (holding `checkpoints/`): the same, in `checkpoints/`.
/// The directory scan decides which checkpoint is the newest, never
/// `latest_checkpointed_iteration.txt`, which a crash can leave stale and a
/// hand can corrupt.
public enum CheckpointResolver {
    /// Whether `path` is a checkpoint location at all (it may still hold no
    /// complete checkpoint). False for files, Hugging Face folders and missing paths.
    public static func isCheckpointLocation(_ path: String) -> Bool {
        checkpointsDirectory(path) != nil || isCheckpointDirectory(path)
    }

    /// The verified checkpoint directory `path` names, or nil when `path` is
    /// not a checkpoint location (a model file, a Hugging Face folder, nothing).
    /// - Throws: `CheckpointError` when `path` is a checkpoint location but
    ///   nothing in it verifies; the message lists every entry and why it was skipped.
    public static func resolve(_ path: String) throws -> String? {
        if isCheckpointDirectory(path) {
            _ = try CheckpointReader(directory: path)  // checks the manifest against DONE
            return path
        }
        guard let root = checkpointsDirectory(path) else { return nil }
        let scan = try CheckpointStore(directory: root).scan()
        if let latest = scan.complete.last { return latest.path }
        let reasons = scan.ignored.map { "\($0.name): \($0.reason)" }
        throw CheckpointError(.missing, file: root, expected: "a complete global_step_<N> checkpoint",
                              found: reasons.isEmpty ? "no checkpoint" : reasons.joined(separator: "; "),
                              remedy: "Point at a run whose checkpoints were saved completely (checkpoint.save_freq), "
                                + "or at a model file.")
    }

    /// A `global_step_<N>` directory (by its manifest or DONE marker, or its name).
    public static func isCheckpointDirectory(_ path: String) -> Bool {
        guard FileOps.isDirectory(path) else { return false }
        let fm = FileManager.default
        return fm.fileExists(atPath: path + "/" + CheckpointStore.manifestName)
            || fm.fileExists(atPath: path + "/" + CheckpointStore.doneName)
            || (path as NSString).lastPathComponent.hasPrefix("global_step_")
    }

    /// The checkpoints directory `path` is or holds, if any.
    public static func checkpointsDirectory(_ path: String) -> String? {
        guard FileOps.isDirectory(path), !isCheckpointDirectory(path) else { return nil }
        let nested = (path as NSString).appendingPathComponent("checkpoints")
        if FileOps.isDirectory(nested) { return nested }
        let fm = FileManager.default
        if fm.fileExists(atPath: path + "/" + CheckpointStore.latestFileName) { return path }
        let names = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        return names.contains { $0.hasPrefix("global_step_") || $0.hasPrefix(CheckpointStore.stagingPrefix) } ? path : nil
    }
}
