import ChainModel
import ChainState
import Logging
import P2P
import Storage
import Synchronization
import TotemCrypto

/// The chain side of a node: the store, the pure state machine and the mempool, and the rules that
/// join them (admission against committed state, building and checking proposals, committing).
/// Consensus and the API call it; it never calls them.
final class ChainService: Sendable {
    let genesis: Genesis
    let machine: StateMachine
    let store: ChainStore
    let mempool: SharedMempool
    private let logger: Logger
    /// Where failed store reads and writes are counted.
    private let metrics: NodeMetrics
    /// The validator keys last read (`validatorKeys()`), kept for when a later read fails.
    private let lastValidatorKeys: Mutex<ValidatorKeys>
    /// The validators' recorded addresses last read (`recordedAddresses()`), kept likewise.
    private let lastRecordedAddresses = Mutex<[RecordedAddress]>([])

    /// Outcomes of blocks checked or built on the current tip, so committing one does not apply it
    /// again. Keyed by block hash; cleared on every commit.
    private let outcomes = Mutex(BoundedCache<Bytes32, BlockOutcome>(capacity: NodeLimits.outcomeCacheEntriesMax))
    /// Transactions accepted and later dropped (at block building or as stale), for tx status.
    /// Bytes of transactions per proposal, learnt from how long builds take (`ProposalBudget`).
    private let budget: Mutex<ProposalBudget>
    private let rejected = Mutex(BoundedCache<Bytes32, TxError>(capacity: NodeLimits.rejectedTxCacheEntriesMax))
    /// The LMDB write of the last decided block, running while consensus decides the next height
    /// (`commit`); awaited before anything that reads LMDB alone (`waitForStoredBlocks`).
    private let storing = Mutex<Task<Void, any Error>?>(nil)
    /// Why that write failed, once it has: consensus stops on it (`throwIfStoreWriteFailed`).
    private let storeWriteFailure = Mutex<(any Error)?>(nil)
    /// The thread that builds, checks and applies blocks (`offload`).
    private let worker = SerialThread(name: "totem-chain", queueCapacity: NodeLimits.chainWorkerQueueMax)

    init(genesis: Genesis, dataDir: String, mempoolLimits: MempoolLimits, initialMapBytes: Int, metrics: NodeMetrics,
         logger: Logger) throws {
        self.genesis = genesis
        self.logger = logger
        self.metrics = metrics
        budget = Mutex(ProposalBudget(maxBytes: genesis.params.maxBlockBytes, floorBytes: genesis.params.maxTxBytes,
                                      targetMs: genesis.params.maxClockDriftMs * 3 / 5))
        let config = ChainConfig(genesis: genesis)
        machine = StateMachine(config: config)
        store = try Self.refusingDamage(logger) {
            let store = try ChainStore(directory: dataDir, genesisHash: genesis.genesisHash,
                                       genesisValidators: genesis.validatorSet,
                                       options: .init(initialMapSizeBytes: initialMapBytes))
            let checked = try store.verifyAtStart()
            logger.info("store checked", metadata: ["records": "\(checked.records)",
                                                    "blocks": "\(checked.blocks.map { "\($0)" } ?? "none")"])
            return store
        }
        mempool = SharedMempool(Mempool(chainId: genesis.chainId, limits: mempoolLimits), genesisHash: genesis.genesisHash)
        lastValidatorKeys = Mutex((inForce: [], adopted: []))  // read below, once logged blocks are stored
        if let damage = store.decidedLogDamage {
            logger.error("the decided-block log lost a record; a decided block it held is fetched from peers again",
                         metadata: ["damage": "\(damage)"])
        }
        do {
            try store.writeGenesisStateIfNew(machine.genesisChanges())
            try applyLoggedBlocks()
        } catch let error as StoreError {
            let named = error.namingFullDisk(directory: dataDir)
            logger.error("the store could not be written at start", metadata: ["error": "\(named)"])
            throw named
        }
        // The P2P allow list starts from these: a store that cannot tell them stops the start
        // (another set, e.g. genesis's, could admit validators long removed or refuse current ones).
        do {
            let keys = try Self.readValidatorKeys(store)
            lastValidatorKeys.withLock { $0 = keys }
        } catch {
            logger.error("the validator set cannot be read from the store; the node will not start", metadata: ["error": "\(error)"])
            throw NodeError("refusing to start: the validator set cannot be read from the store: \(error)")
        }
    }

