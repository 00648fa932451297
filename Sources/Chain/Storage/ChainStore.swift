import ChainModel
import ChainState
import Synchronization
import TotemCrypto

/// The node's chain store: committed blocks, their certificates, the tx index, the state tables and
/// the meta record, in one LMDB environment (`StoreSchema`).
///
/// All writes go through one `StoreWriter` thread. A block is committed with its certificate, tx
/// index entries, state changes, image-code index entries and meta record in **one** write
/// transaction, so after a crash the store holds whole blocks only. Reads run on any thread.
///
/// Durability (docs/consensus.md, "Durability"). A decided block is first synced, with its
/// certificate, to the decided-block log (`logDecided`, a two-slot `SlotFile`: one fsync); from
/// then on it is final on this node, readable here, and its state counts in `withCommittedState`.
/// Its LMDB write follows (`commit`): the environment is opened with `MDB_NOMETASYNC`, so the
/// commit syncs its data pages and, with them, the meta page of the commit before; a power cut
/// can undo the last commit only, and the log, which holds the last two decided blocks, still has
/// it: the next start stores it again (`loggedBlocksAboveTip`). So a height costs one LMDB sync,
/// not two. The signing state lives in its own slot file (one fsync per write), written, like the
/// log, after every queued block write: a signing state on disk is never ahead of the blocks
/// before its height, each of them in LMDB or in the log.
public final class ChainStore: Sendable {
    /// The LMDB environment; read from it on any thread, write only through this store.
    public let environment: LMDBEnvironment
    /// Handles of the schema's databases.
    public let databases: StoreDatabases
    /// The genesis hash of the chain this store belongs to (block 1's parent and parent state root).
    public let genesisHash: Bytes32
    let writer: StoreWriter
    /// This process's hold on the data directory, released when the store is gone (none for a
    /// store opened read-only).
    private let lock: DirectoryLock?
    private let signingFile: SlotFile
    /// Where signing-state writes run: a thread of their own, so a vote's sync never waits for the
    /// LMDB write of the block decided before it (that write overlaps the next height: see
    /// `persistSigningState`).
    private let signingWriter = SerialThread(name: "totem-signing", queueCapacity: StoreLimits.signingWriterQueueMax)
    /// The last decided blocks with their certificates, each synced before its LMDB write.
    private let decidedLog: SlotFile
    /// A decided block that is logged but not yet in LMDB, readable through the block, header,
    /// tx and certificate reads (see `logDecided`).
    let pending = Mutex<PendingBlock?>(nil)
    /// Headers of committed blocks read recently (a header never changes once stored), so the
    /// tip's header, asked for by every proposal and status request, is not checksummed with its
    /// whole block each time. At most `StoreLimits.headerCacheEntriesMax`.
    let headers = Mutex<[UInt64: Header]>([:])
    /// Who takes the state of checkpoint heights (`onCheckpoints`); nil: nobody.
    let checkpointHook = Mutex<CheckpointHook?>(nil)

    /// Opens (creating if needed) the store in `directory` for the chain of `genesisHash`. A new
    /// store records the genesis hash, the schema version and the genesis validator set (in force
    /// from height 1); an existing one must match them. `options.syncsMetaPage` is ignored: the
    /// store always defers meta-page syncs (see the type's comment).
    ///
    /// With `options.readOnly` (a backup being checked: `totemd backup verify`, the source of a
    /// restore) the store must exist and match; nothing in `directory` is created or changed, so
    /// a copy on read-only media can be checked and checking never alters the evidence. Its
    /// writes then fail; it takes no directory lock.
    public init(directory: String, genesisHash: Bytes32, genesisValidators: ValidatorSet,
                options: LMDBEnvironment.Options = .init()) throws {
        var options = options
        options.syncsMetaPage = false
        let lock = options.readOnly ? nil : try DirectoryLock(directory)
        let environment = try LMDBEnvironment(directory: directory, databases: StoreSchema.all, options: options)
        let dbs = try StoreDatabases(environment)
        if options.readOnly {
            try environment.read { txn in
                guard try Self.claimed(txn, dbs, genesisHash: genesisHash, genesisValidators: genesisValidators) else {
                    throw StoreError(.corrupted, "\(directory)/data.mdb holds no genesis record: not the store of a chain")
                }
                guard try Self.blockHashesIndexed(txn, dbs) else {
                    throw StoreError(.unsupportedSchema, "\(directory)/data.mdb was written before the block-hash index; "
                                     + "open it once writable (a node start or a restore) to build the index")
                }
            }
        } else {
            try environment.write { txn in
                try Self.claim(txn, dbs, genesisHash: genesisHash, genesisValidators: genesisValidators)
                try Self.indexBlockHashes(txn, dbs)
            }
            try environment.sync()
        }
        signingFile = try SlotFile(directory: directory, kind: .signingState, readOnly: options.readOnly)
        decidedLog = try SlotFile(directory: directory, kind: .decidedLog, readOnly: options.readOnly)
        self.environment = environment
        self.databases = dbs
        self.genesisHash = genesisHash
        self.writer = StoreWriter(environment: environment)
        self.lock = lock
    }

