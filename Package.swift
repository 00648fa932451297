// swift-tools-version:6.0
// Totem: a permissioned blockchain for image copyright registration.
// The targets mirror the architecture (DESIGN.md): dependencies point downward only.
//   totemd -> Consensus, P2P, Storage, Certificates, ImageDecoding
//   Storage -> ChainState -> ChainModel;  Storage alone links CLMDB (and CCRC32C, its checksum instruction)
//   P2P -> P2PWire, the wire format without NIO (all that totem-fuzz needs of P2P)
//   Consensus, P2PWire, Certificates, ImageCodes -> ChainModel -> TotemCrypto -> C system libraries
//   ImageDecoding -> ImageCodes;  Benchmarks (Microbench, crash child, tests only) -> Storage, ImageCodes, P2P
// The chain's targets live under Sources/Chain/: ChainModel, ChainState, Storage, Certificates, ImageCodes.
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
        // CRC-32C with the CPU's instruction (SSE 4.2, ARMv8 CRC): our own C, for Storage's checksums.
        .target(name: "CCRC32C", path: "Sources/CCRC32C"),

        // Keys, signatures, hashes, Merkle proofs, CodedError. The folder is Crypto, the module TotemCrypto:
        // swift-crypto (via Hummingbird) already owns the module name `Crypto`.
        .target(name: "TotemCrypto", dependencies: ["CSodium", "CLibCrypto"], path: "Sources/Crypto"),
        // The chain, one target per layer (Sources/Chain/...).
        // Canonical codec (TCE), protocol model, strict JSON, genesis, key files: what Consensus and P2P see.
        .target(name: "ChainModel", dependencies: ["TotemCrypto"], path: "Sources/Chain/ChainModel"),
        // The pure state machine and the mempool (no LMDB).
        .target(name: "ChainState", dependencies: ["ChainModel", "TotemCrypto"], path: "Sources/Chain/ChainState"),
        // The LMDB store: the only target that links CLMDB.
        .target(name: "Storage", dependencies: ["ChainState", "ChainModel", "TotemCrypto", "CLMDB", "CCRC32C"],
                path: "Sources/Chain/Storage"),
        // Certificates: the builder and the offline verifier (links neither LMDB nor NIO).
        .target(name: "Certificates", dependencies: ["ChainModel", "TotemCrypto"], path: "Sources/Chain/Certificates"),
        // Image-Codes (fingerprints) and the similarity index.
        .target(name: "ImageCodes", dependencies: ["ChainModel", "TotemCrypto"], path: "Sources/Chain/ImageCodes"),
        // Workloads and benchmarks of the store, the similarity index and gossip: used only by
        // Microbench, the crash child and tests, never by the node.
        .target(name: "Benchmarks", dependencies: ["Storage", "ChainState", "ChainModel", "ImageCodes", "P2P",
                                                   "P2PWire", "TotemCrypto",
                                                   .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                                                   .product(name: "NIOPosix", package: "swift-nio")]),
        // The pure PBFT replica, its messages and codecs (its runtime is totemd's ConsensusDriver).
        // TOTEM_FAULT_INJECTION compiles the simulator's test-only injected bugs (InjectedBug) into
        // debug builds only: a release build has none (docs/consensus.md, "Fault injection").
        .target(name: "Consensus", dependencies: ["ChainModel", "TotemCrypto"],
                swiftSettings: [.define("TOTEM_FAULT_INJECTION", .when(configuration: .debug))]),
        // The wire format, without NIO (Sources/P2P/Wire): messages, the handshake, the frame cipher, limits.
        .target(name: "P2PWire", dependencies: ["ChainModel", "TotemCrypto", "CSodium"], path: "Sources/P2P/Wire"),
        // Transport, peers, gossip: the SwiftNIO side of P2P.
        .target(name: "P2P", dependencies: ["P2PWire", "ChainModel", "TotemCrypto",
                                            .product(name: "NIOCore", package: "swift-nio"),
                                            .product(name: "NIOPosix", package: "swift-nio"),
                                            .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
                exclude: ["Wire"]),
        // The node daemon and client CLI.
        .executableTarget(name: "totemd", dependencies: [
            "ChainModel", "ChainState", "Storage", "Certificates", "ImageCodes",
            "Consensus", "P2P", "TotemCrypto", "ImageDecoding",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ], resources: [.copy("Web")]),
        // Killed at random moments by the store's crash-safety test (Tests/ChainTests/StoreCrashTests).
        // Its `node` mode also writes the signing state through the consensus codec (PowerCutTests).
        .executableTarget(name: "totem-store-crash-child", dependencies: ["Storage", "Benchmarks", "Consensus", "ChainState"],
                         path: "Sources/StoreCrashChild"),
        // Decodes image files with libvips and normalises them to the 32x32 pixels of an Image-Code.
        .target(name: "ImageDecoding", dependencies: ["CVips", "ImageCodes", "TotemCrypto"]),
        // libFuzzer targets for every decoder of outside bytes: scripts/fuzz.sh builds it with
        // -sanitize=fuzzer (its @main hands over to libFuzzer's driver); a plain build
        // links it without libFuzzer, and it says so.
        .executableTarget(name: "totem-fuzz", dependencies: ["ChainModel", "Certificates", "Consensus", "ImageCodes",
                                                          "P2PWire", "TotemCrypto"],
                          path: "Sources/Fuzz"),
        // Prints measured figures of the primitives (run in release: see README).
        .executableTarget(name: "Microbench", dependencies: ["Benchmarks", "Storage", "ChainState", "ChainModel",
                                                         "TotemCrypto"]),

        .testTarget(name: "TotemCryptoTests", dependencies: ["TotemCrypto"]),
        // PowerCut/powercut_journal.c is compiled by the power-cut test itself (cc, at test time) into
        // the LD_PRELOAD shim it loads into the crash child; Consensus decodes the signing state there.
        .testTarget(name: "ChainTests", dependencies: ["ChainModel", "ChainState", "Storage", "Certificates",
                                                       "ImageCodes", "Benchmarks", "TotemCrypto", "Consensus"],
                    exclude: ["PowerCut/powercut_journal.c"]),
        .testTarget(name: "ConsensusTests", dependencies: ["Consensus", "ChainModel", "TotemCrypto"],
                    exclude: ["transcripts"],
                    swiftSettings: [.define("TOTEM_FAULT_INJECTION", .when(configuration: .debug))]),
        .testTarget(name: "totemdTests", dependencies: ["totemd", "ChainModel", "ChainState", "Consensus",
                                                        "TotemCrypto",
                                                        .product(name: "TOMLKit", package: "TOMLKit"),
                                                        .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ImageDecodingTests", dependencies: ["ImageDecoding", "CVips", "ImageCodes", "ChainModel"]),
        .testTarget(name: "P2PTests", dependencies: ["P2P", "P2PWire", "ChainModel", "ChainState", "Benchmarks",
                                                     "TotemCrypto",
                                                     .product(name: "NIOCore", package: "swift-nio"),
                                                     .product(name: "NIOPosix", package: "swift-nio"),
                                                     .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
    ],
    swiftLanguageModes: [.v6]
)
