/// The named databases of a node's LMDB environment, in one place.
///
/// Layout notation: `a | b` concatenates fixed-width fields; integers are big-endian so that key
/// order is numeric order; `bytes32` are raw hashes or public keys; a value written `TCE(X)` is the
/// canonical encoding of `X` (PROTOCOL.md); `∅` is an empty value (the key is the information).
/// Variable-length fields never appear inside keys except as the last field.
public enum StoreSchema {
    /// Bumped when a layout below changes; stored under `MetaKey.schemaVersion`.
    public static let version: UInt32 = 1

    /// `height:u64` → `TCE(Block)` (header and signed transactions). Dense from 1 to the meta height.
    public static let blocks = "blocks"
    /// `height:u64` → `TCE(CommitCertificate)` of the block at that height.
    public static let certificates = "certificates"
    /// `txHash:bytes32` → `height:u64 | index:u32` (position of the tx in its block).
    public static let txIndex = "txIndex"
    /// `subject:bytes32` → `TCE(Identity)` (display name, role, KYC digest, registering registrar,
    /// registration height, revocation height and reason if revoked).
    public static let identities = "identities"
    /// `subject:bytes32` → `TCE(Registrar)` (name, height added).
    public static let registrars = "registrars"
    /// `contentHash:bytes32` → `TCE(WorkRecord)` (registrant, current owner, Work fields,
    /// registeredAtMs, height, txHash, batchIndex). First registration wins: written once, then only
    /// the owner changes.
    public static let works = "works"
    /// `owner:bytes32 | height:u64 | contentHash:bytes32` → `∅`. Prefix `owner` lists an owner's
    /// works oldest first (reverse: newest first); a transfer deletes the old owner's key and adds
    /// the new owner's at the transfer height.
    public static let worksByOwner = "worksByOwner"
    /// `contentHash:bytes32 | height:u64 | index:u32` → `TCE(Licence)` (licensee, terms,
    /// validUntilMs, txHash). Prefix `contentHash` lists a work's licences in commit order.
    public static let licences = "licences"
    /// `contentHash:bytes32 | height:u64 | index:u32` → `TCE(Claim)` (claimant, infringingDigest,
    /// locator, note, txHash). Prefix `contentHash` lists a work's claims in commit order.
    public static let claims = "claims"
    /// `validator:bytes32 | height:u64 | view:u32 | phase:u8` → `TCE(Evidence)` (both block hashes
    /// and signatures, submitting height and txHash). One record per (validator, height, view, phase).
    public static let evidence = "evidence"
    /// `sender:bytes32` → `lastNonce:u64`. Absent means no committed tx: the next nonce is 1.
    public static let nonces = "nonces"
    /// `fromHeight:u64` → `TCE(ValidatorSet)` (keys sorted ascending, with names and P2P addresses).
    /// The set in force at height `h` is the entry with the greatest key `<= h` (`ReadTxn.floor`);
    /// the history back to genesis is kept for certificates.
    public static let validators = "validators"
    /// `op:u8 | validator:bytes32 | changeHash:bytes32` → `TCE(Tally)` (the change, first vote
    /// height, voters in block order). `changeHash` is SHA-256 of the TCE-encoded change
    /// `(op, validator, name, p2pAddress)`. Cleared when a change is adopted.
    public static let validatorTallies = "validatorTallies"
    /// `imageCode:u64 | contentHash:bytes32` → `∅`. Every registered image code; the in-memory
    /// multi-index hash table for similarity search is rebuilt from it at startup.
    public static let imageCodes = "imageCodes"
    /// `MetaKey.signingState` → `TCE(SigningState)`: current (height, view), last signed
    /// (height, view, phase, blockHash) and the lock. Written and synced before any vote it implies
    /// leaves the node.
    public static let signingState = "signingState"
    /// ASCII name (see `MetaKey`) → value as listed there. Rewritten by every block commit.
    public static let meta = "meta"

    /// Every database of the node, in a fixed order (digests iterate it).
    public static let all: [String] = [
        blocks, certificates, txIndex, identities, registrars, works, worksByOwner, licences, claims,
        evidence, nonces, validators, validatorTallies, imageCodes, signingState, meta,
    ]

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
        /// The single key of the `signingState` database.
        public static let signingState = Array("signingState".utf8)
    }
}

/// Handles of every database in `StoreSchema`, opened once at startup.
public struct StoreDatabases: Sendable {
    public let blocks, certificates, txIndex, identities, registrars, works, worksByOwner: Database
    public let licences, claims, evidence, nonces, validators, validatorTallies, imageCodes: Database
    public let signingState, meta: Database

    /// Looks up every schema database in `environment`, which must have been opened with
    /// `StoreSchema.all` (or a superset).
    public init(_ environment: LMDBEnvironment) throws {
        blocks = try environment.database(StoreSchema.blocks)
        certificates = try environment.database(StoreSchema.certificates)
        txIndex = try environment.database(StoreSchema.txIndex)
        identities = try environment.database(StoreSchema.identities)
        registrars = try environment.database(StoreSchema.registrars)
        works = try environment.database(StoreSchema.works)
        worksByOwner = try environment.database(StoreSchema.worksByOwner)
        licences = try environment.database(StoreSchema.licences)
        claims = try environment.database(StoreSchema.claims)
        evidence = try environment.database(StoreSchema.evidence)
        nonces = try environment.database(StoreSchema.nonces)
        validators = try environment.database(StoreSchema.validators)
        validatorTallies = try environment.database(StoreSchema.validatorTallies)
        imageCodes = try environment.database(StoreSchema.imageCodes)
        signingState = try environment.database(StoreSchema.signingState)
        meta = try environment.database(StoreSchema.meta)
    }
}
