import ChainModel
import TotemCrypto

/// What the state machine needs from the genesis file: the chain's identity, the parameters that
/// bound blocks and transactions, and the initial registrars and validators. Built from the parsed
/// genesis file (`Genesis`), so every node applies blocks with the same values.
public struct ChainConfig: Sendable {
    public var chainId: String
    public var genesisHash: Bytes32
    public var genesisTimeMs: UInt64
    public var rootRegistrar: Bytes32
    public var maxBlockTxs: Int
    /// Bound on the encoded block (`Block.encoded`: header and `list<bytes SignedTx>`).
    public var maxBlockBytes: Int
    /// Bound on one encoded SignedTx (at most `Limits.signedTxMaxBytes`).
    public var maxTxBytes: Int
    public var maxClockDriftMs: UInt64
    /// A tally first voted at height f counts votes up to `f + validatorChangeTtlBlocks - 1`
    /// (0 behaves as 1: a tally lives only in the block of its first vote).
    public var validatorChangeTtlBlocks: UInt64
    /// The registrars appointed in genesis, in file order.
    public var registrars: [Registrar]
    /// The genesis validators: distinct keys, at least one.
    public let validators: [ValidatorMember]

    public struct Registrar: Sendable, Equatable {
        public var name: String
        public var publicKey: Bytes32
        public init(name: String, publicKey: Bytes32) { self.name = name; self.publicKey = publicKey }
    }

    /// Refuses an empty validator list or a repeated validator key (genesis validation refuses
    /// them too; this keeps the state machine's invariant local).
    public init(chainId: String, genesisHash: Bytes32, genesisTimeMs: UInt64, rootRegistrar: Bytes32,
                maxBlockTxs: Int, maxBlockBytes: Int, maxTxBytes: Int, maxClockDriftMs: UInt64,
                validatorChangeTtlBlocks: UInt64, registrars: [Registrar],
                validators: [ValidatorMember]) throws(ChainConfigError) {
        guard let set = ValidatorSet(validators.map(\.key)), set.count == validators.count else {
            throw ChainConfigError(message: "validators must be at least one, with distinct keys")
        }
        guard set.count <= Limits.validatorsMaxCount else {
            throw ChainConfigError(message: "more than \(Limits.validatorsMaxCount) validators")
        }
        self.chainId = chainId; self.genesisHash = genesisHash; self.genesisTimeMs = genesisTimeMs
        self.rootRegistrar = rootRegistrar; self.maxBlockTxs = maxBlockTxs; self.maxBlockBytes = maxBlockBytes
        self.maxTxBytes = min(maxTxBytes, Limits.signedTxMaxBytes); self.maxClockDriftMs = maxClockDriftMs
        self.validatorChangeTtlBlocks = max(validatorChangeTtlBlocks, 1)
        self.registrars = registrars
        self.validators = validators.sorted { $0.key < $1.key }
    }
}

public struct ChainConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
