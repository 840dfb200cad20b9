import Tensors

/// Token embedding lookup.
public enum Embedding {
    /// out[n, :] = table[tokens[n], :].
    /// out: (N, C), table: (V, C), tokens: (N)
    public static func forward(out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>,
                               table: UnsafePointer<Float>, rows: Int, channels: Int) {
        for n in 0..<rows {
            (out + n * channels).update(from: table + Int(tokens[n]) * channels, count: channels)
        }
    }

    /// dtable[tokens[n], :] += dout[n, :] (accumulates).
    public static func backward(dtable: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                tokens: UnsafePointer<Int32>, rows: Int, channels: Int) {
        for n in 0..<rows {
            VectorMath.add(dout + n * channels, into: dtable + Int(tokens[n]) * channels, channels)
        }
    }
}
