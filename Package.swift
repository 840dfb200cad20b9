// swift-tools-version:6.0
import PackageDescription

/// Release builds of the numeric targets are the hot path: `-Ounchecked` drops
/// bounds and overflow checks there only (tests run the same code in debug), and
/// `-target-cpu haswell` lets SIMD8<Float> code use AVX2 and FMA (the CPUs this
/// runs on all have them; see Docs/Numerics.md).
let fastMath: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo", "-target-cpu", "haswell"], .when(configuration: .release))]

/// The AVX-512 micro-kernel module is compiled for skylake-avx512 in every
/// configuration (so debug tests run the same instructions); it is entered only
/// when `PackedGemm.useAVX512` is set, which the executable does after Platform's CPU check.
let avx512: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "skylake-avx512"]),
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
]

let package = Package(
    name: "ispo-cluster",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ispo-cluster", targets: ["ispo-cluster"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // MARK: C libraries (each touched by exactly one Swift file)
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),

        // MARK: Platform: hardware and environment probes (CPU flags, re-exec), passed down as values
        .target(name: "Platform", dependencies: []),

        // MARK: Numerical core
        .target(name: "Kernels512", dependencies: [], swiftSettings: avx512),
        .target(name: "Tensors", dependencies: ["CBLAS", "Kernels512"], swiftSettings: fastMath),
        .target(name: "Layers", dependencies: ["Tensors", "Kernels512"], swiftSettings: fastMath),
        .target(name: "Transformer", dependencies: ["Tensors", "Layers"], swiftSettings: fastMath),
        .target(name: "Optimization", dependencies: ["Tensors"], swiftSettings: fastMath),
        .target(name: "Objectives", dependencies: ["Tensors", "Layers"], swiftSettings: fastMath),

        // MARK: Models and text in and out
        .target(name: "ModelIO", dependencies: ["Tensors", "Transformer", "Tokenization"], swiftSettings: fastMath),
        .target(name: "Tokenization", dependencies: [], swiftSettings: fastMath),

        // MARK: Tasks and verifiers
        .target(name: "Tasks", dependencies: ["Tensors", "Tokenization"], swiftSettings: fastMath),

        // MARK: Infrastructure (knows nothing of transformers)
        .target(name: "Comm", dependencies: ["CMPI"], swiftSettings: fastMath),
        .target(name: "Configs", dependencies: [.product(name: "Yams", package: "Yams")], swiftSettings: fastMath),
        .target(name: "Checkpoint", dependencies: ["CZstd"], swiftSettings: fastMath),

        // MARK: Weight merging (Merge-of-Thought): pure merges over flat buffers; the allreduce
        // form, the config → recipe step and model files live in Roles
        .target(name: "Merging", dependencies: ["Tensors"], swiftSettings: fastMath),

        // MARK: Roles: where communication meets the model
        .target(name: "Roles",
                dependencies: ["Tensors", "Layers", "Transformer", "Optimization", "Objectives", "Tasks",
                               "Tokenization", "ModelIO", "Comm", "Configs", "Checkpoint", "Merging"],
                swiftSettings: fastMath),

        // MARK: Executable
        .executableTarget(
            name: "ispo-cluster",
            dependencies: [
                "Tensors", "Layers", "Transformer", "Optimization", "Objectives",
                "ModelIO", "Tokenization", "Tasks", "Comm", "Configs", "Roles", "Checkpoint", "Merging", "Platform",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fastMath),

        // MARK: Tests
        // Helpers shared by the test targets (seeded generator, temporary directories,
        // package paths, test values); a regular target, so test targets can depend on it.
        .target(name: "TestSupport", dependencies: ["Tensors"], path: "Tests/TestSupport"),
        .testTarget(name: "PlatformTests", dependencies: ["Platform"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "Platform"]),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "Tensors"]),
        .testTarget(name: "TransformerTests",
                    dependencies: ["Transformer", "Layers", "Objectives", "Optimization", "Tensors", "Platform"]),
        .testTarget(name: "OptimizationTests", dependencies: ["Optimization", "Tensors", "Transformer"]),
        .testTarget(name: "ObjectivesTests", dependencies: ["Objectives", "Tensors"]),
        .testTarget(name: "ModelIOTests", dependencies: ["ModelIO", "Transformer", "Tensors", "Tokenization", "TestSupport"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "TestSupport"]),
        .testTarget(name: "TasksTests", dependencies: ["Tasks", "Tensors", "Tokenization"]),
        .testTarget(name: "CommTests", dependencies: ["Comm"]),
        .testTarget(name: "ConfigsTests", dependencies: ["Configs"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "Comm", "Tensors", "TestSupport"]),
        .testTarget(name: "MergingTests", dependencies: ["Merging", "Tensors", "TestSupport"]),
        .testTarget(name: "RolesTests",
                    dependencies: ["Roles", "Comm", "Configs", "Transformer", "Tasks", "Tensors", "Checkpoint", "Objectives",
                                   "Merging", "ModelIO", "TestSupport"]),
    ],
    // Swift 5 mode: the numeric kernels hand raw pointers to DispatchQueue
    // workers, which Swift 6's sendability checking cannot express.
    swiftLanguageModes: [.v5]
)
