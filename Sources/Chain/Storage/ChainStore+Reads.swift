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

    /// The record of `db` (blocks or certificates) at `height`; nil above the stored tip. Both are
    /// dense from 1 to the tip, so one missing below it is damage, not "not found".
    private func storedRecord(_ db: Database, height: UInt64) throws -> [UInt8]? {
        try environment.read { txn in
            let key = StoreKey.u64(height)
            if let bytes = try txn.get(db, key: key) { return bytes }
            guard height > 0, height <= (try StoreBlockReplay.committedHeight(txn, meta: databases.meta)) else { return nil }
            throw key.withUnsafeBytes { txn.recordDamage(.damaged(environment, db, key: $0, "is missing below the tip")) }
        }
    }

    /// The logged block at `height` if it is not in LMDB yet.
    private func pendingBlock(at height: UInt64) -> PendingBlock? {
        pending.withLock { $0?.block.height == height ? $0 : nil }
    }

    /// The committed block at `height` (a logged block included); nil above the tip (or for 0).
    public func block(at height: UInt64) throws -> Block? {
        if let pending = pendingBlock(at: height) { return pending.block }
        guard let bytes = try storedRecord(databases.blocks, height: height) else {
            return nil
        }
        do {
            return try Block.decode(bytes, maxTxs: StoreLimits.storedBlockMaxTxCount)
        } catch {
            throw StoreError(.malformedRecord, "stored block \(height): \(error)")
        }
    }

    /// The header of the committed block at `height`, read without decoding its transactions (the
    /// stored block begins with its header); nil above the tip (or for 0).
    public func header(at height: UInt64) throws -> Header? {
        if let pending = pendingBlock(at: height) { return pending.block.header }
        if let cached = headers.withLock({ $0[height] }) { return cached }
        guard let bytes = try storedRecord(databases.blocks, height: height) else {
            return nil
        }
        let header: Header
        do {
            var reader = TCEReader(bytes)
            header = try Header.decode(from: &reader)
        } catch {
            throw StoreError(.malformedRecord, "stored block \(height): \(error)")
        }
        headers.withLock { cache in
            if cache.count >= StoreLimits.headerCacheEntries, let oldest = cache.keys.min() { cache[oldest] = nil }
            cache[height] = header
        }
        return header
    }

    /// The committed transaction at `location`, decoding only that one from its stored block.
    public func tx(at location: TxLocation) throws -> SignedTx? {
        if let pending = pendingBlock(at: location.height) {
            return location.index < pending.block.txs.count ? pending.block.txs[Int(location.index)] : nil
        }
        guard let bytes = try storedRecord(databases.blocks, height: location.height) else {
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
        if let pending = pendingBlock(at: height) { return pending.certificate }
        guard let bytes = try storedRecord(databases.certificates, height: height) else {
            return nil
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

    /// Where the committed transaction `txHash` is; nil if it is not committed.
    public func location(ofTx txHash: Bytes32) throws -> TxLocation? {
        if let pending = pending.withLock({ $0 }), let index = pending.txIndex[txHash] {
            return TxLocation(height: pending.block.height, index: index)
        }
        let found = try environment.read { txn in
            try txn.withValue(databases.txIndex, key: txHash.bytes) { raw -> TxLocation? in
                guard raw.count == 12, let height = StoreKey.readU64(raw), let index = StoreKey.readU32(raw, at: 8) else {
                    return nil
                }
                return TxLocation(height: height, index: index)
            }
        }
        switch found {
        case .none: return nil
        case .some(.none): throw StoreError(.malformedRecord, "tx index entry of \(txHash) is not 12 bytes")
        case .some(.some(let location)): return location
        }
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
