import Foundation
import ModelIO
import Tensors
import TestSupport
import XCTest

/// A model file holding NaN or infinity must be refused after loading, naming the tensor and the first bad index.
final class FiniteCheckTests: XCTestCase {
    func testANaNWeightInASafetensorsFileIsFoundWithItsTensorAndIndex() throws {
        let dir = try temporaryDirectory(self)
        var good = Tensor(shape: [3, 4], data: (0 ..< 12).map { Float($0) * 0.1 })
        let path = dir + "/model.safetensors"
        try writeSafetensors(["a.weight": good, "b.weight": good], to: path)
        XCTAssertNoThrow(try FiniteCheck.requireFinite(try readSafetensors(path).tensors, file: path))

        good.data[6] = .nan
        var inf = good
        inf.data[6] = 1
        inf.data[9] = -.infinity
        try writeSafetensors(["a.weight": inf, "b.weight": good], to: path)
        let loaded = try readSafetensors(path).tensors
        let bad = try XCTUnwrap(FiniteCheck.firstNonFinite(loaded))
        XCTAssertEqual(bad.tensor, "a.weight", "tensors are visited in name order")
        XCTAssertEqual(bad.index, 9)
        XCTAssertEqual(bad.value, -.infinity)
        XCTAssertThrowsError(try FiniteCheck.requireFinite(loaded, file: path)) { error in
            let s = "\(error)"
            for f in [path, "'a.weight'", "flat index 9", "position [2, 1]", "-inf", "model.check_finite=false"] {
                XCTAssertTrue(s.contains(f), "'\(s)' should mention '\(f)'")
            }
        }
        // A NaN payload with other mantissa bits (a signalling NaN) is caught as well.
        var snan = good
        snan.data = snan.data.map { $0.isNaN ? 0 : $0 }
        snan.data[11] = Float(bitPattern: 0xFF80_0001)
        XCTAssertEqual(FiniteCheck.firstNonFinite(["w": snan])?.index, 11)
    }
}
