import ChainState

/// The named databases of a node's LMDB environment, in one place.
///
/// Layout notation: `a | b` concatenates fixed-width fields; integers are big-endian so that key
/// order is numeric order; `bytes32` are raw hashes or public keys; a value written `TCE(X)` is the
/// canonical encoding of `X` (PROTOCOL.md); `∅` is an empty value (the key is the information).
/// Variable-length fields never appear inside keys except as the last field.
///
/// Every value below is stored followed by `crc:u32`, the CRC-32C of its key and value
/// (`RecordChecksum`): the layouts give the value without it, as reads return it.
public enum StoreSchema {
    /// Bumped when a layout below changes; stored under `MetaKey.schemaVersion`. Version 2: every
    /// value carries a checksum (`RecordChecksum`); a version-1 store is refused, not misread.
    public static let version: UInt32 = 2

    /// `height:u64` → `TCE(Block)` (header and signed transactions). Dense from 1 to the meta height.
    public static let blocks = "blocks"
    /// `height:u64` → `TCE(CommitCertificate)` of the block at that height.
    public static let certificates = "certificates"
    /// `txHash:bytes32` → `height:u64 | index:u32` (position of the tx in its block).
    public static let txIndex = "txIndex"
    /// `blockHash:bytes32` → `height:u64`: every committed block by its hash (the explorer's search).
    /// Stores written before it existed are filled at startup (`ChainStore.indexBlockHashes`).
    public static let blockHashes = "blockHashes"
    // The state tables: one database per `StateTable` case, named `StateTable.name`, written only
    // through `StateChanges` (layouts: `StateTable` and the record types of `Chain/State`).

    /// `subject:bytes32` → `IdentityRecord` (display name, role, KYC digest, registrar, revocation).
    public static let identities = StateTable.identities.name
    /// `subject:bytes32` → `RegistrarRecord` (name, height added).
    public static let registrars = StateTable.registrars.name
    /// `contentHash:bytes32` → `WorkRecord` (registrant, owner, Work fields, registeredAtMs,
    /// height, txHash, batchIndex). First registration wins; later only the owner changes.
    public static let works = StateTable.works.name
    /// `owner:bytes32 | height:u64 | contentHash:bytes32` → `∅`. Prefix `owner` lists an owner's
    /// works in registration order (reverse: newest first).
    public static let worksByOwner = StateTable.worksByOwner.name
    /// `contentHash:bytes32 | height:u64 | index:u32` → `LicenceRecord`, in commit order per work.
    public static let licences = StateTable.licences.name
    /// `contentHash:bytes32 | height:u64 | index:u32` → `ClaimRecord`, in commit order per work.
    public static let claims = StateTable.claims.name
    /// `validator:bytes32 | height:u64 | view:u32 | phase:u8` → `EvidenceRecord`; one per key.
    public static let evidence = StateTable.evidence.name
    /// `sender:bytes32` → `lastNonce:u64`. Absent means no committed tx: the next nonce is 1.
    public static let nonces = StateTable.nonces.name
    /// Singleton key `"set"` → `ValidatorSetRecord` (set in force, next set, adoption height).
    public static let validators = StateTable.validators.name
    /// Singleton key `"tallies"` → the pending validator-change tallies.
    public static let validatorTallies = StateTable.validatorTallies.name
    /// `contentHash:bytes32 | height:u64 | index:u32` → `TransferRecord` (transfer history).
    public static let transfers = StateTable.transfers.name

    // Indexes and node records outside the state (not hashed into `stateRoot`).

    /// `imageCode:u64 | contentHash:bytes32` → `∅`. Every registered image code; the in-memory
    /// multi-index hash table for similarity search is rebuilt from it at startup.
    public static let imageCodes = "imageCodes"
    /// `fromHeight:u64` → `list<bytes32>` of validator keys sorted ascending: every validator set
    /// since genesis, keyed by the first height it is in force, for certificates. The set in force
    /// at height `h` is the entry with the greatest key `<= h` (`ReadTxn.floor`).
    public static let validatorHistory = "validatorHistory"
    /// `MetaKey.signingState` → `TCE(SigningState)`: where stores written before the signing state
    /// moved to its own files (`SlotFile`) kept it. Read only, until the first new write.
    public static let signingState = "signingState"
    /// ASCII name (see `MetaKey`) → value as listed there. Rewritten by every block commit.
    public static let meta = "meta"

    /// Every database of the node, in a fixed order (digests iterate it).
    public static let all: [String] = [blocks, certificates, txIndex, blockHashes]
        + StateTable.allCases.map(\.name)
        + [imageCodes, validatorHistory, signingState, meta]

    /// Keys of the `meta` and `signingState` databases.
    public enum MetaKey {
        /// → `height:u64` of the last committed block (absent before block 1).
        public static let height = Array("height".utf8)
        /// → `blockHash:bytes32` of the last committed block.
        public static let lastBlockHash = Array("lastBlockHash".utf8)
        /// → `stateRoot:bytes32` after the last committed block.
        public static let stateRoot = Array("stateRoot".utf8)
        /// → `genesisHash:bytes32` of the chain this store belongs to (written once).
        public static let genesisHash = Array("genesisHash".utf8)
        /// → `version:u32`, `StoreSchema.version` when the store was created.
        public static let schemaVersion = Array("schemaVersion".utf8)
        /// → `TCE(CheckpointCertificate) | done:bytes` while a state sync is under way (absent
        /// otherwise): the checkpoint being applied and a bitmap of the chunks in the store (bit
        /// `i % 8` of byte `i / 8` set for chunk `i`), written with each chunk (`ChainStore.applySnapshotChunk`).
        public static let stateSyncProgress = Array("stateSyncProgress".utf8)
        /// → `TCE(Header) | TCE(CommitCertificate)` of the checkpoint block a state sync started
        /// the store from: the lowest height it holds a header of (no block below it is stored).
        public static let stateSyncBase = Array("stateSyncBase".utf8)
        /// The single key of the `signingState` database.
        public static let signingState = Array("signingState".utf8)
    }
}

/// Handles of every database in `StoreSchema`, opened once at startup.
public struct StoreDatabases: Sendable {
    public let blocks, certificates, txIndex, blockHashes, imageCodes, validatorHistory, signingState, meta: Database
    /// The state tables, indexed by `StateTable.rawValue`.
    private let tables: [UInt8: Database]

    /// Looks up every schema database in `environment`, which must have been opened with
    /// `StoreSchema.all` (or a superset).
    public init(_ environment: LMDBEnvironment) throws {
        blocks = try environment.database(StoreSchema.blocks)
        certificates = try environment.database(StoreSchema.certificates)
        txIndex = try environment.database(StoreSchema.txIndex)
        blockHashes = try environment.database(StoreSchema.blockHashes)
        imageCodes = try environment.database(StoreSchema.imageCodes)
        validatorHistory = try environment.database(StoreSchema.validatorHistory)
        signingState = try environment.database(StoreSchema.signingState)
        meta = try environment.database(StoreSchema.meta)
        var tables: [UInt8: Database] = [:]
        for table in StateTable.allCases {
            tables[table.rawValue] = try environment.database(table.name)
        }
        self.tables = tables
    }

    /// The database of a state table.
    public func table(_ table: StateTable) -> Database {
        guard let db = tables[table.rawValue] else {
            preconditionFailure("StoreDatabases opened without state table \(table.name)")
        }
        return db
    }

    public var works: Database { table(.works) }
    public var worksByOwner: Database { table(.worksByOwner) }
    public var nonces: Database { table(.nonces) }
}
