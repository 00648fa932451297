import TotemCrypto

/// The genesis file (PROTOCOL.md "Genesis"): the chain's identity, its first registrars and
/// validators, and every consensus parameter. A `Genesis` only exists parsed from file bytes
/// (`parse(fileBytes:)`) or built and written (`build(...)`), so `genesisHash` is always
/// SHA-256 of the exact bytes it came from, the value every signature commits to.
public struct Genesis: Sendable {
    public let chainId: String
    public let genesisTimeMs: UInt64
    public let rootRegistrar: Bytes32
    /// The registrars the chain starts with (possibly none), in file order.
    public let registrars: [GenesisRegistrar]
    /// The first validator set, in file order (at least one, distinct keys).
    public let validators: [GenesisValidator]
    public let params: GenesisParams

    /// The exact file bytes.
    public let fileBytes: [UInt8]
    /// SHA-256 of `fileBytes`.
    public let genesisHash: Bytes32

    init(chainId: String, genesisTimeMs: UInt64, rootRegistrar: Bytes32, registrars: [GenesisRegistrar],
         validators: [GenesisValidator], params: GenesisParams, fileBytes: [UInt8]) {
        self.chainId = chainId
        self.genesisTimeMs = genesisTimeMs
        self.rootRegistrar = rootRegistrar
        self.registrars = registrars
        self.validators = validators
        self.params = params
        self.fileBytes = fileBytes
        self.genesisHash = SHA256.hash(fileBytes)
    }

    /// The set in force at height 1. Non-empty with distinct keys, as parsing checked.
    public var validatorSet: ValidatorSet {
        guard let set = ValidatorSet(validators.map(\.publicKey)) else {
            preconditionFailure("a parsed genesis has at least one validator and distinct keys")
        }
        return set
    }
}

public struct GenesisRegistrar: Sendable, Equatable {
    public var name: String
    public var publicKey: Bytes32

    public init(name: String, publicKey: Bytes32) {
        self.name = name
        self.publicKey = publicKey
    }

    public static func == (a: GenesisRegistrar, b: GenesisRegistrar) -> Bool {
        a.name.utf8.elementsEqual(b.name.utf8) && a.publicKey == b.publicKey
    }
}

public struct GenesisValidator: Sendable, Equatable {
    public var name: String
    public var publicKey: Bytes32
    public var p2pAddress: String

    public init(name: String, publicKey: Bytes32, p2pAddress: String) {
        self.name = name
        self.publicKey = publicKey
        self.p2pAddress = p2pAddress
    }

    public static func == (a: GenesisValidator, b: GenesisValidator) -> Bool {
        a.name.utf8.elementsEqual(b.name.utf8) && a.publicKey == b.publicKey
            && a.p2pAddress.utf8.elementsEqual(b.p2pAddress.utf8)
    }
}

/// The consensus parameters; they live in the genesis file and nowhere else.
public struct GenesisParams: Sendable, Equatable {
    public var maxBlockTxs: Int
    public var maxBlockBytes: Int
    /// Admission limit for an encoded SignedTx; at most `Limits.signedTxMaxBytes`.
    public var maxTxBytes: Int
    public var proposalTimeoutMs: UInt64
    public var maxProposalTimeoutMs: UInt64
    public var emptyBlockIntervalMs: UInt64
    public var maxClockDriftMs: UInt64
    public var validatorChangeTtlBlocks: UInt64
    /// Optional in the file (PROTOCOL.md "Checkpoints"): nil when absent, so a file written before
    /// checkpoints existed keeps its bytes and hash; `checkpointInterval` is the value in force.
    public var checkpointIntervalBlocks: UInt64?
    /// Optional in the file: the chunk size of snapshots; `chunkBytes` is the value in force.
    public var snapshotChunkBytes: Int?

    public init(maxBlockTxs: Int, maxBlockBytes: Int, maxTxBytes: Int, proposalTimeoutMs: UInt64,
                maxProposalTimeoutMs: UInt64, emptyBlockIntervalMs: UInt64, maxClockDriftMs: UInt64,
                validatorChangeTtlBlocks: UInt64, checkpointIntervalBlocks: UInt64? = nil,
                snapshotChunkBytes: Int? = nil) {
        self.maxBlockTxs = maxBlockTxs
        self.maxBlockBytes = maxBlockBytes
        self.maxTxBytes = maxTxBytes
        self.proposalTimeoutMs = proposalTimeoutMs
        self.maxProposalTimeoutMs = maxProposalTimeoutMs
        self.emptyBlockIntervalMs = emptyBlockIntervalMs
        self.maxClockDriftMs = maxClockDriftMs
        self.validatorChangeTtlBlocks = validatorChangeTtlBlocks
        self.checkpointIntervalBlocks = checkpointIntervalBlocks
        self.snapshotChunkBytes = snapshotChunkBytes
    }

    /// Blocks between checkpoints (heights that are multiples of it are checkpoint heights); 0: the
    /// chain has no checkpoints.
    public var checkpointInterval: UInt64 { checkpointIntervalBlocks ?? GenesisLimits.checkpointIntervalDefaultBlocks }

    /// The most encoded entries a snapshot chunk holds (a chunk holding a single larger record is
    /// the one exception).
    public var chunkBytes: Int { snapshotChunkBytes ?? GenesisLimits.snapshotChunkDefaultBytes }

    /// Whether the block at `height` is a checkpoint height.
    public func isCheckpoint(height: UInt64) -> Bool {
        checkpointInterval > 0 && height > 0 && height % checkpointInterval == 0
    }

    /// The values of PROTOCOL.md's example file.
    public static let standard = GenesisParams(
        maxBlockTxs: 5000, maxBlockBytes: 8_388_608, maxTxBytes: 65_536, proposalTimeoutMs: 1000,
        maxProposalTimeoutMs: 30_000, emptyBlockIntervalMs: 30_000, maxClockDriftMs: 2000,
        validatorChangeTtlBlocks: 10_000)
}
