import Foundation

/// A bounds-checked little-endian reader over a borrowed byte buffer.
///
/// Every read checks the remaining length first and throws a `ModelIOError`
/// naming the file, the field and the offset, so hostile lengths never cause
/// an out-of-bounds access or a large allocation. Valid only inside the
/// `withUnsafeBytes` closure that produced the buffer.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    let file: String
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    /// Bytes left after the current offset.
    var remaining: Int { bytes.count - offset }

    /// Throws unless `count` more bytes are available for `what`.
    func require(_ count: Int, for what: String) throws {
        guard count >= 0, count <= remaining else {
            throw ModelIOError(
                .truncated, file: file,
                expected: "\(count) bytes of \(what) at offset \(offset)",
                found: "only \(max(remaining, 0)) bytes before the end of the file (size \(bytes.count))",
                remedy: Remedy.redownload)
        }
    }

    mutating func skip(_ count: Int, for what: String) throws {
        try require(count, for: what)
        offset += count
    }

    mutating func seek(to newOffset: Int) {
        offset = newOffset
    }

    mutating func u8(_ what: String) throws -> UInt8 {
        try require(1, for: what)
        defer { offset += 1 }
        return bytes.load(fromByteOffset: offset, as: UInt8.self)
    }

    mutating func u16(_ what: String) throws -> UInt16 {
        try require(2, for: what)
        defer { offset += 2 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    mutating func u32(_ what: String) throws -> UInt32 {
        try require(4, for: what)
        defer { offset += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func u64(_ what: String) throws -> UInt64 {
        try require(8, for: what)
        defer { offset += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Reads a u64 count or length and checks that `count * minBytesEach`
    /// bytes could still follow, so that callers may allocate `count` items.
    mutating func count(_ what: String, minBytesEach: Int) throws -> Int {
        let at = offset
        let raw = try u64(what)
        let (need, overflow) = Int(clamping: raw).multipliedReportingOverflow(by: max(minBytesEach, 1))
        guard raw <= UInt64(Int.max), !overflow, need <= remaining else {
            throw ModelIOError(
                .malformed, file: file,
                expected: "\(what) at offset \(at) to fit in the \(remaining) bytes that follow"
                    + " (at least \(max(minBytesEach, 1)) bytes each)",
                found: "\(raw)",
                remedy: Remedy.redownload)
        }
        return Int(raw)
    }

    /// Reads `count` bytes as UTF-8 (invalid sequences become U+FFFD).
    mutating func utf8(count: Int, _ what: String) throws -> String {
        try require(count, for: what)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + count])
        offset += count
        return String(decoding: slice, as: UTF8.self)
    }

    /// Reads a GGUF string: u64 byte length, then UTF-8 bytes.
    mutating func ggufString(_ what: String) throws -> String {
        let n = try count("byte length of \(what)", minBytesEach: 1)
        return try utf8(count: n, what)
    }
}

/// Maps a file into memory, turning Foundation's error into a `ModelIOError`.
func mapFile(_ path: String, kind: String) throws -> Data {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw ModelIOError(.unreadable, file: path, expected: "an existing \(kind) file",
                           found: "no file at this path",
                           remedy: "Check the path (for the bundled model run Launch/fetch-data.sh first).")
    }
    guard !isDirectory.boolValue else {
        throw ModelIOError(.unreadable, file: path, expected: "a \(kind) file", found: "a directory",
                           remedy: "Pass the path of the file itself, not of its folder.")
    }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
        throw ModelIOError(.unreadable, file: path, expected: "a readable \(kind) file",
                           found: "an open/read error (\(error.localizedDescription))",
                           remedy: "Check the file's permissions and that the disk is readable.")
    }
}
