import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Bit-level conversions between fp32 and the 16-bit float formats used in model files.
///
/// Written by hand (rather than via `Float16`) so they behave identically on
/// every platform, including Intel macOS where `Float16` is unavailable.
public enum FloatBits {
    /// Decodes IEEE binary16 bits (subnormals, infinities and NaNs included).
    @inline(__always)
    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1f
        let mantissa = UInt32(h & 0x3ff)
        if exponent == 0 {
            // Zero or subnormal: mantissa * 2^-24, exact in fp32.
            let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 {
            return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// Rounds to the nearest binary16 (ties to even); overflow gives ±infinity.
    public static func floatToHalf(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt32((x >> 16) & 0x8000)
        let exponent = Int((x >> 23) & 0xff)
        let mantissa = x & 0x7f_ffff
        if exponent == 0xff {  // Inf or NaN (NaN stays a quiet NaN).
            return UInt16(sign | 0x7c00 | (mantissa != 0 ? 0x200 | (mantissa >> 13) : 0))
        }
        let e = exponent - 112  // Rebiased exponent for binary16.
        if e >= 31 { return UInt16(sign | 0x7c00) }
        if e <= 0 {
            if e < -10 { return UInt16(sign) }  // Below half the smallest subnormal.
            let full = mantissa | 0x80_0000
            let shift = UInt32(14 - e)
            var r = full >> shift
            let rest = full & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if rest > halfway || (rest == halfway && r & 1 == 1) { r += 1 }
            return UInt16(sign | r)
        }
        var r = (UInt32(e) << 10) | (mantissa >> 13)
        let rest = mantissa & 0x1fff
        if rest > 0x1000 || (rest == 0x1000 && r & 1 == 1) { r += 1 }  // Carry may reach infinity: correct.
        return UInt16(sign | r)
    }

    /// Decodes bfloat16 bits (the top 16 bits of an fp32).
    @inline(__always)
    public static func bfloat16ToFloat(_ b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// Rounds to the nearest bfloat16 (ties to even); NaN stays NaN.
    public static func floatToBFloat16(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        if f.isNaN { return UInt16(x >> 16) | 0x40 }
        return UInt16((x &+ 0x7fff &+ ((x >> 16) & 1)) >> 16)
    }
}

extension GGMLType {
    /// Decodes `count` elements stored as this type into fp32.
    ///
    /// `raw` must hold exactly the bytes of those elements; the count must be a
    /// multiple of the block size. Throws for types this reader cannot decode.
    public func dequantize(_ raw: [UInt8], count: Int) throws -> [Float] {
        try raw.withUnsafeBytes { try dequantize(raw: $0, count: count, tensor: "(in-memory buffer)", file: "(memory)") }
    }

    /// Bytes `count` elements of this type occupy, or nil (unknown type,
    /// count not a multiple of the block size, or overflow).
    func byteCount(elements count: Int) -> Int? {
        guard let block = blockSize, let size = bytesPerBlock, count >= 0, count % block == 0 else { return nil }
        let (bytes, overflow) = (count / block).multipliedReportingOverflow(by: size)
        return overflow ? nil : bytes
    }

    func dequantize(raw: UnsafeRawBufferPointer, count: Int, tensor: String, file: String) throws -> [Float] {
        guard isSupported else {
            throw ModelIOError(.unsupportedType, file: file,
                               expected: "tensor '\(tensor)' stored as F32, F16, BF16, Q8_0, Q4_0 or Q4_1",
                               found: "ggml type \(name)", remedy: Remedy.quantization)
        }
        guard let needed = byteCount(elements: count), needed == raw.count else {
            throw ModelIOError(.malformed, file: file,
                               expected: "\(byteCount(elements: count).map(String.init) ?? "a whole number of blocks of")"
                                   + " bytes for \(count) \(name) elements of tensor '\(tensor)'",
                               found: "\(raw.count) bytes", remedy: Remedy.redownload)
        }
        guard count > 0, let src = raw.baseAddress else { return [] }
        let type = self
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            guard let dst = out.baseAddress else { initialized = 0; return }
            let block = type.blockSize ?? 1
            let blocks = count / block
            // Split big tensors into chunks of whole blocks decoded in parallel.
            let chunks = blocks >= 1 << 16 ? min(max(ProcessInfoCores.count, 1) * 4, 64) : 1
            let job = DequantJob(type: type, src: src, dst: dst, blocks: blocks, chunks: chunks)
            if chunks == 1 {
                job.run(chunk: 0)
            } else {
                DispatchQueue.concurrentPerform(iterations: chunks) { job.run(chunk: $0) }
            }
            initialized = count
        }
    }
}

/// Number of cores, read once.
enum ProcessInfoCores {
    static let count: Int = {
        #if canImport(Darwin) || canImport(Glibc) || canImport(Musl)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }()
}

/// One dequantisation pass, split into chunks of whole blocks; each chunk
/// writes a disjoint range of the output, so chunks may run concurrently.
private struct DequantJob: @unchecked Sendable {
    let type: GGMLType
    let src: UnsafeRawPointer
    let dst: UnsafeMutablePointer<Float>
    let blocks: Int
    let chunks: Int

    func run(chunk: Int) {
        let lo = blocks * chunk / chunks
        let hi = blocks * (chunk + 1) / chunks
        switch type {
        case .f32: f32(lo, hi)
        case .f16: f16(lo, hi)
        case .bf16: bf16(lo, hi)
        case .q8_0: q8_0(lo, hi)
        case .q4_0: q4_0(lo, hi)
        case .q4_1: q4_1(lo, hi)
        default: break  // Unreachable: callers check `isSupported`.
        }
    }

    @inline(__always)
    private func half(_ p: UnsafeRawPointer) -> Float {
        FloatBits.halfToFloat(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
    }

    private func f32(_ lo: Int, _ hi: Int) {
        for i in lo ..< hi {
            dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        }
    }

    private func f16(_ lo: Int, _ hi: Int) {
        for i in lo ..< hi { dst[i] = half(src + 2 * i) }
    }

    private func bf16(_ lo: Int, _ hi: Int) {
        for i in lo ..< hi {
            dst[i] = FloatBits.bfloat16ToFloat(
                UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    }

    /// Block: f16 d, 32 × int8 q; x = d·q.
    private func q8_0(_ lo: Int, _ hi: Int) {
        for b in lo ..< hi {
            let p = src + 34 * b
            let d = half(p)
            let q = (p + 2).assumingMemoryBound(to: Int8.self)
            let o = dst + 32 * b
            for j in 0 ..< 32 { o[j] = d * Float(q[j]) }
        }
    }

    /// Block: f16 d, 16 bytes; element j = low nibble of byte j, j+16 = high nibble; x = d·(q−8).
    private func q4_0(_ lo: Int, _ hi: Int) {
        for b in lo ..< hi {
            let p = src + 18 * b
            let d = half(p)
            let q = (p + 2).assumingMemoryBound(to: UInt8.self)
            let o = dst + 32 * b
            for j in 0 ..< 16 {
                let byte = q[j]
                o[j] = d * Float(Int32(byte & 0x0f) - 8)
                o[j + 16] = d * Float(Int32(byte >> 4) - 8)
            }
        }
    }

    /// Block: f16 d, f16 m, 16 bytes of nibbles in Q4_0 order; x = d·q + m.
    private func q4_1(_ lo: Int, _ hi: Int) {
        for b in lo ..< hi {
            let p = src + 20 * b
            let d = half(p)
            let m = half(p + 2)
            let q = (p + 4).assumingMemoryBound(to: UInt8.self)
            let o = dst + 32 * b
            for j in 0 ..< 16 {
                let byte = q[j]
                o[j] = d * Float(byte & 0x0f) + m
                o[j + 16] = d * Float(byte >> 4) + m
            }
        }
    }
}