    /// Runs the store's opening and start-up check; damage found there is logged at error level and
    /// stops the start with what to do, before anything is served or signed.
    private static func refusingDamage<T>(_ logger: Logger, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StoreError where error.isDamage || error.code == .unsupportedSchema {
            logger.error("the store cannot be used; the node will not start", metadata: ["error": "\(error)"])
            let advice = error.message.contains(StoreError.restoreAdvice) || error.code == .unsupportedSchema
                ? "" : "; " + StoreError.restoreAdvice
            throw NodeError("refusing to start: \(error)\(advice)")
        }
    }

    /// Writes the decided blocks a crash left in the log but not in LMDB (`ChainStore.logDecided`).
    private func applyLoggedBlocks() throws {
        for logged in try store.loggedBlocksAboveTip() {
            let block = logged.block, parent = try parent()
            let result = try store.withState { reader in
                machine.apply(block, parent: parent, state: reader, signatures: .alreadyVerified)
            }
            guard case .success(let outcome) = result else {
                throw NodeError("the logged decided block \(block.height) does not apply to the stored state: restore the data directory")
            }
            let adopted = try adoptedSet(outcome.changes, height: block.height)
            try store.environment.write { txn in
                try store.write(block, certificate: logged.certificate, changes: outcome.changes, adoptedValidatorSet: adopted, into: txn)
            }
            try store.environment.sync()
            logger.notice("stored a decided block from the log", metadata: ["height": "\(block.height)"])
        }
    }

    typealias ValidatorKeys = (inForce: Set<Bytes32>, adopted: Set<Bytes32>)

    /// Validators of the set in force at the next height, and of adopted sets after it (the P2P
    /// allow list). When the store cannot be read, the failure is counted and logged and the keys
    /// last read are kept: the allow list stays as it was rather than changing to a guess. (The
    /// first read, at start, must succeed: see `init`.)
    func validatorKeys() -> ValidatorKeys {
        do {
            let keys = try Self.readValidatorKeys(store)
            lastValidatorKeys.withLock { $0 = keys }
            return keys
        } catch {
            metrics.storeReadFailures.increment()
            logger.error("could not read the validator set; the allow list stays as it was", metadata: ["error": "\(error)"])
            return lastValidatorKeys.withLock { $0 }
        }
    }

    /// The validator keys as `validatorKeys()` last read them (the node reads them every second),
    /// without a store read: for paths too hot for one.
    func lastReadValidatorKeys() -> ValidatorKeys { lastValidatorKeys.withLock { $0 } }

    /// The validators of the set in force at the next height and of adopted sets after it, at the
    /// addresses the chain records for them (genesis, or their latest adopted add), by key: whom
    /// the node dials. A failed read is counted and logged, and the addresses last read are kept.
    func recordedAddresses() -> [RecordedAddress] {
        do {
            let members = try store.read { snapshot in
                try snapshot.state.validatorSetRecord().members(inForceFrom: snapshot.tip().height + 1)
            }
            let addresses = members.map { RecordedAddress(key: $0.key, address: $0.p2pAddress) }
            lastRecordedAddresses.withLock { $0 = addresses }
            return addresses
        } catch {
            metrics.storeReadFailures.increment()
            logger.error("could not read the validators' addresses; the dial targets stay as they were",
                         metadata: ["error": "\(error)"])
            return lastRecordedAddresses.withLock { $0 }
        }
    }

    /// The tip and the validator-set record, read in one transaction.
    private static func readValidatorKeys(_ store: ChainStore) throws -> ValidatorKeys {
        let (height, record) = try store.read { snapshot in (try snapshot.tip().height, snapshot.state.validatorSetRecord()) }
        let inForce = record.inForce(at: height + 1)
        let later = record.epochs.filter { $0.fromHeight > height + 1 }.flatMap { $0.set.keys }
        return (Set(inForce.set.keys), Set(later))
    }

    /// Runs `body` with the mempool's view of committed state (one read transaction).
    /// (A decided block that is logged but not yet in LMDB counts: see `ChainStore.logDecided`.)
    func withAccounts<T>(_ body: (CommittedAccounts<OverlayState<StoreStateReader>>) throws -> T) throws -> T {
        try store.withCommittedState { reader, height in
            try body(CommittedAccounts(state: reader, config: machine.config, committedHeight: height))
        }
    }

