import Certificates
import ChainModel
import ChainState
import Logging
import Storage
import TotemCrypto

/// What the API reads from the chain. Each query is answered from one store snapshot (one LMDB
/// read transaction, `ChainStore.read`), so the parts of one answer agree with one another: a
/// certificate's block, commit and validator history, an account's nonce and identity, a work and
/// its history, a page of works and its cursor. A failed read is counted
/// (`totem_store_read_failures_total`), logged, and thrown to the caller.
final class QueryService: Sendable {
    let chain: ChainService
    let similarity: SimilarityService
    private let metrics: NodeMetrics
    private let logger: Logger

    init(chain: ChainService, similarity: SimilarityService, metrics: NodeMetrics, logger: Logger) {
        self.chain = chain
        self.similarity = similarity
        self.metrics = metrics
        self.logger = logger
    }

    /// A stored record that another one promises is missing (e.g. the block of an indexed tx).
    struct Inconsistency: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `body` on one snapshot of the store; a failure is counted and logged, then thrown.
    private func read<R>(_ query: String, _ body: (StoreSnapshot) throws -> R) throws -> R {
        do {
            return try chain.store.read(body)
        } catch {
            metrics.storeReadFailures.increment()
            logger.error("a query could not read the store", metadata: ["query": "\(query)", "error": "\(error)"])
            throw error
        }
    }

    /// A block reported committed whose LMDB write did not finish in time.
    struct NotSettled: Error {
        let height: UInt64
    }

    /// Waits for the LMDB write of a block already reported committed (logged, see
    /// `ChainStore.logDecided`), so state read next includes it: a client that saw its tx committed
    /// then reads its work, certificate or account sees the change. Throws `NotSettled` after
    /// `StoreLimits.pendingWriteWaitMaxMs`.
    func settle() async throws {
        guard let height = chain.store.pendingHeight else { return }
        do {
            try await chain.store.waitUntilStored(height: height)
        } catch {
            throw NotSettled(height: height)
        }
    }

    /// Transactions in the mempool.
    var mempoolTxCount: Int { chain.mempool.count }

    // MARK: Chain

    /// The stored tip and its block's time (0 before block 1).
    func tip() throws -> (tip: ChainTip, timestampMs: UInt64) {
        try read("tip") { s in
            let tip = try s.tip()
            return (tip, tip.height > 0 ? try s.header(at: tip.height)?.timestampMs ?? 0 : 0)
        }
    }

    /// The height of the checkpoint block a state sync started this node's store from: no block
    /// at or below it is held. Nil for a store holding every block from 1.
    func prunedThrough() throws -> UInt64? {
        try read("state-sync base") { s in try s.baseHeight() }
    }

    /// The block at `height` with its commit certificate; nil above the tip.
    func block(at height: UInt64) throws -> (block: Block, commit: CommitCertificate)? {
        try read("block") { s in try Self.block(at: height, s) }
    }

    /// Up to `limit` blocks with their certificates, from the tip down.
    func latestBlocks(limit: Int) throws -> [(block: Block, commit: CommitCertificate)] {
        try read("latest blocks") { s in
            var blocks: [(block: Block, commit: CommitCertificate)] = []
            var h = try s.tip().height
            // A state-synced store holds no block at or below its base.
            let lowest = (try s.baseHeight()).map { $0 + 1 } ?? 1
            while h >= lowest, blocks.count < limit {
                if let b = try Self.block(at: h, s) { blocks.append(b) }
                h -= 1
            }
            return blocks
        }
    }

    private static func block(at height: UInt64, _ s: StoreSnapshot) throws -> (block: Block, commit: CommitCertificate)? {
        guard let b = try s.block(at: height), let c = try s.certificate(at: height) else { return nil }
        return (b, c)
    }

    /// What `GET /v1/validators` says, from one snapshot.
    struct Validators {
        /// The next height.
        let nextHeight: UInt64
        /// The set in force at `nextHeight`, and the sets adopted after it.
        let record: ValidatorSetRecord
        /// The pending validator changes and their votes, in the order they were started.
        let tallies: [ValidatorTally]
        /// The heights whose stored certificates `lastSigned` was read from (nil before block 1).
        let scanned: ClosedRange<UInt64>?
        /// Per key, the highest of those heights whose certificate carries its commit.
        let lastSigned: [Bytes32: UInt64]
    }

