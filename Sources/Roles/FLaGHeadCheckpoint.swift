import Checkpoint
import Foundation
import Objectives

/// The hyper-parameters of a saved FLaG head: the `metadata` tensor (JSON) of its
/// checkpoint shard file (Docs/CheckpointFormat.md, "FLaG head file").
struct FLaGHeadMetadata: Codable, Equatable {
    static let formatName = "ispo-cluster-flag-head"
    static let currentVersion = 2

    var format = formatName
    var formatVersion = currentVersion
    /// "flag" or "mlp".
    var kind: String
    /// K, dims, projection, temperature (kind "flag").
    var shape: FLaGHeadShape?
    /// Loss weights it was trained with (kind "flag").
    var weights: FLaGLossWeights?
    /// Hidden width (kind "mlp").
    var hidden: Int?
    /// Feature layout: lengths of `[representation | token]`.
    var representationDim: Int
    var tokenDim: Int
    /// Residual depth the features were read at, when the trainer was told it.
    var layer: Int?
    /// Number of Doubles in `parameters`.
    var parameterCount: Int
    var validationAUROC: Double?
    var epochs: Int

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", kind, shape, weights, hidden
        case representationDim = "representation_dim", tokenDim = "token_dim", layer
        case parameterCount = "parameter_count", validationAUROC = "validation_auroc", epochs
    }
}

/// Reading and writing a FLaG head as one checkpoint shard file: zstd-compressed,
/// CRC-32C per tensor and over the record table, written as `<path>.partial`,
/// fsync'd and renamed into place. Doubles are stored bit-exactly as bytes.
enum FLaGHeadCheckpoint {
    static let retrain = "Retrain the head with `ispo-cluster detect train` (or copy the file again if it was damaged in transit)."

    static func write(_ head: FLaGHeadFile, path: String) throws {
        let meta = FLaGHeadMetadata(kind: head.kind, shape: head.shape, weights: head.weights, hidden: head.hidden,
                                    representationDim: head.shape?.representationDim ?? head.standardizer.mean.count,
                                    tokenDim: head.shape?.tokenDim ?? 0, layer: head.layer,
                                    parameterCount: head.parameters.count, validationAUROC: head.validationAUROC,
                                    epochs: head.epochs)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let writer = try ShardWriter(path: path)
        try writer.add("metadata", bytes: Array(try enc.encode(meta)))
        try writer.add("parameters", bytes: bytes(head.parameters))
        try writer.add("standardizer_mean", bytes: bytes(head.standardizer.mean))
        try writer.add("standardizer_std", bytes: bytes(head.standardizer.std))
        try writer.finish()
    }

    static func read(path: String) throws -> FLaGHeadFile {
        do {
            let shard = try ShardReader(path: path)
            try shard.verify()
            let raw = try shard.bytes("metadata")
            let meta: FLaGHeadMetadata
            do { meta = try JSONDecoder().decode(FLaGHeadMetadata.self, from: Data(raw)) } catch {
                throw CheckpointError(.wrongFormat, file: path, expected: "FLaG head metadata (JSON)", found: "\(error)", remedy: retrain)
            }
            guard meta.format == FLaGHeadMetadata.formatName else {
                throw CheckpointError(.wrongFormat, file: path, expected: "format \(FLaGHeadMetadata.formatName)",
                                      found: "format \(meta.format) (another kind of checkpoint shard)", remedy: retrain)
            }
            guard meta.formatVersion <= FLaGHeadMetadata.currentVersion else {
                throw CheckpointError(.unsupportedVersion, file: path, expected: "FLaG head format_version ≤ \(FLaGHeadMetadata.currentVersion)",
                                      found: "\(meta.formatVersion)", remedy: "Upgrade ispo-cluster to read it, or retrain the head.")
            }
            let dim = meta.representationDim + meta.tokenDim
            let params = try doubles(shard, "parameters", count: meta.parameterCount, path: path)
            let mean = try doubles(shard, "standardizer_mean", count: dim, path: path)
            let std = try doubles(shard, "standardizer_std", count: dim, path: path)
            let head = FLaGHeadFile(kind: meta.kind, shape: meta.shape, weights: meta.weights, hidden: meta.hidden,
                                    standardizer: FLaGStandardizer(mean: mean, std: std), parameters: params,
                                    validationAUROC: meta.validationAUROC, epochs: meta.epochs, layer: meta.layer)
            try checkConsistent(head, path: path)
            return head
        } catch let e as CheckpointError {
            // The shard reader's remedy talks about training checkpoints; a head is retrained, not resumed.
            throw CheckpointError(e.kind, file: e.file, expected: e.expected, found: e.found,
                                  remedy: e.kind == .unsupportedVersion ? e.remedy : retrain)
        }
    }

    /// Kind, shape, parameter count and feature width must agree.
    static func checkConsistent(_ h: FLaGHeadFile, path: String) throws {
        let width = h.standardizer.mean.count
        let expectedCount: Int
        switch h.kind {
        case "flag":
            guard let s = h.shape else {
                throw CheckpointError(.malformed, file: path, expected: "a shape for kind flag", found: "none", remedy: retrain)
            }
            guard s.inputDim == width else {
                throw CheckpointError(.malformed, file: path, expected: "a head on \(width) features (the standardiser's)",
                                      found: "a shape on \(s.inputDim)", remedy: retrain)
            }
            expectedCount = s.parameterCount
        case "mlp":
            expectedCount = FLaGMLPProbe.parameterCount(inputDim: width, hidden: h.hidden ?? 0)
        default:
            throw CheckpointError(.wrongFormat, file: path, expected: "kind flag or mlp", found: "kind \(h.kind)", remedy: retrain)
        }
        guard h.parameters.count == expectedCount, h.standardizer.std.count == width else {
            throw CheckpointError(.malformed, file: path, expected: "\(expectedCount) parameters and \(width) standard deviations",
                                  found: "\(h.parameters.count) and \(h.standardizer.std.count)", remedy: retrain)
        }
    }

    static func bytes(_ a: [Double]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(a.count * 8)
        for v in a { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
        return out
    }

    static func doubles(_ shard: ShardReader, _ name: String, count: Int, path: String) throws -> [Double] {
        guard shard.record(named: name) != nil else {
            throw CheckpointError(.missing, file: path, expected: "a tensor '\(name)'", found: "none", remedy: retrain)
        }
        let b = try shard.bytes(name)
        guard b.count == count * 8 else {
            throw CheckpointError(.malformed, file: path, expected: "\(count) doubles (\(count * 8) bytes) in '\(name)'",
                                  found: "\(b.count) bytes", remedy: retrain)
        }
        return (0..<count).map { i in
            var bits: UInt64 = 0
            for j in 0..<8 { bits |= UInt64(b[i * 8 + j]) << (8 * j) }
            return Double(bitPattern: bits)
        }
    }
}
