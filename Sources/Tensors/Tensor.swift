/// A named-free dense fp32 tensor in row-major order: the unit that model files,
/// checkpoints and fixtures exchange. Hot paths work on raw pointers instead.
public struct Tensor: Equatable, Sendable {
    /// Extent of each dimension, outermost first (`[rows, cols]` for a matrix).
    public var shape: [Int]
    /// `shape.reduce(1, *)` values, row-major.
    public var data: [Float]

    /// Wraps `data`; the element count must match the shape.
    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "Tensor: shape \(shape) needs \(shape.reduce(1, *)) values, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    /// A zero-filled tensor of the given shape.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// Number of elements.
    public var count: Int { data.count }
}