    /// The validator sets, the open tallies, and who signed the last
    /// `NodeLimits.participationScanHeights` stored certificates.
    func validators() throws -> Validators {
        try read("validators") { s in
            let tip = try s.tip().height
            var certificates: [CommitCertificate] = []
            var scanned: ClosedRange<UInt64>?
            if tip >= 1 {
                let range = (tip - min(tip, NodeLimits.participationScanHeights) + 1)...tip
                for h in range { if let c = try s.certificate(at: h) { certificates.append(c) } }
                scanned = range
            }
            return Validators(nextHeight: tip + 1, record: s.state.validatorSetRecord(),
                              tallies: s.state.validatorTallies().tallies, scanned: scanned,
                              lastSigned: CommitParticipation.lastSigned(certificates))
        }
    }

    /// The block at `height`, its certificate and the validator set it adopted (in force from
    /// `height + 2`), for the event stream; nil above the tip.
    func blockForEvents(at height: UInt64) throws -> (block: Block, commit: CommitCertificate, adopted: ValidatorSet?)? {
        try read("block events") { s in
            guard let (block, commit) = try Self.block(at: height, s) else { return nil }
            let adopted = s.state.validatorHistory().entries.first { $0.fromHeight == height + 2 }?.set
            return (block, commit, adopted)
        }
    }

    /// Every validator set since genesis, oldest first, with the first height it is in force.
    func validatorHistory() throws -> [ValidatorHistory.Entry] {
        try read("validator history") { s in s.state.validatorHistory().entries }
    }

    /// What a search term names (`GET /v1/search`).
    enum Found: Equatable {
        case block(height: UInt64)
        case tx(Bytes32)
        case work(Bytes32)
        case account(Bytes32)
    }

    /// The committed block at `height`, if there is one.
    func find(height: UInt64) throws -> Found? {
        try read("search") { s in try s.header(at: height) != nil ? .block(height: height) : nil }
    }

    /// What a 32-byte value is, tried in this order: a committed block's hash, a transaction's
    /// hash (committed or pending here), a registered work's content hash, an account (a key with
    /// a committed tx, an identity, a registrar, the root registrar or a validator, now or before).
    func find(_ value: Bytes32, rootRegistrar: Bytes32) throws -> Found? {
        try read("search") { s in
            if let height = try s.height(ofBlock: value) { return .block(height: height) }
            switch try chain.txStatus(value, in: s) {
            case .committed, .pending: return .tx(value)
            case .rejected, .unknown: break
            }
            let state = s.state
            if state.work(value) != nil { return .work(value) }
            if value == rootRegistrar || state.lastNonce(value) > 0 || state.identity(value) != nil || state.registrar(value) != nil
                || state.validatorHistory().entries.contains(where: { $0.set.contains(value) }) {
                return .account(value)
            }
            return nil
        }
    }

    // MARK: Accounts and works

    struct Account {
        let nextNonce: UInt64
        let identity: IdentityRecord?
        let registrar: RegistrarRecord?
    }

    func account(_ key: Bytes32) throws -> Account {
        try read("account") { s in
            let r = s.state
            return Account(nextNonce: r.lastNonce(key) &+ 1, identity: r.identity(key), registrar: r.registrar(key))
        }
    }

    func work(_ contentHash: Bytes32) throws -> WorkRecord? {
        try read("work") { s in s.state.work(contentHash) }
    }

    struct WorkHistory {
        let work: WorkRecord
        let transfers: [TransferRecord]
        let licences: [LicenceRecord]
        let claims: [ClaimRecord]
    }

    /// A work with its transfers, licences and claims (each list at most
    /// `NodeLimits.historyEntriesMax`); nil when no work has `contentHash`.
    func history(_ contentHash: Bytes32) throws -> WorkHistory? {
        try read("work history") { s in
            guard let work = s.state.work(contentHash) else { return nil }
            let dbs = s.databases, limit = NodeLimits.historyEntriesMax
            func records<R: StateRecord>(_ table: StateTable, _: R.Type) throws -> [R] {
                try s.txn.entries(dbs.table(table), prefix: contentHash.bytes, limit: limit).map { R.decodeStored($0.value, table) }
            }
            return WorkHistory(work: work, transfers: try records(.transfers, TransferRecord.self),
                               licences: try records(.licences, LicenceRecord.self), claims: try records(.claims, ClaimRecord.self))
        }
    }