    // MARK: Admission

    enum SubmitOutcome: Sendable, Equatable {
        case accepted
        /// Already pending or committed: nothing changed.
        case duplicate
        case rejected(code: String, message: String)
    }

    /// Offers transactions to the mempool: cheap checks (a registration of content already
    /// registered, and evidence that would not apply, are refused here), then signatures on all
    /// cores, then insert.
    func submit(_ txs: [SignedTx]) throws -> [SubmitOutcome] {
        var outcomes = try submitOnce(txs)
        // A block committed while they were checked: check those again against the new state.
        for _ in 0..<NodeLimits.admissionRetryMaxCount {
            let again = outcomes.indices.filter { outcomes[$0] == Self.stateChanged }
            guard !again.isEmpty else { break }
            for (k, outcome) in try submitOnce(again.map { txs[$0] }).enumerated() { outcomes[again[k]] = outcome }
        }
        return outcomes
    }

    private static let stateChanged = SubmitOutcome.rejected(code: MempoolError.Code.stateChanged.rawValue, message: "")

    private func submitOnce(_ txs: [SignedTx]) throws -> [SubmitOutcome] {
        try withAccounts { accounts in
            var outcomes = [SubmitOutcome?](repeating: nil, count: txs.count)
            var offered: [SignedTx] = []
            var offeredIndex: [Int] = []
            for (i, tx) in txs.enumerated() {
                if try store.location(ofTx: tx.hash) != nil {  // damage throws: never re-admit a committed tx
                    outcomes[i] = .duplicate
                } else if let conflict = machine.registrationConflict(tx, state: accounts.state)
                            ?? machine.evidenceProblem(tx, state: accounts.state, height: accounts.nextHeight) {
                    outcomes[i] = .rejected(code: conflict.code.rawValue, message: conflict.message)
                } else {
                    offered.append(tx)
                    offeredIndex.append(i)
                }
            }
            for (k, admission) in mempool.admit(offered, accounts: accounts).enumerated() {
                switch admission {
                case .accepted: outcomes[offeredIndex[k]] = .accepted
                case .duplicate: outcomes[offeredIndex[k]] = .duplicate
                case .rejected(let e) where e.code == .stateChanged: outcomes[offeredIndex[k]] = Self.stateChanged
                case .rejected(let e): outcomes[offeredIndex[k]] = .rejected(code: e.code.rawValue, message: e.message)
                }
            }
            return outcomes.map { $0 ?? .rejected(code: "internal_error", message: "no outcome") }
        }
    }

    /// What a proposal could take now, oldest first, up to `maxBytes` (nothing when committed state
    /// cannot be read: the failure is counted where it is met next).
    func proposable(maxBytes: Int) -> [SignedTx] {
        guard mempool.count > 0 else { return [] }
        let maxTxs = genesis.params.maxBlockTxs
        return (try? withAccounts { accounts in
            mempool.withPool { $0.select(maxTxs: maxTxs, maxBytes: maxBytes, accounts: accounts) }
        }) ?? []
    }

    /// Whether the mempool holds a transaction a proposal could take now: one whose nonce is its
    /// sender's next. Txs waiting for a nonce gap to close are no work: proposing for them would
    /// make empty blocks back to back.
    func hasProposableWork() -> Bool {
        guard mempool.count > 0 else { return false }
        let params = genesis.params
        do {
            return try withAccounts { accounts in
                mempool.withPool { !$0.selection(maxTxs: 1, maxBytes: params.maxBlockBytes, accounts: accounts).txs.isEmpty }
            }
        } catch {
            // Counted and logged, and answered "yes": the proposal path then reads the same state
            // and meets the failure where it stops consensus with its error, instead of this node
            // waiting idle with pending transactions and saying nothing.
            metrics.storeReadFailures.increment()
            logger.error("could not read committed state to select transactions", metadata: ["error": "\(error)"])
            return true
        }
    }