    private static func claim(_ txn: WriteTxn, _ dbs: StoreDatabases, genesisHash: Bytes32,
                              genesisValidators: ValidatorSet) throws {
        guard try !claimed(txn, dbs, genesisHash: genesisHash, genesisValidators: genesisValidators) else { return }
        try refuseIfHoldingData(txn, dbs)
        try txn.put(dbs.meta, key: StoreSchema.MetaKey.genesisHash, value: genesisHash.bytes)
        try txn.put(dbs.meta, key: StoreSchema.MetaKey.schemaVersion, value: StoreKey.u32Bytes(StoreSchema.version))
        try txn.put(dbs.validatorHistory, key: StoreKey.u64(1), value: Self.encode(genesisValidators))
    }

    /// Whether the store already belongs to a chain: false when it has no genesis record; true when
    /// it has one and it matches; throws when it belongs to another chain or schema.
    private static func claimed(_ txn: ReadTxn, _ dbs: StoreDatabases, genesisHash: Bytes32,
                                genesisValidators: ValidatorSet) throws -> Bool {
        try refuseOlderSchema(txn, dbs, directory: txn.environment.directory)
        let versionBytes = StoreKey.u32Bytes(StoreSchema.version)
        guard let stored = try txn.get(dbs.meta, key: StoreSchema.MetaKey.genesisHash) else { return false }
        guard stored == genesisHash.bytes else {
            throw StoreError(.wrongChain, "store belongs to genesis \(Hex.encode(stored)), not \(genesisHash)")
        }
        let version = try txn.get(dbs.meta, key: StoreSchema.MetaKey.schemaVersion)
        guard version == versionBytes else {
            throw StoreError(.unsupportedSchema, "store schema \(version.map(Hex.encode) ?? "absent"), "
                             + "this build reads \(StoreSchema.version)")
        }
        let genesisSet = try txn.get(dbs.validatorHistory, key: StoreKey.u64(1))
        guard genesisSet == Self.encode(genesisValidators) else {
            throw StoreError(.wrongChain, "store's genesis validator set differs from the one given")
        }
        return true
    }

    /// Whether the `blockHashes` index covers the tip (always, except in a store written before it).
    private static func blockHashesIndexed(_ txn: ReadTxn, _ dbs: StoreDatabases) throws -> Bool {
        let height = try StoreBlockReplay.committedHeight(txn, meta: dbs.meta)
        guard height > 0, let tipHash = try txn.get(dbs.meta, key: StoreSchema.MetaKey.lastBlockHash) else { return true }
        return try txn.get(dbs.blockHashes, key: tipHash) != nil
    }

    /// Fills the `blockHashes` index of a store written before it existed (same schema otherwise):
    /// when the tip's hash is not in it, every stored block's hash is added. A no-op afterwards.
    private static func indexBlockHashes(_ txn: WriteTxn, _ dbs: StoreDatabases) throws {
        guard try !blockHashesIndexed(txn, dbs) else { return }
        let height = try StoreBlockReplay.committedHeight(txn, meta: dbs.meta)
        for h in 1...height {
            let key = StoreKey.u64(h)
            guard let bytes = try txn.get(dbs.blocks, key: key) else {
                throw StoreError(.corrupted, "\(txn.environment.directory)/data.mdb is damaged: block \(h) is missing below "
                                 + "the tip \(height); " + StoreError.restoreAdvice)
            }
            var reader = TCEReader(bytes)
            let header: Header
            do { header = try Header.decode(from: &reader) } catch {
                throw StoreError(.malformedRecord, "stored block \(h): \(error)")
            }
            try txn.put(dbs.blockHashes, key: header.hash.bytes, value: key)
        }
    }

