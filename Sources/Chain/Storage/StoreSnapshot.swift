import ChainModel
import TotemCrypto

/// One consistent view of the committed chain (`ChainStore.read`): one LMDB read transaction and
/// the decided block that was logged but not yet in LMDB when the view began (`ChainStore.logDecided`).
/// Blocks, headers, certificates, transactions, the tx index, the state tables and the indexes
/// read through one snapshot all belong to the same chain. Like its `ReadTxn`, it exists only
/// inside the closure it was passed to, on that thread.
public struct StoreSnapshot {
    let store: ChainStore
    /// The read transaction, for reads this type has no method for.
    public let txn: ReadTxn
    let logged: PendingBlock?

    /// Handles of the store's databases.
    public var databases: StoreDatabases { store.databases }

    /// The committed state tables, read through this snapshot's transaction.
    public var state: StoreStateReader { StoreStateReader(txn: txn, databases: store.databases) }

    /// The last block written to LMDB, as the meta record says (a logged block not yet written is
    /// not counted, as in `ChainStore.tip()`).
    public func tip() throws -> ChainTip {
        try ChainStore.tip(txn, store.databases, genesisHash: store.genesisHash)
    }

    /// The logged block at `height` if there is one.
    private func loggedBlock(at height: UInt64) -> PendingBlock? {
        logged?.block.height == height ? logged : nil
    }

    /// The record of `db` (blocks or certificates) at `height`; nil above the stored tip. Both are
    /// dense from 1 to the tip, so one missing below it is damage, not "not found".
    private func storedRecord(_ db: Database, height: UInt64) throws -> [UInt8]? {
        let key = StoreKey.u64(height)
        if let bytes = try txn.get(db, key: key) { return bytes }
        guard height > 0, height <= (try StoreBlockReplay.committedHeight(txn, meta: store.databases.meta)) else { return nil }
        // A state-synced store holds no block up to its base: absent, not damaged.
        if let base = try baseHeight(), height <= base { return nil }
        throw key.withUnsafeBytes { txn.recordDamage(.damaged(store.environment, db, key: $0, "is missing below the tip")) }
    }

    /// The height of the checkpoint block a state sync started this store from (`stateSyncBase`):
    /// blocks up to it are not stored, only its header and certificate. Nil for a store holding
    /// every block from 1.
    public func baseHeight() throws -> UInt64? {
        try ChainStore.stateSyncBase(txn, store.databases)?.header.height
    }

    /// The committed block at `height` (a logged block included); nil above the tip (or for 0).
    public func block(at height: UInt64) throws -> Block? {
        if let logged = loggedBlock(at: height) { return logged.block }
        guard let bytes = try storedRecord(store.databases.blocks, height: height) else {
            return nil
        }
        do {
            return try Block.decode(bytes, maxTxs: StoreLimits.storedBlockMaxTxCount)
        } catch {
            throw StoreError(.malformedRecord, "stored block \(height): \(error)")
        }
    }

    /// The header of the committed block at `height`, read without decoding its transactions (the
    /// stored block begins with its header); nil above the tip (or for 0). Headers read are kept
    /// in the store's header cache (a header never changes once stored).
    public func header(at height: UInt64) throws -> Header? {
        if let logged = loggedBlock(at: height) { return logged.block.header }
        if let cached = store.headers.withLock({ $0[height] }) { return cached }
        guard let bytes = try storedRecord(store.databases.blocks, height: height) else {
            return try ChainStore.stateSyncBase(txn, store.databases)?.header(at: height)
        }
        let header: Header
        do {
            var reader = TCEReader(bytes)
            header = try Header.decode(from: &reader)
        } catch {
            throw StoreError(.malformedRecord, "stored block \(height): \(error)")
        }
        store.headers.withLock { cache in
            if cache.count >= StoreLimits.headerCacheEntriesMax, let oldest = cache.keys.min() { cache[oldest] = nil }
            cache[height] = header
        }
        return header
    }

    /// The committed transaction at `location`, decoding only that one from its stored block.
    public func tx(at location: TxLocation) throws -> SignedTx? {
        if let logged = loggedBlock(at: location.height) {
            return location.index < logged.block.txs.count ? logged.block.txs[Int(location.index)] : nil
        }
        guard let bytes = try storedRecord(store.databases.blocks, height: location.height) else {
            return nil
        }
        do {
            var reader = TCEReader(bytes)
            _ = try Header.decode(from: &reader)
            let count = try reader.u32("txs")
            guard location.index < count else { return nil }
            for _ in 0..<location.index {
                _ = try reader.raw(Int(try reader.u32("txs")), "txs")
            }
            return try SignedTx.decode(try reader.varBytes(maxBytes: Limits.signedTxMaxBytes, "txs"))
        } catch {
            throw StoreError(.malformedRecord, "stored block \(location.height): \(error)")
        }
    }

    /// The commit certificate stored with the block at `height`; nil above the tip.
    public func certificate(at height: UInt64) throws -> CommitCertificate? {
        if let logged = loggedBlock(at: height) { return logged.certificate }
        guard let bytes = try storedRecord(store.databases.certificates, height: height) else {
            return try ChainStore.stateSyncBase(txn, store.databases)?.certificate(at: height)
        }
        do {
            var reader = TCEReader(bytes)
            let certificate = try CommitCertificate.decode(from: &reader)
            try reader.finish()
            return certificate
        } catch {
            throw StoreError(.malformedRecord, "stored certificate \(height): \(error)")
        }
    }

    /// Where the committed transaction `txHash` is (the logged block included); nil if it is not
    /// committed.
    public func location(ofTx txHash: Bytes32) throws -> TxLocation? {
        if let logged, let index = logged.txIndex[txHash] {
            return TxLocation(height: logged.block.height, index: index)
        }
        let found = try txn.withValue(store.databases.txIndex, key: txHash.bytes) { raw -> TxLocation? in
            guard raw.count == 12, let height = StoreKey.readU64(raw), let index = StoreKey.readU32(raw, at: 8) else {
                return nil
            }
            return TxLocation(height: height, index: index)
        }
        switch found {
        case .none: return nil
        case .some(.none): throw StoreError(.malformedRecord, "tx index entry of \(txHash) is not 12 bytes")
        case .some(.some(let location)): return location
        }
    }

    /// The height of the committed block `blockHash` (the logged block included); nil if no
    /// committed block has that hash.
    public func height(ofBlock blockHash: Bytes32) throws -> UInt64? {
        if let logged, logged.block.hash == blockHash { return logged.block.height }
        let found = try txn.withValue(store.databases.blockHashes, key: blockHash.bytes) { raw -> UInt64? in
            raw.count == 8 ? StoreKey.readU64(raw) : nil
        }
        switch found {
        case .none: return nil
        case .some(.none): throw StoreError(.malformedRecord, "block-hash index entry of \(blockHash) is not 8 bytes")
        case .some(.some(let height)): return height
        }
    }
}
