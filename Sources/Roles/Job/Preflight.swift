import Checkpoint
import Configs
import Foundation

/// The run directory check for callers outside the job (the `run` command, before it writes config.yaml).
public enum RunDirectory {
    /// Creates `dir` if needed and checks a file can be written in it; throws a
    /// plain message naming `trainer.default_local_dir` otherwise.
    public static func requireWritable(_ dir: String) throws {
        if let problem = Preflight.writableProblem(dir) { throw JobError(problem) }
    }
}

/// Checks, on every rank and before any training, the inputs a job reads
/// only later: the teachers' models (read after the warm start) and the run
/// directory (first written at the first save or metrics line). A missing
/// teacher or an unwritable directory then costs seconds, not a warm start.
/// The model and the data are read while the job is built, before this runs.
struct Preflight {
    let ctx: JobContext

    /// Collective: every rank checks, then all agree; throws one error listing
    /// every problem any rank found (by rank when they differ).
    func run() throws {
        let mine = problems()
        let all = try ctx.world.allgatherBytes(Array(mine.joined(separator: "\n").utf8))
            .map { String(decoding: $0, as: UTF8.self) }
        var seen = Set<String>(), lines: [String] = []
        for (rank, text) in all.enumerated() where !text.isEmpty {
            for line in text.split(separator: "\n").map(String.init) where seen.insert(line).inserted {
                lines.append(all.allSatisfy({ $0 == text }) ? line : "rank \(rank): \(line)")
            }
        }
        guard lines.isEmpty else {
            throw JobError("the job cannot start (checked before training, nothing was run):\n  - "
                           + lines.joined(separator: "\n  - "))
        }
    }

    /// This rank's problems, one sentence each.
    func problems() -> [String] {
        var out: [String] = []
        let config = ctx.config
        if config.trainer.pipeline.usesTeachers {
            for spec in config.distillation.teacherModels {
                if let p = Self.teacherProblem(spec) { out.append(p) }
            }
        }
        if let dir = ctx.runDirectory, let p = Self.writableProblem(dir) { out.append(p) }
        return out
    }

    /// Why the teacher `spec` (an entry of `distillation.teacher_models`) cannot be read, or nil.
    /// `student` and `reference@styleN` name no file.
    static func teacherProblem(_ spec: String) -> String? {
        if spec == TeacherSpecs.student || spec == "reference" || spec.hasPrefix("reference@") { return nil }
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: spec, isDirectory: &isDirectory) else {
            return "distillation.teacher_models: expected a checkpoint directory, a .gguf file or a Hugging Face "
                + "folder at `\(spec)`, found nothing there. Fix the path (relative paths start at "
                + "\(fm.currentDirectoryPath)), or train the teacher first."
        }
        if CheckpointResolver.isCheckpointLocation(spec) {
            do { _ = try CheckpointResolver.resolve(spec) } catch {
                return "distillation.teacher_models: `\(spec)` holds no usable checkpoint: \(error)"
            }
            return nil
        }
        if !isDirectory.boolValue && !fm.isReadableFile(atPath: spec) {
            return "distillation.teacher_models: `\(spec)` exists but cannot be read (permission denied). "
                + "Make it readable by the user running the job."
        }
        return nil
    }

    /// Why the run directory `dir` cannot be written, or nil. Creates it if needed
    /// and writes and removes a probe file, as the first save would. Uses the
    /// system calls directly so the reason is errno's (`Not a directory`,
    /// `Permission denied`), never a Foundation error dump.
    static func writableProblem(_ dir: String) -> String? {
        func fail(_ what: String, _ code: Int32) -> String {
            let reason = code == EPERM || code == EACCES ? "permission denied" : String(cString: strerror(code))
            return "trainer.default_local_dir: the run directory `\(dir)` cannot be written (\(what): \(reason)). "
                + "Choose a writable place with trainer.default_local_dir=<dir>, or fix the directory's permissions."
        }
        // mkdir -p, one component at a time.
        var path = dir.hasPrefix("/") ? "" : "."
        for part in dir.split(separator: "/") {
            path += "/" + part
            var st = stat()
            if stat(path, &st) == 0 {
                if st.st_mode & S_IFMT != S_IFDIR { return fail("`\(path)` is a file, not a directory", ENOTDIR) }
                continue
            }
            if mkdir(path, 0o755) != 0 && errno != EEXIST { return fail("creating `\(path)`", errno) }
        }
        let probe = (dir as NSString).appendingPathComponent(".ispo-preflight-\(getpid())")
        let fd = open(probe, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        guard fd >= 0 else { return fail("creating a file in it", errno) }
        let ok = write(fd, "probe\n", 6) == 6
        let code = errno
        close(fd)
        unlink(probe)
        return ok ? nil : fail("writing a file in it", code)
    }
}