    struct OwnerPage {
        let works: [WorkRecord]
        /// The cursor of the next page (the last key's `height | contentHash`), when there is one.
        let next: [UInt8]?
    }

    /// Up to `limit` works of `owner` in the order it acquired them, after `cursor` (a previous
    /// page's `next`).
    func works(ownedBy owner: Bytes32, after cursor: [UInt8]?, limit: Int) throws -> OwnerPage {
        // `worksByOwner` keys: owner | height:u64 | contentHash (docs/state.md).
        var lower = owner.bytes
        if let cursor { lower += cursor + [0] }
        let range = KeyRange(lower: lower, upper: StoreKey.successor(ofPrefix: owner.bytes))
        return try read("works by owner") { s in
            var keys: [[UInt8]] = []
            try s.txn.scan(s.databases.table(.worksByOwner), range: range) { entry in
                keys.append(entry.keyBytes)
                return keys.count <= limit
            }
            let page = keys.prefix(limit)
            let works = page.compactMap { key in Bytes32(key.suffix(32)).flatMap { s.state.work($0) } }
            return OwnerPage(works: works, next: keys.count > limit ? page.last.map { Array($0.suffix(40)) } : nil)
        }
    }

    struct SimilarWork {
        let contentHash: Bytes32
        let distance: Int
        /// nil if the work is not in the state (never, for a consistent store).
        let owner: Bytes32?
    }

    /// Works whose image code lies within `maxDistance` of `code`, nearest first, ties by contentHash.
    func similar(code: UInt64, maxDistance: Int, limit: Int) throws -> [SimilarWork] {
        try read("similar works") { s in
            try similarity.query(code: code, maxDistance: maxDistance, limit: limit, in: s).map {
                SimilarWork(contentHash: $0.contentHash, distance: $0.distance, owner: s.state.work($0.contentHash)?.owner)
            }
        }
    }

    // MARK: Transactions

    enum TxStatus {
        /// Committed at `location`; `tx` is nil only if its block does not hold it (damage).
        case committed(TxLocation, tx: SignedTx?)
        case pending(SignedTx)
        case rejected(TxError)
        case unknown
    }

    func txStatus(_ hash: Bytes32) throws -> TxStatus {
        try read("tx status") { s in
            switch try chain.txStatus(hash, in: s) {
            case .committed(let location): return .committed(location, tx: try s.tx(at: location))
            case .pending(let tx): return .pending(tx)
            case .rejected(let error): return .rejected(error)
            case .unknown: return .unknown
            }
        }
    }

    /// What a `totem-certificate/1` of a committed tx is built from, all from one snapshot.
    struct CertificateParts {
        let tx: SignedTx
        let block: Block
        let commit: CommitCertificate
        /// The validator sets from genesis to the block's height, each later one certified by the
        /// header before it.
        let history: [CertifiedValidatorSet]
    }

    /// The parts of the certificate of `txHash`; nil while it is not committed. Throws
    /// `Inconsistency` when a block the store promises is missing.
    func certificateParts(_ txHash: Bytes32) throws -> CertificateParts? {
        try read("certificate") { s in
            guard let location = try s.location(ofTx: txHash) else { return nil }
            guard let block = try s.block(at: location.height), let commit = try s.certificate(at: location.height),
                  Int(location.index) < block.txs.count else {
                throw Inconsistency(description: "block \(location.height) is missing")
            }
            return CertificateParts(tx: block.txs[Int(location.index)], block: block, commit: commit,
                                    history: try Self.validatorHistory(upTo: location.height, s))
        }
    }

    private static func validatorHistory(upTo height: UInt64, _ s: StoreSnapshot) throws -> [CertifiedValidatorSet] {
        var sets: [CertifiedValidatorSet] = []
        for e in s.state.validatorHistory().entries where e.fromHeight <= height {
            guard e.fromHeight > 1 else {
                sets.append(CertifiedValidatorSet(fromHeight: 1, validators: e.set, certifiedBy: nil))
                continue
            }
            guard let h = try s.header(at: e.fromHeight - 1), let c = try s.certificate(at: e.fromHeight - 1) else {
                throw Inconsistency(description: "certifying block \(e.fromHeight - 1) is missing")
            }
            sets.append(CertifiedValidatorSet(fromHeight: e.fromHeight, validators: e.set,
                                              certifiedBy: CertifiedHeader(header: h, commit: c)))
        }
        return sets
    }
}