    /// A store written before values carried checksums (schema 1) holds its version as 4 bytes
    /// with nothing after them: it is refused with what to do, not read as damaged or misread.
    private static func refuseOlderSchema(_ txn: ReadTxn, _ dbs: StoreDatabases, directory: String) throws {
        // Without its checksum, a version record is exactly 4 bytes.
        let stored = try txn.withStoredValue(dbs.meta, key: StoreSchema.MetaKey.schemaVersion) {
            $0.count == 4 ? StoreKey.readU32($0) : nil
        }
        guard case .some(.some(let old)) = stored, old < StoreSchema.version else { return }
        throw StoreError(.unsupportedSchema, "the store in \(directory) has schema \(old), written by an earlier build "
                         + "without record checksums; this build reads schema \(StoreSchema.version). Move the data "
                         + "directory away and let the node resync from its peers, or run the earlier build")
    }

    /// A store without a meta record must be empty: data without one means the meta record was
    /// lost to damage, and starting afresh over it would mix two chains.
    private static func refuseIfHoldingData(_ txn: ReadTxn, _ dbs: StoreDatabases) throws {
        let holding = try [dbs.blocks, dbs.certificates, dbs.txIndex, dbs.table(.validators)].first { try txn.count($0) > 0 }
        guard let holding else { return }
        throw StoreError(.corrupted, "\(txn.environment.directory)/data.mdb is damaged: it holds \(holding.name) "
                         + "but no genesis record; " + StoreError.restoreAdvice)
    }

    /// Writes the genesis state (the state machine's `genesisChanges`) into a store that has no
    /// state yet; a store that already has it is left alone. Returns whether it wrote.
    @discardableResult
    public func writeGenesisStateIfNew(_ changes: StateChanges) throws -> Bool {
        let dbs = databases
        let wrote = try environment.write { txn in
            guard try txn.get(dbs.table(.validators), key: StateKeys.validatorSet) == nil else { return false }
            // A state sync under way fills the tables from its snapshot; genesis records the
            // snapshot lacks would otherwise survive into the synced state.
            guard try txn.get(dbs.meta, key: StoreSchema.MetaKey.stateSyncProgress) == nil else { return false }
            for change in changes.sorted {
                if let value = change.value { try txn.put(dbs.table(change.key.table), key: change.key.key, value: value) }
            }
            return true
        }
        if wrote { try environment.sync() }
        return wrote
    }

    // MARK: Commit

    /// Commits `block` with its certificate and state changes in one durable write transaction on
    /// the writer thread, and returns the new tip. `adoptedValidatorSet` is the set a validator
    /// change adopted in this block, in force from `height + 2`.
    ///
    /// Throws `.invalidCommit`, writing nothing, unless the block extends the stored tip (height
    /// `tip + 1`, parent hash the tip's block hash), the certificate is for its height, the header's
    /// tx count matches, and the header's `stateRoot` is the tip's state root chained with `changes`.
    @discardableResult
    public func commit(_ block: Block, certificate: CommitCertificate, changes: StateChanges,
                       adoptedValidatorSet: ValidatorSet? = nil) async throws -> ChainTip {
        let dbs = databases, genesisHash = genesisHash, writer = writer
        let hook = checkpointHook.withLock { $0 }
        let (tip, read) = try await namingFullDisk {
            try await writer.write({ txn in
                try Self.write(block, certificate: certificate, changes: changes, adoptedValidatorSet: adoptedValidatorSet,
                               into: txn, dbs, genesisHash: genesisHash)
            }, readAfter: { hook?.wants($0.height) ?? false })
        }
        pending.withLock { if $0?.block.height ?? 0 <= tip.height { $0 = nil } }
        if let hook, let read { hook.take(tip, read) }
        return tip
    }

    /// Has `take` called with a read transaction of the state right after each commit of a height
    /// that is a multiple of `interval` (a checkpoint: docs/state-sync.md), begun on the writer
    /// thread before the next write. `take` must return at once (it hands the read to a thread of
    /// its own): the commit's caller waits for it.
    public func onCheckpoints(every interval: UInt64, _ take: @escaping @Sendable (ChainTip, DetachedRead) -> Void) {
        precondition(interval > 0, "a checkpoint interval is positive")
        checkpointHook.withLock { $0 = CheckpointHook(interval: interval, take: take) }
    }

