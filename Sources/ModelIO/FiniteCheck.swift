import Tensors

/// The scan for NaN and infinity a model's weights get after loading: a file
/// can hold them (a diverged run exported, a bad conversion, bit rot) and the
/// model would otherwise load silently and produce NaN logits.
public enum FiniteCheck {
    /// The first non-finite value of `tensors`, visiting tensors in name order
    /// and values in storage order; nil when every value is finite. Tests the
    /// exponent bits, so the answer holds under any floating-point optimisation.
    public static func firstNonFinite(_ tensors: [String: Tensor]) -> (tensor: String, index: Int, value: Float)? {
        for name in tensors.keys.sorted() {
            let found: (Int, Float)? = tensors[name]!.data.withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: UInt32.self) { bits in
                    for i in 0 ..< bits.count where bits[i] & 0x7F80_0000 == 0x7F80_0000 {
                        return (i, Float(bitPattern: bits[i]))
                    }
                    return nil
                }
            }
            if let (i, v) = found { return (name, i, v) }
        }
        return nil
    }

    /// Throws when `tensors` (loaded from `file`) hold a NaN or an infinity,
    /// naming the tensor, the first bad index (row-major, with its position in
    /// the tensor's shape) and the value.
    public static func requireFinite(_ tensors: [String: Tensor], file: String) throws {
        guard let bad = firstNonFinite(tensors) else { return }
        let shape = tensors[bad.tensor]!.shape
        var rest = bad.index, position: [Int] = []
        for extent in shape.reversed() where extent > 0 {
            position.insert(rest % extent, at: 0)
            rest /= extent
        }
        throw ModelIOError(.malformed, file: file,
                           expected: "finite weights",
                           found: "\(bad.value.isNaN ? "NaN" : "\(bad.value)") in tensor '\(bad.tensor)' (shape \(shape)) at flat index \(bad.index), "
                               + "position \(position)",
                           remedy: "The model file is damaged or was exported from a diverged run: use another copy "
                               + "or an earlier checkpoint. To load it anyway, set model.check_finite=false "
                               + "(or pass --no-check-finite to generate).")
    }
}
