import Foundation
import Tensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `tensors` as a safetensors file, atomically.
///
/// Tensors are stored in name order, converted to `dtype` (F16/BF16 round to
/// nearest even). The JSON header is padded with spaces to a multiple of 8
/// bytes, as the Hugging Face library does. The file is written to
/// `path.tmp-<pid>` and renamed over `path` only when complete.
public func writeSafetensors(_ tensors: [String: Tensor], to path: String, dtype: SafetensorsDType = .f32,
                             metadata: [String: String] = [:]) throws {
    let names = tensors.keys.sorted()
    for name in names where name.isEmpty || name == "__metadata__" {
        throw ModelIOError(.writeFailed, file: path, expected: "tensor names other than '' and '__metadata__'",
                           found: "'\(name)'", remedy: "Rename the tensor.")
    }
    var parts: [String] = []
    if !metadata.isEmpty {
        let fields = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }
        parts.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
    }
    var offset = 0
    for name in names {
        guard let t = tensors[name] else { continue }
        let end = offset + t.count * dtype.byteSize
        let shape = t.shape.map(String.init).joined(separator: ",")
        parts.append("\(jsonString(name)):{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(shape)],"
            + "\"data_offsets\":[\(offset),\(end)]}")
        offset = end
    }
    var header = Array("{\(parts.joined(separator: ","))}".utf8)
    while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

    let tmp = "\(path).tmp-\(ProcessInfo.processInfo.processIdentifier)"
    do {
        guard FileManager.default.createFile(atPath: tmp, contents: nil) else {
            throw ModelIOError(.writeFailed, file: path, expected: "to create the temporary file \(tmp)",
                               found: "creation failed",
                               remedy: "Check that the folder exists and is writable, and that the disk has space.")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp))
        do {
            var prefix = Data(count: 8)
            prefix.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(header.count).littleEndian, as: UInt64.self) }
            try handle.write(contentsOf: prefix + Data(header))
            for name in names {
                guard let t = tensors[name] else { continue }
                try handle.write(contentsOf: encode(t.data, as: dtype))
            }
            try handle.synchronize()
        } catch {
            try? handle.close()
            throw error
        }
        try handle.close()
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            throw ModelIOError(.writeFailed, file: path, expected: "to rename \(tmp) over the target",
                               found: "rename failed: \(reason)", remedy: "Check permissions on the target folder.")
        }
    } catch let error as ModelIOError {
        try? FileManager.default.removeItem(atPath: tmp)
        throw error
    } catch {
        try? FileManager.default.removeItem(atPath: tmp)
        throw ModelIOError(.writeFailed, file: path, expected: "to write the safetensors data",
                           found: "an I/O error (\(error.localizedDescription))",
                           remedy: "Check that the folder is writable and the disk has space.")
    }
}

/// Encodes fp32 values little-endian as `dtype`.
func encode(_ values: [Float], as dtype: SafetensorsDType) -> Data {
    var out = Data(count: values.count * dtype.byteSize)
    out.withUnsafeMutableBytes { raw in
        values.withUnsafeBufferPointer { src in
            switch dtype {
            case .f32:
                for (i, v) in src.enumerated() {
                    raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                }
            case .f16:
                for (i, v) in src.enumerated() {
                    raw.storeBytes(of: FloatBits.floatToHalf(v).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                }
            case .bf16:
                for (i, v) in src.enumerated() {
                    raw.storeBytes(of: FloatBits.floatToBFloat16(v).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                }
            }
        }
    }
    return out
}

/// A JSON string literal for `s`, with quotes, backslashes and control characters escaped.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                out += String(format: "\\u%04x", u.value)
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