    /// A run of consecutive blocks decided elsewhere (catch-up), committed in one durable write
    /// transaction: one sync for the run instead of one per block. Nothing was reported committed
    /// before, so the decided-block log is not needed; a crash leaves the tip before the run.
    /// Returns once the meta page is synced too: the node reports the blocks committed when this
    /// returns, and no log record covers them (without the wait, a power cut right after the
    /// report could undo the run: PowerCutTests). Each item is checked as `commit` checks one block.
    @discardableResult
    public func commitRun(_ items: [(block: Block, certificate: CommitCertificate, changes: StateChanges,
                                    adoptedValidatorSet: ValidatorSet?)]) async throws -> ChainTip {
        precondition(!items.isEmpty, "an empty run")
        let dbs = databases, genesisHash = genesisHash
        let hook = checkpointHook.withLock { $0 }
        // A checkpoint height ends a transaction, so its state can be read as it was committed.
        var segments: [[(block: Block, certificate: CommitCertificate, changes: StateChanges,
                         adoptedValidatorSet: ValidatorSet?)]] = [[]]
        for item in items {
            segments[segments.count - 1].append(item)
            if hook?.wants(item.block.height) ?? false { segments.append([]) }
        }
        var tip: ChainTip?
        for segment in segments where !segment.isEmpty {
            let (written, read) = try await writer.write({ txn in
                var tip: ChainTip?
                for item in segment {
                    tip = try Self.write(item.block, certificate: item.certificate, changes: item.changes,
                                         adoptedValidatorSet: item.adoptedValidatorSet, into: txn, dbs, genesisHash: genesisHash)
                }
                guard let tip else { throw StoreError(.invalidCommit, "an empty run") }
                return tip
            }, readAfter: { hook?.wants($0.height) ?? false })
            tip = written
            if let hook, let read { hook.take(written, read) }
        }
        try await writer.barrier()
        guard let tip else { throw StoreError(.invalidCommit, "an empty run") }
        return tip
    }

    /// Runs `body` with the committed state, a logged block's writes included, and the height
    /// it is at. (The logged block is read first: once it leaves, LMDB holds it.)
    public func withCommittedState<R>(_ body: (OverlayState<StoreStateReader>, UInt64) throws -> R) throws -> R {
        let logged = pending.withLock { $0 }
        let dbs = databases, genesisHash = genesisHash
        return try environment.read { txn in
            let height = max(try Self.tip(txn, dbs, genesisHash: genesisHash).height, logged?.block.height ?? 0)
            let reader = StoreStateReader(txn: txn, databases: dbs)
            return try body(OverlayState(base: reader, changes: logged?.changes ?? StateChanges()), height)
        }
    }

    /// The height of a logged block whose LMDB write has not finished, if any.
    public var pendingHeight: UInt64? { pending.withLock { $0?.block.height } }

    /// The header of a logged block whose LMDB write has not finished, if any: the tip the next
    /// height builds on while that write runs.
    public var pendingHeader: Header? { pending.withLock { $0?.block.header } }

