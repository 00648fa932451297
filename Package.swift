// swift-tools-version:6.0
// Totem: a permissioned blockchain for image copyright registration.
// The targets mirror the architecture (DESIGN.md): dependencies point downward only.
//   totemd -> Consensus, P2P -> Chain -> TotemCrypto -> C system libraries
import PackageDescription

let package = Package(
    name: "Totem",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "totemd", targets: ["totemd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // C libraries, found with pkg-config and installed from Debian packages.
        .systemLibrary(name: "CSodium", path: "Sources/CSodium", pkgConfig: "libsodium",
                       providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CLibCrypto", path: "Sources/CLibCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLMDB", path: "Sources/CLMDB", pkgConfig: "lmdb",
                       providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CVips", path: "Sources/CVips", pkgConfig: "vips",
                       providers: [.apt(["libvips-dev"])]),

        // Keys, signatures, hashes, Merkle proofs. The folder is Crypto, the module TotemCrypto:
        // swift-crypto (via Hummingbird) already owns the module name `Crypto`.
        .target(name: "TotemCrypto", dependencies: ["CSodium", "CLibCrypto"], path: "Sources/Crypto"),
        // Codec, model, pure state machine, LMDB store, mempool.
        .target(name: "Chain", dependencies: ["TotemCrypto", "CLMDB"]),
        // Pure PBFT replica, its simulator support and runtime.
        .target(name: "Consensus", dependencies: ["Chain", "TotemCrypto"]),
        // Transport, handshake, peers, gossip.
        .target(name: "P2P", dependencies: ["Chain", "TotemCrypto", "CSodium",
                                            .product(name: "NIOCore", package: "swift-nio"),
                                            .product(name: "NIOPosix", package: "swift-nio"),
                                            .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        // The node daemon and client CLI.
        .executableTarget(name: "totemd", dependencies: [
            "Chain", "Consensus", "P2P", "TotemCrypto", "ImageDecoding",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        // Killed at random moments by the store's crash-safety test (Tests/ChainTests/StoreCrashTests).
        .executableTarget(name: "totem-store-crash-child", dependencies: ["Chain"], path: "Sources/StoreCrashChild"),
        // Decodes image files with libvips and normalises them to the 32x32 pixels of an Image-Code.
        .target(name: "ImageDecoding", dependencies: ["CVips", "Chain"]),
        // Prints measured figures of the primitives (run in release: see README).
        .executableTarget(name: "Microbench", dependencies: ["Chain", "TotemCrypto", "P2P"]),

        .testTarget(name: "TotemCryptoTests", dependencies: ["TotemCrypto"]),
        .testTarget(name: "ChainTests", dependencies: ["Chain", "TotemCrypto"]),
        .testTarget(name: "ConsensusTests", dependencies: ["Consensus", "Chain", "TotemCrypto"],
                    exclude: ["transcripts"]),
        .testTarget(name: "totemdTests", dependencies: ["totemd", "Chain", "Consensus", "TotemCrypto",
                                                        .product(name: "TOMLKit", package: "TOMLKit"),
                                                        .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ImageDecodingTests", dependencies: ["ImageDecoding", "CVips", "Chain"]),
        .testTarget(name: "P2PTests", dependencies: ["P2P", "Chain", "TotemCrypto",
                                                     .product(name: "NIOCore", package: "swift-nio"),
                                                     .product(name: "NIOPosix", package: "swift-nio"),
                                                     .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
    ],
    swiftLanguageModes: [.v6]
)
