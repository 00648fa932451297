import ChainModel
import TotemCrypto

/// Where a committed transaction sits.
public struct TxLocation: Sendable, Hashable {
    /// Height of the block holding the transaction.
    public let height: UInt64
    /// Position of the transaction in its block, from 0.
    public let index: UInt32
}

extension ChainStore {
    /// The last committed block as the meta record says (height 0 and the genesis hash before block 1).
    public func tip() throws -> ChainTip {
        try environment.read { try Self.tip($0, databases, genesisHash: genesisHash) }
    }

    package static func tip(_ txn: ReadTxn, _ dbs: StoreDatabases, genesisHash: Bytes32) throws -> ChainTip {
        let height = try StoreBlockReplay.committedHeight(txn, meta: dbs.meta)
        guard height > 0 else { return ChainTip(height: 0, lastBlockHash: genesisHash, stateRoot: genesisHash) }
        return ChainTip(height: height,
                        lastBlockHash: try bytes32(txn, dbs.meta, StoreSchema.MetaKey.lastBlockHash),
                        stateRoot: try bytes32(txn, dbs.meta, StoreSchema.MetaKey.stateRoot))
    }

    /// Runs `body` with one consistent view of the committed chain: one LMDB read transaction, and
    /// the decided block that is logged but not yet in LMDB (`logDecided`), taken before the
    /// transaction begins. Everything `body` reads through the snapshot belongs to one chain, so
    /// the parts of one answer agree with one another. The snapshot is valid only inside `body`.
    public func read<R>(_ body: (StoreSnapshot) throws -> R) throws -> R {
        // The logged block first: once it leaves `pending`, LMDB holds it.
        let logged = pending.withLock { $0 }
        return try environment.read { txn in try body(StoreSnapshot(store: self, txn: txn, logged: logged)) }
    }

    /// The committed block at `height` (a logged block included); nil above the tip (or for 0).
    public func block(at height: UInt64) throws -> Block? {
        try read { try $0.block(at: height) }
    }

    /// The header of the committed block at `height`, read without decoding its transactions (the
    /// stored block begins with its header); nil above the tip (or for 0).
    public func header(at height: UInt64) throws -> Header? {
        // The tip's header is asked for often: a cached one needs no read transaction.
        if let pending = pending.withLock({ $0 }), pending.block.height == height { return pending.block.header }
        if let cached = headers.withLock({ $0[height] }) { return cached }
        return try read { try $0.header(at: height) }
    }

    /// The committed transaction at `location`, decoding only that one from its stored block.
    public func tx(at location: TxLocation) throws -> SignedTx? {
        try read { try $0.tx(at: location) }
    }

    /// The commit certificate stored with the block at `height`; nil above the tip.
    public func certificate(at height: UInt64) throws -> CommitCertificate? {
        try read { try $0.certificate(at: height) }
    }

    /// Where the committed transaction `txHash` is; nil if it is not committed.
    public func location(ofTx txHash: Bytes32) throws -> TxLocation? {
        if let pending = pending.withLock({ $0 }), let index = pending.txIndex[txHash] {
            return TxLocation(height: pending.block.height, index: index)
        }
        return try read { try $0.location(ofTx: txHash) }
    }

    /// The validator set in force at `height` (from the genesis set and every adopted change).
    public func validatorSet(at height: UInt64) throws -> ValidatorSet? {
        guard let entry = try environment.read({ try $0.floor(databases.validatorHistory, atOrBefore: StoreKey.u64(height)) }) else {
            return nil
        }
        do {
            var reader = TCEReader(entry.value)
            let keys = try reader.list(counts: 1...Limits.validatorsMaxCount, "validators") {
                (r: inout TCEReader, _: Int) throws(DecodeError) in try r.bytes32("validators")
            }
            try reader.finish()
            guard let set = ValidatorSet(keys) else {
                throw StoreError(.malformedRecord, "stored validator set repeats a key")
            }
            return set
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.malformedRecord, "stored validator set: \(error)")
        }
    }

    /// Runs `body` with a consistent snapshot of the committed state, for the pure state machine
    /// (`OverlayState(base:)`) and queries. The reader is valid only inside `body`.
    public func withState<R>(_ body: (StoreStateReader) throws -> R) throws -> R {
        try environment.read { txn in try body(StoreStateReader(txn: txn, databases: databases)) }
    }

    private static func bytes32(_ txn: ReadTxn, _ db: Database, _ key: [UInt8]) throws -> Bytes32 {
        // nil: absent; .some(nil): present but not 32 bytes.
        let value: Bytes32?? = try txn.withValue(db, key: key) { $0.count == 32 ? StoreKey.readBytes32($0) : nil }
        guard case .some(.some(let value)) = value else {
            throw StoreError(.malformedRecord, "meta \(String(decoding: key, as: UTF8.self)) is missing or not 32 bytes")
        }
        return value
    }
}
