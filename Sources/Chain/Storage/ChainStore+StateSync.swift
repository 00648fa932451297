import ChainModel
import ChainState
import TotemCrypto

/// Where a state sync stands: the checkpoint being applied and the chunks already in the store.
public struct StateSyncProgress: Sendable, Equatable {
    public let certificate: CheckpointCertificate
    /// Bit `i % 8` of byte `i / 8` is set once chunk `i` is in the store.
    public private(set) var done: [UInt8]

    public init(certificate: CheckpointCertificate) {
        self.certificate = certificate
        done = [UInt8](repeating: 0, count: (Int(certificate.checkpoint.chunkCount) + 7) / 8)
    }

    public var checkpoint: Checkpoint { certificate.checkpoint }
    public var chunkCount: UInt32 { certificate.checkpoint.chunkCount }

    public func isDone(_ index: UInt32) -> Bool {
        index < chunkCount && done[Int(index / 8)] & (1 << (index % 8)) != 0
    }

    mutating func markDone(_ index: UInt32) {
        done[Int(index / 8)] |= 1 << (index % 8)
    }

    public var doneCount: Int { done.reduce(0) { $0 + $1.nonzeroBitCount } }
    public var isComplete: Bool { doneCount == Int(chunkCount) }

    /// The chunks still to fetch, ascending.
    public var missing: [UInt32] { (0..<chunkCount).filter { !isDone($0) } }

    var encoded: [UInt8] {
        var w = TCEWriter()
        certificate.encode(to: &w)
        w.varBytes(done)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> StateSyncProgress {
        do {
            var r = TCEReader(bytes)
            var progress = StateSyncProgress(certificate: try CheckpointCertificate.decode(from: &r))
            let done = try r.varBytes(maxBytes: progress.done.count, "done")
            try r.finish()
            guard done.count == progress.done.count else { throw DecodeError(.limit, field: "done") }
            progress.done = done
            return progress
        } catch {
            throw StoreError(.malformedRecord, "state-sync progress record: \(error)")
        }
    }
}

/// The checkpoint block a state-synced store starts from: its header and commit certificate, the
/// headers just below it that the leader rotation reads, and the certified headers of the
/// validator-set changes up to it (no block at or below it is stored; these let the node verify
/// and build certificates, and offer snapshots, as a node that replayed the chain).
public struct StateSyncBase: Sendable, Equatable {
    public let header: Header
    public let certificate: CommitCertificate
    public let recentHeaders: [Header]
    public let setChanges: [SetChangeProof]

    /// The header of `height` this record holds, if any.
    public func header(at height: UInt64) -> Header? {
        if height == header.height { return header }
        if let change = setChanges.first(where: { $0.header.height == height }) { return change.header }
        guard let first = recentHeaders.first, height >= first.height, height - first.height < UInt64(recentHeaders.count) else {
            return nil
        }
        return recentHeaders[Int(height - first.height)]
    }

    /// The commit certificate of `height` this record holds, if any (the base's, a set change's).
    public func certificate(at height: UInt64) -> CommitCertificate? {
        if height == header.height { return certificate }
        return setChanges.first { $0.header.height == height }?.commit
    }
}

/// Starting a store from a snapshot instead of block 1 (docs/state-sync.md): the chunks are
/// written as they arrive, each in its own transaction with the progress record, so a node killed
/// midway resumes with the chunks it lacks; the last step makes header H the tip.
extension ChainStore {
    /// The state sync under way in this store; nil when none is.
    public func stateSyncProgress() throws -> StateSyncProgress? {
        try environment.read { txn in
            try txn.get(databases.meta, key: StoreSchema.MetaKey.stateSyncProgress).map(StateSyncProgress.decode)
        }
    }

    /// The header and commit certificate of the checkpoint block this store was state-synced from
    /// (no block below its height is stored); nil for a store that holds every block from 1.
    public func stateSyncBase() throws -> StateSyncBase? {
        try environment.read { try Self.stateSyncBase($0, databases) }
    }

    static func stateSyncBase(_ txn: ReadTxn, _ dbs: StoreDatabases) throws -> StateSyncBase? {
        guard let bytes = try txn.get(dbs.meta, key: StoreSchema.MetaKey.stateSyncBase) else { return nil }
        do {
            var r = TCEReader(bytes)
            let header = try Header.decode(from: &r)
            let certificate = try CommitCertificate.decode(from: &r)
            let recent = try r.list(counts: 0...SnapshotOffer.recentHeadersMax, "recentHeaders") {
                (r: inout TCEReader, _: Int) throws(DecodeError) in try Header.decode(from: &r)
            }
            let changes = try r.list(counts: 0...SnapshotOffer.setChangesMax, "setChanges") {
                (r: inout TCEReader, _: Int) throws(DecodeError) in try SetChangeProof.decode(from: &r)
            }
            try r.finish()
            return StateSyncBase(header: header, certificate: certificate, recentHeaders: recent, setChanges: changes)
        } catch {
            throw StoreError(.malformedRecord, "state-sync base record: \(error)")
        }
    }

