import CZstd

/// The only caller of libzstd: one-shot compression and exact-size
/// decompression of a single frame.
public enum Zstd {
    /// Compression levels libzstd accepts (negative levels are its fast modes).
    public static var levels: ClosedRange<Int> { Int(ZSTD_minCLevel()) ... Int(ZSTD_maxCLevel()) }

    /// The libzstd version, e.g. `1.5.4`.
    public static var version: String { String(cString: ZSTD_versionString()) }

    /// Upper bound of a frame's decompressed size per compressed byte: every
    /// zstd block decodes to at most 128 KiB and costs at least 4 bytes (an RLE
    /// block), so a claim above `compressed / 4 * 128 KiB` (plus one block) is
    /// impossible and rejected before allocating.
    public static func maximumDecompressedSize(compressedSize: Int) -> Int {
        (compressedSize / 4 + 1) * 131_072
    }

    /// Compresses `source` into one frame (with its content size) at `level`.
    /// Throws only if libzstd reports an error (`file` names the destination).
    public static func compress(_ source: UnsafeRawBufferPointer, level: Int, file: String) throws -> [UInt8] {
        let bound = ZSTD_compressBound(source.count)
        var out = [UInt8](repeating: 0, count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_compress(dst.baseAddress, bound, source.baseAddress, source.count, Int32(level))
        }
        if ZSTD_isError(written) != 0 {
            throw CheckpointError(.writeFailed, file: file, expected: "zstd to compress \(source.count) bytes at level \(level)",
                                  found: "zstd error '\(String(cString: ZSTD_getErrorName(written)))'",
                                  remedy: "Use a compression level in \(levels).")
        }
        out.removeLast(bound - written)
        return out
    }

    /// The content size a frame declares in its header, or nil if the bytes do
    /// not start a frame or it declares none.
    public static func declaredContentSize(_ frame: UnsafeRawBufferPointer) -> UInt64? {
        let n = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        // ZSTD_CONTENTSIZE_UNKNOWN is (0ULL - 1), ZSTD_CONTENTSIZE_ERROR is (0ULL - 2).
        return n >= UInt64.max - 1 ? nil : n
    }

    /// Decompresses one frame that must fill `destination` exactly; throws a
    /// `CheckpointError` naming `file` and `what` otherwise.
    public static func decompress(_ frame: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer,
                                  file: String, what: String) throws {
        guard let declared = declaredContentSize(frame), declared == UInt64(destination.count) else {
            let found = declaredContentSize(frame).map { "a zstd frame declaring \($0) bytes" }
                ?? "no valid zstd frame header"
            throw CheckpointError(.checksumMismatch, file: file,
                                  expected: "\(what): a zstd frame of \(destination.count) decompressed bytes",
                                  found: found, remedy: CheckpointRemedy.corrupt)
        }
        let n = ZSTD_decompress(destination.baseAddress, destination.count, frame.baseAddress, frame.count)
        if ZSTD_isError(n) != 0 || n != destination.count {
            let found = ZSTD_isError(n) != 0 ? "zstd error '\(String(cString: ZSTD_getErrorName(n)))'" : "\(n) bytes"
            throw CheckpointError(.checksumMismatch, file: file,
                                  expected: "\(what): \(destination.count) bytes from its zstd frame",
                                  found: found, remedy: CheckpointRemedy.corrupt)
        }
    }
}