    /// Runs CPU-heavy chain work (building, checking and applying blocks: seconds for a full block
    /// of batch registrations on a busy machine) on the node's chain thread, one job at a time, and
    /// returns its result. Run on the cooperative pool, such work starved the P2P tasks that share
    /// it (two threads on a 2-core machine): pings stopped for longer than the silence limit and
    /// peers dropped the busy node mid-block (seen under `bench --works-per-tx 100`).
    func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await worker.run(body)
    }

    // MARK: Tip

    func tip() throws -> ChainTip { try store.tip() }

    /// The parent of the next block: the decided block whose LMDB write is under way, else the
    /// stored tip's header, or the genesis parent.
    func parent() throws -> ParentInfo {
        // Read before the stored tip: once the logged block leaves, LMDB holds it.
        if let logged = store.pendingHeader { return ParentInfo(header: logged) }
        let tip = try store.tip()
        guard tip.height > 0 else { return machine.genesisParent }
        guard let header = try store.header(at: tip.height) else {
            throw NodeError("store tip \(tip.height) has no block")
        }
        return ParentInfo(header: header)
    }

    /// Pending registrations of content a committed block registered leave the mempool and are
    /// answered as rejected (`work_already_registered`), here as on the node that would have
    /// proposed them: their senders can reuse those nonces at once.
    private func dropLosingRegistrations(_ committed: [SignedTx], height: UInt64) {
        let losers = mempool.withPool { $0.registrationsCommitted(committed) }
        guard !losers.isEmpty else { return }
        rejected.withLock { cache in
            for lost in losers {
                // Worded as the state machine words it when a proposer finds the same.
                let which = lost.item.map { "item \($0): " } ?? ""
                cache.insert(TxError(.workAlreadyRegistered, "\(which)work \(lost.contentHash) is already registered by "
                                     + "\(lost.registrant) at height \(height)"), for: lost.tx.hash)
            }
        }
        logger.debug("dropped registrations of content a block registered", metadata: ["count": "\(losers.count)"])
    }

    // MARK: Proposals

    /// Builds the child of the tip from the mempool, in arrival order, stamped `nowMs`; transactions
    /// that no longer apply leave the mempool and are reported as rejected.
    func buildProposal(view: UInt32, proposer: Bytes32, nowMs: UInt64) throws -> Block {
        try buildProposal(view: view, proposer: proposer, clock: { nowMs })
    }

    /// As above, stamped with `clock()` when the build starts, within the `ProposalBudget`: a build
    /// that took so long that voters could take its time for a stale one is done again, smaller,
    /// with a fresh time.
    func buildProposal(view: UInt32, proposer: Bytes32, clock: () -> UInt64) throws -> Block {
        var attempt = 0
        while true {
            let startMs = clock()
            let maxBytes = budget.withLock { $0.bytes }
            // Transactions are added for at most a third of the budget's target: sorting and hashing
            // the state changes after them take about as long again, and the block must still be
            // sent and decoded within maxClockDriftMs of its time (at a half, heavy blocks on a busy
            // machine reached voters 2.0-3.1 s after their time and were refused). A build's time
            // is bounded whatever its candidates cost (a batch of 1,000 works costs as much as
            // 1,000 single txs).
            let fillMs = budget.withLock { $0.targetMs } / 3
            let built = try build(view: view, proposer: proposer, nowMs: startMs, maxBytes: maxBytes,
                                  timeIsUp: { clock() &- startMs > fillMs })
            let elapsedMs = clock() &- startMs
            let blockBytes = built.block.txs.reduce(0) { $0 + $1.bytes.count }
            let again = budget.withLock { $0.observe(blockBytes: blockBytes, txCount: built.block.txs.count, elapsedMs: elapsedMs) }
            attempt += 1
            if again && attempt < NodeLimits.proposalBuildAttemptsMax {
                logger.info("proposal took too long to build; building a smaller one", metadata: [
                    "height": "\(built.block.height)", "txs": "\(built.block.txs.count)", "bytes": "\(blockBytes)",
                    "elapsedMs": "\(elapsedMs)", "budgetBytes": "\(budget.withLock { $0.bytes })"])
                continue
            }
            outcomes.withLock { $0.insert(built.outcome, for: built.block.hash) }
            return built.block
        }
    }

    private func build(view: UInt32, proposer: Bytes32, nowMs: UInt64, maxBytes: Int,
                       timeIsUp: () -> Bool = { false }) throws -> BuiltBlock {
        let parent = try parent()
        let params = genesis.params
        let built = try withAccounts { accounts in
            let (candidates, used) = mempool.withPool { pool in
                let selection = pool.selection(maxTxs: params.maxBlockTxs, maxBytes: maxBytes, accounts: accounts)
                pool.remove(selection.used)
                // Those after the prefix stay in the mempool for the next block.
                return (ProposalBudget.prefix(selection.txs, maxWorks: NodeLimits.proposalWorksMax), selection.used)
            }
            if !used.isEmpty {
                logger.info("removed transactions whose nonce is already used", metadata: ["count": "\(used.count)"])
            }
            return machine.buildBlock(candidates: candidates, parent: parent, state: accounts.state,
                                      timestampMs: nowMs, view: view, proposer: proposer, signatures: .alreadyVerified,
                                      timeIsUp: timeIsUp)
        }
        if !built.rejected.isEmpty {
            mempool.withPool { $0.remove(built.rejected.map(\.txHash)) }
            rejected.withLock { cache in for r in built.rejected { cache.insert(r.error, for: r.txHash) } }
            logger.debug("left transactions out of a proposal", metadata: ["count": "\(built.rejected.count)"])
        }
        return built
    }

    /// Checks a proposed child of the tip: header, every transaction applies (signatures of
    /// transactions this node has not seen are verified on all cores), state root, validator sets,
    /// and (for a fresh proposal) the clock-drift bound.
    func validateProposal(_ block: Block, nowMs: UInt64, reproposal: Bool) -> Bool {
        if !reproposal {
            do { try machine.checkClockDrift(timestampMs: block.header.timestampMs, nowMs: nowMs) } catch {
                logger.info("refused proposal", metadata: ["height": "\(block.height)", "view": "\(block.header.view)",
                                                         "proposer": "\(block.header.proposer.hex.prefix(16))", "reason": "\(error)"])
                return false
            }
        }
        if outcomes.withLock({ $0[block.hash] }) != nil { return true }
        do {
            let started = ContinuousClock.now
            let outcome = try apply(block)
            outcomes.withLock { $0.insert(outcome, for: block.hash) }
            // What applying another leader's block cost here is what building one that size would
            // cost: the budget learns it before this node leads (it used to learn only from its own
            // first, too long, build).
            let elapsedMs = UInt64(max(0, (ContinuousClock.now - started) / .milliseconds(1)))
            budget.withLock {
                $0.observeApplied(blockBytes: block.txs.reduce(0) { $0 + $1.bytes.count }, txCount: block.txs.count,
                                  elapsedMs: elapsedMs)
            }
            return true
        } catch {
            // Damaged stored state is the operator's problem, not the proposer's: said at error level.
            logger.log(level: (error as? StoreError)?.isDamage == true ? .error : .info, "refused proposal",
                       metadata: ["height": "\(block.height)", "view": "\(block.header.view)",
                                  "proposer": "\(block.header.proposer.hex.prefix(16))", "reason": "\(error)"])
            return false
        }
    }

    /// Applies `block` to the state at the tip, verifying the signatures of transactions the
    /// mempool has not already verified, unless a commit certificate vouches for the block (a
    /// quorum, so at least one honest validator, checked them before voting): then the state root
    /// is still checked, and nothing else is done twice.
    private func apply(_ block: Block, certified: Bool = false) throws -> BlockOutcome {
        let parent = try parent()
        if !certified, let bad = mempool.firstBadSignature(block.txs) {
            throw NodeError("transaction \(bad.hash) has an invalid signature")
        }
        // The committed state, a decided block whose LMDB write is under way included.
        let result = try store.withCommittedState { state, _ in
            machine.apply(block, parent: parent, state: state, signatures: .alreadyVerified)
        }
        switch result {
        case .success(let outcome): return outcome
        case .failure(let error): throw error
        }
    }

    // MARK: Commit

    struct Committed: Sendable {
        /// The set in force at `height + 2`.
        let validatorsAtHeightPlus2: ValidatorSet
        let stale: Int
        /// Whether the block had to be applied here (not checked or built before).
        let applied: Bool
    }

    /// Logs a decided block with its commit certificate (synced: from `onLogged` on, the node may
    /// report it committed and admission counts its state), lets its transactions (and those they
    /// made stale) leave the mempool, and starts storing it in one LMDB transaction; returns without
    /// waiting for that write, so consensus decides the next height meanwhile (its proposals are
    /// built and checked on the logged block's state: `parent()`, `withCommittedState`).
    /// `onStored` gets the write's duration (fsyncs included); `onStoreFailure` is called if it
    /// fails, after which every later commit, and `throwIfStoreWriteFailed`, throws its error.
    ///
    /// Why this is safe: the block is final once logged (the log is synced and read at start), the
    /// next block's log record and LMDB write queue behind this write on the writer thread, and
    /// anything that reads LMDB alone waits for it first (`waitForStoredBlocks`).
    func commit(_ block: Block, certificate: CommitCertificate,
                onLogged: @Sendable () -> Void = {},
                onStored: @escaping @Sendable (Duration) -> Void = { _ in },
                onStoreFailure: @escaping @Sendable () -> Void = {}) async throws -> Committed {
        try await waitForStoredBlocks()
        let cached = outcomes.withLock { $0[block.hash] }
        // The replica decides only on a commit certificate that verified against the set in force.
        let outcome: BlockOutcome
        if let cached { outcome = cached } else { outcome = try await offload { try self.apply(block, certified: true) } }
        let h = block.height
        let adopted = try adoptedSet(outcome.changes, height: h)
        try await countingWriteFailure { try await store.logDecided(block, certificate: certificate, changes: outcome.changes) }
        // Outcomes were of children of the old tip.
        outcomes.withLock { $0.removeAll() }
        onLogged()
        // Admission already sees the logged block: its txs (and those it made stale) leave now.
        let stale = try withAccounts { accounts in mempool.withPool { $0.blockCommitted(block.txs, accounts: accounts) } }
        dropLosingRegistrations(block.txs, height: block.height)
        let atPlus2 = try store.withCommittedState { state, _ in state.validatorSetRecord().inForce(at: h + 2).set }
        let changes = outcome.changes
        let write = Task {
            let started = ContinuousClock.now
            do {
                try await countingWriteFailure {
                    try await store.commit(block, certificate: certificate, changes: changes, adoptedValidatorSet: adopted)
                }
            } catch {
                storeWriteFailure.withLock { $0 = error }
                onStoreFailure()
                throw error
            }
            onStored(ContinuousClock.now - started)
        }
        storing.withLock { $0 = write }
        return Committed(validatorsAtHeightPlus2: atPlus2, stale: stale.count, applied: cached == nil)
    }

    /// Returns once the LMDB write of every decided block has finished; throws its error if one
    /// failed. Whatever reads LMDB without the logged block's overlay calls it first.
    func waitForStoredBlocks() async throws {
        let write = storing.withLock { $0 }
        try await write?.value
    }

    /// Throws the error of a failed LMDB write of a decided block, if there was one (the node
    /// must stop: the block is logged, and the next start stores it again).
    func throwIfStoreWriteFailed() throws {
        if let error = storeWriteFailure.withLock({ $0 }) { throw error }
    }

    /// What `commitRun` stored: the blocks (a prefix of those given), the set in force at the last
    /// one's height + 2, and why it stopped early, if it did.
    struct CommittedRun: Sendable {
        let blocks: [Block]
        let validatorsAtHeightPlus2: ValidatorSet?
        let stoppedAt: (height: UInt64, reason: String)?
    }

    /// Commits consecutive blocks decided elsewhere (catch-up) in one LMDB transaction. Each must
    /// extend the previous one and carry a commit certificate that `certificateVerifies` accepts
    /// against the set in force at its own height (read from the state the run has reached); it is
    /// then applied without checking its transactions' signatures again (the quorum did), and its
    /// state root must match. The run stops at the first block that fails; the ones before it are
    /// committed.
    func commitRun(_ run: [(block: Block, certificate: CommitCertificate)],
                   certificateVerifies: @escaping @Sendable (CommitCertificate, Block, ValidatorSet) -> Bool) async throws -> CommittedRun {
        // The run is checked against LMDB's state alone.
        try await waitForStoredBlocks()
        let (accepted, stopped) = try await offload { try self.applyRun(run, certificateVerifies: certificateVerifies) }
        guard let last = accepted.last?.block else {
            return CommittedRun(blocks: [], validatorsAtHeightPlus2: nil, stoppedAt: stopped)
        }
        try await countingWriteFailure { try await store.commitRun(accepted) }
        _ = try withAccounts { accounts in
            mempool.withPool { pool in accepted.map { pool.blockCommitted($0.block.txs, accounts: accounts).count } }
        }
        for a in accepted { dropLosingRegistrations(a.block.txs, height: a.block.height) }
        outcomes.withLock { $0.removeAll() }
        let atPlus2 = try store.withState { $0.validatorSetRecord().inForce(at: last.height + 2).set }
        return CommittedRun(blocks: accepted.map(\.block), validatorsAtHeightPlus2: atPlus2, stoppedAt: stopped)
    }

    private typealias AcceptedBlock = (block: Block, certificate: CommitCertificate, changes: StateChanges,
                                       adoptedValidatorSet: ValidatorSet?)

    /// The checking half of `commitRun`, on the chain thread: the prefix of `run` that extends the
    /// tip with certificates that verify and state roots that match, and why it stopped, if it did.
    private func applyRun(_ run: [(block: Block, certificate: CommitCertificate)],
                          certificateVerifies: (CommitCertificate, Block, ValidatorSet) -> Bool) throws
        -> (accepted: [AcceptedBlock], stopped: (height: UInt64, reason: String)?) {
        var parent = try parent()
        var accepted: [AcceptedBlock] = []
        var stopped: (height: UInt64, reason: String)?
        var runChanges = StateChanges()
        try store.withState { reader in
            for (block, certificate) in run {
                guard block.height == parent.height + 1, block.header.parentHash == parent.hash else {
                    stopped = (block.height, "does not extend height \(parent.height)")
                    return
                }
                // The overlay shares `runChanges`; it must be gone before they grow below, or each
                // merge copies every change of the run so far (seen in a profile: a third of the time).
                let result: Result<BlockOutcome, BlockError>
                do {
                    let state = OverlayState(base: reader, changes: runChanges)
                    guard certificateVerifies(certificate, block, state.validatorSetRecord().inForce(at: block.height).set) else {
                        stopped = (block.height, "its commit certificate does not verify against the set in force")
                        return
                    }
                    result = machine.apply(block, parent: parent, state: state, signatures: .alreadyVerified)
                }
                switch result {
                case .success(let outcome):
                    accepted.append((block, certificate, outcome.changes, try adoptedSet(outcome.changes, height: block.height)))
                    runChanges.merge(outcome.changes)
                    parent = ParentInfo(header: block.header)
                case .failure(let error):
                    stopped = (block.height, "\(error)")
                    return
                }
            }
        }
        return (accepted, stopped)
    }

    /// Runs a store write, counting its failure (`totem_store_write_failures_total`); the caller,
    /// consensus, logs the error and stops the node with it.
    @discardableResult
    private func countingWriteFailure<T>(_ write: () async throws -> T) async throws -> T {
        do {
            return try await write()
        } catch {
            metrics.storeWriteFailures.increment()
            throw error
        }
    }

    /// The validator set a block with `changes` at `height` adopted (in force from `height + 2`).
    private func adoptedSet(_ changes: StateChanges, height h: UInt64) throws -> ValidatorSet? {
        try decodedValidatorRecord(changes).flatMap { r in r.epochs.first { $0.fromHeight == h + 2 }?.set }
    }

    private func decodedValidatorRecord(_ changes: StateChanges) throws -> ValidatorSetRecord? {
        guard case .some(.some(let bytes)) = changes.writes[StateKey(.validators, StateKeys.validatorSet)] else {
            return nil
        }
        var r = TCEReader(bytes)
        return try ValidatorSetRecord.decode(from: &r)
    }

    // MARK: Queries

    enum TxStatus: Sendable {
        case pending(SignedTx)
        case committed(TxLocation)
        case rejected(TxError)
        case unknown
    }

    /// The status of `hash`, its committed location read through `snapshot`.
    func txStatus(_ hash: Bytes32, in snapshot: StoreSnapshot) throws -> TxStatus {
        if let location = try snapshot.location(ofTx: hash) { return .committed(location) }
        if let tx = mempool.withPool({ $0.tx(hash) }) { return .pending(tx) }
        if let error = rejected.withLock({ $0[hash] }) { return .rejected(error) }
        return .unknown
    }
}

struct NodeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