    /// Returns once the block at `height` is in LMDB (a logged block's write is under way), or
    /// throws after `StoreLimits.pendingWriteWaitMaxMs`.
    public func waitUntilStored(height: UInt64) async throws {
        let deadline = ContinuousClock.now + .milliseconds(StoreLimits.pendingWriteWaitMaxMs)
        while try tip().height < height {
            guard ContinuousClock.now < deadline else {
                throw StoreError(.io, "block \(height) was not stored within \(StoreLimits.pendingWriteWaitMaxMs) ms")
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    // MARK: Decided-block log

    /// Durably records a decided block with its commit certificate, ahead of its LMDB write, and
    /// makes it readable (block, header, tx, tx location, certificate) until `commit` has written
    /// it. Returns after the fsync: from then on the block survives any crash, and the node may
    /// report its txs as committed. Runs on the writer thread after every queued write, so the
    /// record it overwrites (two blocks back) is already safe in LMDB: the commit of the block
    /// after it synced its meta page.
    public func logDecided(_ block: Block, certificate: CommitCertificate, changes: StateChanges) async throws {
        var w = TCEWriter(capacity: block.encoded.count + 512)
        w.varBytes(block.encoded)
        certificate.encode(to: &w)
        let file = decidedLog, payload = w.bytes, writer = writer
        try await namingFullDisk { try await writer.afterQueuedWrites { try file.write(payload) } }
        pending.withLock { $0 = PendingBlock(block: block, certificate: certificate, changes: changes) }
    }

    /// The logged decided blocks above the stored tip, in height order from `tip + 1` (at most
    /// two): what a crash left between the log and LMDB. `ChainService` applies them at start.
    public func loggedBlocksAboveTip() throws -> [(block: Block, certificate: CommitCertificate)] {
        let tip = try self.tip()
        var found: [(block: Block, certificate: CommitCertificate)] = []
        for payload in decidedLog.recordsAtOpen {
            do {
                var r = TCEReader(payload)
                let block = try Block.decode(try r.varBytes(maxBytes: payload.count, "block"),
                                             maxTxs: StoreLimits.storedBlockMaxTxCount)
                let certificate = try CommitCertificate.decode(from: &r)
                try r.finish()
                found.append((block, certificate))
            } catch {
                throw StoreError(.malformedRecord, "decided-block log: \(error)")
            }
        }
        var next = tip.height + 1
        var chain: [(block: Block, certificate: CommitCertificate)] = []
        for entry in found.sorted(by: { $0.block.height < $1.block.height }) where entry.block.height == next {
            chain.append(entry)
            next += 1
        }
        return chain
    }

    /// The body of `commit`, for a caller already inside a write transaction of this store's
    /// environment (batched catch-up, the crash-safety harness).
    @discardableResult
    public func write(_ block: Block, certificate: CommitCertificate, changes: StateChanges,
                      adoptedValidatorSet: ValidatorSet? = nil, into txn: WriteTxn) throws -> ChainTip {
        try Self.write(block, certificate: certificate, changes: changes, adoptedValidatorSet: adoptedValidatorSet,
                       into: txn, databases, genesisHash: genesisHash)
    }

    private static func write(_ block: Block, certificate: CommitCertificate, changes: StateChanges,
                              adoptedValidatorSet: ValidatorSet?, into txn: WriteTxn, _ dbs: StoreDatabases,
                              genesisHash: Bytes32) throws -> ChainTip {
        let tip = try Self.tip(txn, dbs, genesisHash: genesisHash)
        // Sorted once: hashed for the state-root check and written in key order.
        let sortedChanges = changes.sorted
        try checkExtends(tip, block, certificate, changesHash: SHA256.hash(StateChanges.encode(sorted: sortedChanges)))
        let height = block.height
        let heightKey = StoreKey.u64(height)
        try txn.put(dbs.blocks, key: heightKey, value: block.encoded)
        try txn.put(dbs.certificates, key: heightKey, value: certificate.encoded)
        try txn.put(dbs.blockHashes, key: block.hash.bytes, value: heightKey)
        for (index, tx) in block.txs.enumerated() {
            var location = StoreKey(capacity: 12)
            location.append(height)
            location.append(UInt32(index))
            guard try txn.insert(dbs.txIndex, key: tx.hash.bytes, value: location.bytes) else {
                throw StoreError(.invalidCommit, "block \(height) repeats committed transaction \(tx.hash)")
            }
            try indexImageCodes(of: tx, txn, dbs)
        }
        for change in sortedChanges {
            let db = dbs.table(change.key.table)
            if let value = change.value {
                try txn.put(db, key: change.key.key, value: value)
            } else {
                try txn.delete(db, key: change.key.key)
            }
        }
        if let adoptedValidatorSet {
            try txn.put(dbs.validatorHistory, key: StoreKey.u64(height + 2), value: encode(adoptedValidatorSet))
        }
        try txn.put(dbs.meta, key: StoreSchema.MetaKey.height, value: heightKey)
        try txn.put(dbs.meta, key: StoreSchema.MetaKey.lastBlockHash, value: block.hash.bytes)
        try txn.put(dbs.meta, key: StoreSchema.MetaKey.stateRoot, value: block.header.stateRoot.bytes)
        return ChainTip(height: height, lastBlockHash: block.hash, stateRoot: block.header.stateRoot)
    }

    private static func checkExtends(_ tip: ChainTip, _ block: Block, _ certificate: CommitCertificate,
                                     changesHash: Bytes32) throws {
        let header = block.header
        guard header.height == tip.height + 1 else {
            throw StoreError(.invalidCommit, "block \(header.height) does not follow stored height \(tip.height)")
        }
        guard header.parentHash == tip.lastBlockHash else {
            throw StoreError(.invalidCommit, "block \(header.height) has parent \(header.parentHash), stored tip is \(tip.lastBlockHash)")
        }
        guard certificate.height == header.height else {
            throw StoreError(.invalidCommit, "certificate for height \(certificate.height) with block \(header.height)")
        }
        guard Int(header.txCount) == block.txs.count else {
            throw StoreError(.invalidCommit, "block \(header.height) header counts \(header.txCount) txs, carries \(block.txs.count)")
        }
        let expectedRoot = StateRoot.next(parent: tip.stateRoot, changesHash: changesHash)
        guard header.stateRoot == expectedRoot else {
            throw StoreError(.invalidCommit, "block \(header.height) state root \(header.stateRoot) is not the stored root chained with its changes (\(expectedRoot))")
        }
    }

    /// Adds the `ImageCodeKey` of each work with an image code that `tx` registers.
    private static func indexImageCodes(of tx: SignedTx, _ txn: WriteTxn, _ dbs: StoreDatabases) throws {
        let works: [Work]
        switch tx.tx.payload {
        case .registerWork(let work): works = [work]
        case .registerWorkBatch(let batch): works = batch
        default: return
        }
        for work in works {
            guard let code = work.imageCode else { continue }
            try txn.put(dbs.imageCodes, key: ImageCodeKey.make(code: code, contentHash: work.contentHash), value: [])
        }
    }

    static func encode(_ set: ValidatorSet) -> [UInt8] {
        var w = TCEWriter(capacity: 4 + 32 * set.count)
        w.list(set.keys) { $0.bytes32($1) }
        return w.bytes
    }

    // MARK: Signing state

    /// Durably stores the consensus signing state (its encoding is the consensus module's), after
    /// every block committed before the call is stored (synced in LMDB, or the last one in the
    /// decided-block log). Returns after the fsync: only then may a vote it implies leave the node.
    public func persistSigningState(_ encoded: [UInt8]) async throws {
        let file = signingFile, signingWriter = signingWriter
        // Not behind the queued block writes: the node votes at height H + 1 while the LMDB write of
        // H runs. The invariant the start-up relies on still holds, because consensus logs block H
        // (synced, `logDecided`) before it signs anything at H + 1: a signing state on disk is never
        // ahead of the block before its height, which is in LMDB or in the log.
        try await namingFullDisk { try await signingWriter.run { try file.write(encoded) } }
    }

    /// Runs a durable write; an I/O failure on a file system out of space becomes `.diskFull`,
    /// naming the data directory and its free bytes (see `StoreError.namingFullDisk`).
    private func namingFullDisk<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError {
            throw error.namingFullDisk(directory: environment.directory)
        }
    }

    /// The last persisted signing state; nil for a validator that never signed. A store written by
    /// an earlier build kept it in the `signingState` database; that record counts until the first
    /// write here.
    public func signingState() throws -> [UInt8]? {
        if let current = signingFile.current { return current }
        return try environment.read { try $0.get(databases.signingState, key: StoreSchema.MetaKey.signingState) }
    }

    /// A signing-state slot that held no valid record at open: the newest signing state may be
    /// lost, so a vote this validator sent may be forgotten (docs/consensus.md, "Durability").
    public var signingStateDamage: SlotDamage? { signingFile.damageAtOpen }

    /// A decided-block log slot that held no valid record at open (a logged block may be lost;
    /// catch-up fetches it again).
    public var decidedLogDamage: SlotDamage? { decidedLog.damageAtOpen }

    /// Gives the page buffers LMDB keeps from the largest write so far back to the heap
    /// (`LMDBEnvironment.releaseWriteBuffers`), in a moment between two transactions found within
    /// `StoreLimits.reopenWaitMax`; false if there was none. Blocks: run it on a thread of its own.
    public func releaseWriteBuffers() throws -> Bool {
        try environment.releaseWriteBuffers(waitingAtMost: StoreLimits.reopenWaitMax)
    }

    /// Finishes queued writes (syncing them) and stops the writer thread.
    public func shutdown() async {
        await signingWriter.shutdown()
        await writer.shutdown()
    }
}

/// The taker of checkpoint states (`ChainStore.onCheckpoints`).
struct CheckpointHook: Sendable {
    let interval: UInt64
    let take: @Sendable (ChainTip, DetachedRead) -> Void

    func wants(_ height: UInt64) -> Bool { height > 0 && height % interval == 0 }
}

/// A decided block between its log record and its LMDB write.
struct PendingBlock: Sendable {
    let block: Block
    let certificate: CommitCertificate
    /// Its state changes.
    let changes: StateChanges
    /// Where each of its txs is (the tx index entries its write will add).
    let txIndex: [Bytes32: UInt32]

    init(block: Block, certificate: CommitCertificate, changes: StateChanges) {
        self.block = block
        self.certificate = certificate
        self.changes = changes
        var index: [Bytes32: UInt32] = [:]
        index.reserveCapacity(block.txs.count)
        for (i, tx) in block.txs.enumerated() { index[tx.hash] = UInt32(i) }
        txIndex = index
    }
}
