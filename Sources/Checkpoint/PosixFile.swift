import Foundation

/// Test hook standing in for a filling disk: every write made through a
/// store or writer that holds a budget deducts its size, and once the budget
/// is exhausted writes fail with ENOSPC exactly as the kernel would report it.
final class DiskBudget: @unchecked Sendable {
    /// Bytes that may still be written.
    var remaining: Int
    init(bytes: Int) { remaining = bytes }
}

/// A file descriptor opened for writing, with errors that name the file.
struct PosixFile {
    let fd: Int32
    let path: String
    let budget: DiskBudget?

    /// Creates (or truncates) `path` for writing.
    static func create(_ path: String, budget: DiskBudget?) throws -> PosixFile {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw writeError(errno, file: path, doing: "create the file") }
        return PosixFile(fd: fd, path: path, budget: budget)
    }

    /// Writes all of `bytes` at `offset` (nil: at the current position).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int? = nil) throws {
        var done = 0
        while done < bytes.count {
            var want = min(bytes.count - done, 1 << 30)
            var injected: Int32 = 0
            if let budget {
                if budget.remaining <= 0 { injected = ENOSPC } else { want = min(want, budget.remaining) }
            }
            let n: Int
            if injected != 0 {
                n = -1
            } else if let offset {
                n = pwrite(fd, bytes.baseAddress! + done, want, off_t(offset + done))
            } else {
                n = Foundation.write(fd, bytes.baseAddress! + done, want)
            }
            if n < 0 {
                let code = injected != 0 ? injected : errno
                if code == EINTR { continue }
                throw writeError(code, file: path, doing: "write \(bytes.count - done) more bytes")
            }
            budget?.remaining -= n
            done += n
        }
    }

    /// Writes all of `bytes` at the current position.
    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Flushes the file's data and metadata to the device.
    func sync() throws {
        guard fsync(fd) == 0 else { throw writeError(errno, file: path, doing: "fsync the file") }
    }

    /// Closes the descriptor (errors from close after fsync are still reported).
    func close() throws {
        guard Foundation.close(fd) == 0 else { throw writeError(errno, file: path, doing: "close the file") }
    }
}

/// Directory-level operations of the checkpoint protocol.
enum FileOps {
    /// Writes `bytes` to `path` atomically: a temporary name in the same
    /// directory, fsync, rename, fsync of the directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String, budget: DiskBudget?) throws {
        let temp = path + ".tmp-\(getpid())"
        do {
            let f = try PosixFile.create(temp, budget: budget)
            do { try f.write(bytes); try f.sync() } catch { try? f.close(); throw error }
            try f.close()
            try rename(temp, to: path)
        } catch {
            unlink(temp)
            throw error
        }
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// rename(2) with an error naming both paths.
    static func rename(_ from: String, to: String) throws {
        guard Foundation.rename(from, to) == 0 else {
            throw writeError(errno, file: from, doing: "rename it to \(to)")
        }
    }

    /// fsyncs a directory so renames and creations in it are durable.
    static func syncDirectory(_ path: String) throws {
        let fd = open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw writeError(errno, file: path, doing: "open the directory to fsync it") }
        defer { Foundation.close(fd) }
        // Some file systems refuse fsync on directories (EINVAL): nothing more can be done there.
        guard fsync(fd) == 0 || errno == EINVAL else { throw writeError(errno, file: path, doing: "fsync the directory") }
    }

    /// Creates `path` and missing parents, one `mkdir` at a time, so a failure
    /// reports errno itself (EACCES, EPERM, ENOTDIR, EROFS, ENOSPC) and the
    /// component that failed; Foundation's errors often carry no errno at all.
    static func makeDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            var st = stat()
            if stat(prefix, &st) == 0 {
                guard st.st_mode & S_IFMT == S_IFDIR else {
                    throw writeError(ENOTDIR, file: prefix, doing: "create the directory \(path) (this is not a directory)")
                }
                continue
            }
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw writeError(errno, file: prefix, doing: "create the directory \(path)")
            }
        }
    }

    /// Removes a file or directory tree; a missing path is not an error.
    static func removeTree(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw CheckpointError(.writeFailed, file: path, expected: "to remove it", found: "\(error.localizedDescription)",
                                  remedy: "Check the permissions of the checkpoint directory and remove it by hand.")
        }
    }

    /// Size of the regular file at `path`.
    static func fileSize(_ path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw CheckpointError(.unreadable, file: path, expected: "a readable file", found: errnoDescription(errno),
                                  remedy: "Check the path; a checkpoint directory holds manifest.json, DONE and the shard files it lists.")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(.unreadable, file: path, expected: "a regular file", found: "a directory or special file",
                                  remedy: "Pass a shard file or a checkpoint directory.")
        }
        return Int(st.st_size)
    }

    /// Whether `path` is a directory.
    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }
}