    /// Starts (or resumes) applying the snapshot `certificate` names. A store with committed blocks
    /// is refused. The same checkpoint as the record under way resumes it; another one starts
    /// afresh: the state tables are emptied (a record of the genesis state, or of the other
    /// snapshot, that the new one lacks must not survive) and the bitmap is cleared.
    public func beginStateSync(_ certificate: CheckpointCertificate) async throws -> StateSyncProgress {
        let dbs = databases, genesisHash = genesisHash
        return try await writer.write { txn in
            guard try Self.tip(txn, dbs, genesisHash: genesisHash).height == 0 else {
                throw StoreError(.invalidCommit, "the store already holds blocks: a state sync starts from an empty store")
            }
            if let bytes = try txn.get(dbs.meta, key: StoreSchema.MetaKey.stateSyncProgress) {
                let current = try StateSyncProgress.decode(bytes)
                if current.checkpoint == certificate.checkpoint { return current }
            }
            // The validator history and the image-code index only ever gain keys, and the
            // snapshot holds every key they may hold: they are overwritten, not emptied (the
            // genesis set the store is claimed with stays readable meanwhile). So is the
            // `validators` table: its two keys ("set", "history") are in every snapshot, and the
            // node's reads of the set in force (allow list, readiness) need one until then.
            for table in StateTable.allCases where table != .validators { try txn.deleteAll(dbs.table(table)) }
            let progress = StateSyncProgress(certificate: certificate)
            try txn.put(dbs.meta, key: StoreSchema.MetaKey.stateSyncProgress, value: progress.encoded)
            return progress
        }
    }

    /// Writes the (already verified) chunk `index` of the state sync under way, and marks it done
    /// in the progress record, in one transaction. A chunk already done is written again
    /// harmlessly (same records). Returns the progress after it.
    @discardableResult
    public func applySnapshotChunk(_ entries: [SnapshotEntry], index: UInt32) async throws -> StateSyncProgress {
        let dbs = databases
        return try await writer.write { txn in
            guard let bytes = try txn.get(dbs.meta, key: StoreSchema.MetaKey.stateSyncProgress) else {
                throw StoreError(.invalidCommit, "no state sync is under way")
            }
            var progress = try StateSyncProgress.decode(bytes)
            guard index < progress.chunkCount else {
                throw StoreError(.invalidCommit, "chunk \(index) of a snapshot of \(progress.chunkCount) chunks")
            }
            for entry in entries { try txn.put(entry.table.database(dbs), key: entry.key, value: entry.value) }
            progress.markDone(index)
            try txn.put(dbs.meta, key: StoreSchema.MetaKey.stateSyncProgress, value: progress.encoded)
            return progress
        }
    }

    /// Ends the state sync under way: every chunk must be in and `header` must be the checkpoint's
    /// block (its height and hash), `certificate` its commit certificate (checked by the caller
    /// against the set in force). The header becomes the tip (height, hash, state root: block
    /// H + 1 chains from it) and the store's base; the progress record goes. Durable on return.
    public func finishStateSync(header: Header, certificate: CommitCertificate, recentHeaders: [Header] = [],
                                setChanges: [SetChangeProof] = []) async throws -> ChainTip {
        let dbs = databases
        let tip = try await writer.write { txn -> ChainTip in
            guard let bytes = try txn.get(dbs.meta, key: StoreSchema.MetaKey.stateSyncProgress) else {
                throw StoreError(.invalidCommit, "no state sync is under way")
            }
            let progress = try StateSyncProgress.decode(bytes)
            guard progress.isComplete else {
                throw StoreError(.invalidCommit, "\(progress.doneCount) of \(progress.chunkCount) chunks are in")
            }
            guard header.height == progress.checkpoint.height, header.hash == progress.checkpoint.blockHash,
                  certificate.height == header.height else {
                throw StoreError(.invalidCommit, "header \(header.height) (\(header.hash)) is not the checkpoint's block "
                                 + "\(progress.checkpoint.height) (\(progress.checkpoint.blockHash))")
            }
            var w = TCEWriter()
            header.encode(to: &w)
            certificate.encode(to: &w)
            w.list(recentHeaders) { w, h in h.encode(to: &w) }
            w.list(setChanges) { w, c in c.encode(to: &w) }
            let heightKey = StoreKey.u64(header.height)
            try txn.put(dbs.meta, key: StoreSchema.MetaKey.stateSyncBase, value: w.bytes)
            try txn.put(dbs.blockHashes, key: header.hash.bytes, value: heightKey)
            try txn.put(dbs.meta, key: StoreSchema.MetaKey.height, value: heightKey)
            try txn.put(dbs.meta, key: StoreSchema.MetaKey.lastBlockHash, value: header.hash.bytes)
            try txn.put(dbs.meta, key: StoreSchema.MetaKey.stateRoot, value: header.stateRoot.bytes)
            _ = try txn.delete(dbs.meta, key: StoreSchema.MetaKey.stateSyncProgress)
            return ChainTip(height: header.height, lastBlockHash: header.hash, stateRoot: header.stateRoot)
        }
        try await writer.barrier()
        return tip
    }
}
