import ChainModel
import Consensus
import Foundation
import Logging
import P2P
import Synchronization
import TotemCrypto

/// The consensus runtime: one task that owns the replica, takes one event at a time from its
/// inbox, calls `step`, and performs the actions in order. A signing state to persist is synced
/// to LMDB before any later action of the same step (so before any vote it covers leaves).
final class ConsensusDriver: Sendable {
    typealias ReplicaEvent = Consensus.Event<Block>

    let chain: ChainService
    let network: P2PNode
    let key: SigningKey
    let inbox = EventQueue<ReplicaEvent>(networkCapacity: NodeLimits.consensusEventQueueMax) { control in
        switch control {
        case .workPending: .workPending
        case .timeout(let t): .timeout(t)
        // An empty batch changes nothing in the replica; it only wakes the loop for `commitReadyRun`.
        case .catchUpReady: .blocksReceived([], from: ConsensusDriver.wakeUpKey)
        }
    }
    let commits: CommitFeed
    /// Where evidence transactions enter the node, like every other transaction.
    let admission: AdmissionService
    /// Called after each block is stored (index updates).
    let onCommit: @Sendable (Block) -> Void
    /// Whom P2P lets in and dials; both follow the validator set at commit.
    let peering: Peering
    /// Config `role = "validator"`: a start without any signing state waits for a fence
    /// (`SigningFence`), whether or not the key is in the set at the stored height (a wiped
    /// validator that joined later is not in the set of height 1).
    let isValidatorRole: Bool
    private let logger: Logger
    private let metrics: NodeMetrics
    private let status = Mutex(DriverStatus())
    private let lastVotes = Mutex<[Bytes32: UInt64]>([:])
    private let sync: Mutex<BlockSync<CatchUpBlock>>
    /// Failed sends and broadcasts are counted in /metrics each, and logged at most once per
    /// `NodeLimits.sendFailureReportIntervalMs` with the count since the last line.
    private let sendFailureReports = Mutex(ReportThrottle(intervalMs: NodeLimits.sendFailureReportIntervalMs))

    struct DriverStatus: Sendable {
        var height: UInt64 = 0
        var view: UInt32 = 0
        var viewChanges = 0
        var evidenceNonce: UInt64 = 0
        var catchingUp = false
        var blocksBehind: UInt64 = 0
        /// The highest height committed and known to catch-up, read with `catchingUp` (`height`
        /// above is the replica's, said only once it starts again after a catch-up run).
        var committedHeight: UInt64 = 0
        /// This node's clock minus the time of the last committed block another validator proposed
        /// (blocks from catch-up are old and do not count); nil until one is committed.
        var clockOffsetMs: Int64?
        var txsCommitted: UInt64 = 0
        var clockWarnedMs: UInt64 = 0
        /// Blocks in a row committed at a time far from this node's clock.
        var clockOffBlocks = 0
        var replicaStarts = 0
        /// The set at `height + 2` when the allow list was last set (nil: not yet set here).
        var allowListSet: ValidatorSet?
        var allowListChangedLastCommit = false
        /// Started with no signing state at all: signs nothing until `SigningFence` decides.
        var awaitingFence = false
        /// The replica's `abstainThroughHeight` (nil: it may vote at every height).
        var abstainThrough: UInt64?
    }

    init(chain: ChainService, network: P2PNode, key: SigningKey, peering: Peering, isValidatorRole: Bool,
         commits: CommitFeed, metrics: NodeMetrics, logger: Logger, admission: AdmissionService,
         onCommit: @escaping @Sendable (Block) -> Void) throws {
        self.admission = admission
        self.isValidatorRole = isValidatorRole
        self.onCommit = onCommit
        self.peering = peering
        let tip = try chain.tip().height
        self.sync = Mutex(BlockSync(applied: tip, nowMs: Self.nowMs()))
        self.chain = chain
        self.network = network
        self.key = key
        self.commits = commits
        self.metrics = metrics
        self.logger = logger
    }

    var current: DriverStatus {
        var s = status.withLock { $0 }
        (s.catchingUp, s.blocksBehind, s.committedHeight) = sync.withLock { ($0.isCatchingUp, $0.blocksBehind, $0.applied) }
        return s
    }

    /// Why this validator does not vote at its current height, if it does not.
    var abstention: Readiness.Abstention? {
        let s = status.withLock { $0 }
        if s.awaitingFence { return .awaitingNetworkHeight }
        guard let through = s.abstainThrough, s.height <= through else { return nil }
        return .through(through)
    }

    /// Feeds a consensus message from `peer` (decode errors are the peer's protocol violation).
    func received(_ payload: [UInt8], from peer: Bytes32) {
        do {
            let m = try ConsensusCodec.decodeMessage(payload, maxBlockTxs: chain.genesis.params.maxBlockTxs)
            if case .vote(let v) = m, v.validator == peer { noteVote(from: peer, height: v.height) }
            inbox.pushNetwork(.message(m, from: peer, nowMs: Self.nowMs()))
        } catch {
            logger.info("dropped undecodable consensus message", metadata: ["peer": "\(peer.hex.prefix(16))", "error": "\(error)"])
        }
    }

    func workPending() { inbox.pushControl(.workPending) }

    /// A vote `peer` sent in its own name: the link is authenticated (P2P handshake), so it shows
    /// the validator voting at `height` even before the replica checks the signature, and even when
    /// it arrives too late to be in this node's certificate (one of only `q` commits). Liveness for
    /// `totemd validator vote` (`GET /v1/validators`' `lastVoteHeight`); at most
    /// `NodeLimits.voteHeightKeysMax` keys.
    private func noteVote(from peer: Bytes32, height: UInt64) {
        lastVotes.withLock { m in
            guard m[peer] != nil || m.count < NodeLimits.voteHeightKeysMax else { return }
            if (m[peer] ?? 0) < height { m[peer] = height }
        }
    }

    /// The highest height of a vote each peer sent in its own name since this node started.
    var lastVoteHeights: [Bytes32: UInt64] { lastVotes.withLock { $0 } }

    /// The sender named in the empty `.blocksReceived` that wakes the loop for a ready run.
    static let wakeUpKey = Bytes32(w0: 0, w1: 0, w2: 0, w3: 0)

    static func nowMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    // MARK: Loop

    func run() async throws {
        var replica = try makeReplica()
        status.withLock { $0.height = replica.height; $0.view = replica.view }
        try await withThrowingDiscardingTaskGroup { group in
            var queue: [ReplicaEvent] = [.start]
            if chain.hasProposableWork() { queue.append(.workPending) }
            while true {
                // A single validator decides alone, block after block, without waiting for the
                // inbox: a closed inbox (shutdown) ends the loop here too.
                while !queue.isEmpty, !inbox.isClosed {
                    let event = queue.removeFirst()
                    let actions = replica.step(event)
                    for action in actions {
                        if let followUp = try await perform(action, leaders: replica.leaders, validators: replica.validators,
                                                            group: &group) { queue.append(followUp) }
                    }
                }
                // Between steps: a failed LMDB write of a decided block stops the node; a run of
                // blocks from catch-up is committed in one write, and the replica starts again after
                // it (from the stored chain: every decided block's write done).
                try chain.throwIfStoreWriteFailed()
                let fenceSettled = try await settleFence(validators: replica.validators)
                if try await commitReadyRun(replicaHeight: replica.height) || fenceSettled {
                    try await chain.waitForStoredBlocks()
                    replica = try makeReplica()
                    // Said now: a long catch-up goes round this branch many times in a row.
                    status.withLock { $0.height = replica.height; $0.view = replica.view }
                    queue.append(.start)
                    if chain.hasProposableWork() { queue.append(.workPending) }
                    continue
                }
                status.withLock { $0.height = replica.height; $0.view = replica.view }
                metrics.view.record(Int(replica.view))
                guard let next = await inbox.next() else { break }
                queue.append(next)
            }
            // Stopping: the last decided block's LMDB write ends first (the store shuts down next).
            try await chain.waitForStoredBlocks()
            group.cancelAll()
        }
    }

    private func makeReplica() throws -> Replica<Block> {
        let params = chain.genesis.params
        let config = ReplicaConfig(proposalTimeoutMs: params.proposalTimeoutMs,
                                   maxProposalTimeoutMs: params.maxProposalTimeoutMs,
                                   emptyBlockIntervalMs: params.emptyBlockIntervalMs)
        let tip = try chain.tip()
        let height = tip.height + 1
        let parentCertificate = try chain.store.certificate(at: tip.height).map {
            QuorumCertificate($0, blockHash: tip.lastBlockHash)
        }
        let (validators, next, setFromHeight) = try chain.store.withState { r in
            let rec = r.validatorSetRecord()
            let inForce = rec.inForce(at: height)
            return (inForce.set, rec.inForce(at: height + 1).set, inForce.fromHeight)
        }
        // The proposers of the recent heights: who leads each view (the same on every node).
        let recent = LeaderRotation.neededHeights(before: height, validatorCount: validators.count, setFromHeight: setFromHeight)
        let proposers = try chain.store.read { s in
            try recent.map { h -> Bytes32 in
                guard let header = try s.header(at: h) else { throw NodeError("block \(h) is missing below the tip \(tip.height)") }
                return header.proposer
            }
        }
        let rotation = LeaderRotation(setFromHeight: setFromHeight, firstHeight: recent.lowerBound, proposers: proposers)
        let (restoring, abstaining) = try signingStart(height: height, storedHeight: tip.height)
        logger.info("consensus starting", metadata: ["height": "\(height)", "restored": "\(restoring?.height == height)",
                                                     "validator": "\(validators.contains(key.publicKey))",
                                                     "abstaining": "\(abstaining != nil)"])
        metrics.validatorCommits.inForce(validators)
        let position = ChainPosition(height: height, parentHash: tip.lastBlockHash, parentCertificate: parentCertificate,
                                     validators: validators, nextValidators: next, rotation: rotation)
        return Replica(config: config, signer: Ed25519VoteSigner(key: key, genesisHash: chain.genesis.genesisHash),
                       verifier: Ed25519SignatureVerifier(genesisHash: chain.genesis.genesisHash),
                       position: position, restoring: restoring, abstainingThrough: abstaining)
    }

    /// Where the replica of `height` starts signing from: the signing state of that height to
    /// resume from, and the height up to which it signs nothing (`Replica.abstainThroughHeight`).
    private func signingStart(height: UInt64, storedHeight: UInt64) throws -> (restoring: SigningState<Block>?, abstaining: UInt64?) {
        var restoring: SigningState<Block>?
        var aheadThrough: UInt64?
        let record = try chain.store.signingState()
        if let bytes = record {
            let s = try ConsensusCodec.decodeSigningState(bytes, maxBlockTxs: chain.genesis.params.maxBlockTxs)
            // The store syncs every block before a signing state of a later height (ChainStore), so
            // one ahead of the chain means the store is older than the votes: a restored backup
            // (`totemd backup restore` keeps the newer signing state, or writes a fence above every
            // height this validator may have voted at), a fence it set itself (`settleFence`), or
            // lost blocks. This validator may have voted at any height below the record's and at
            // the record's: it follows, signing nothing, through that height, and votes afresh above
            // it (docs/ops/backup.md). A record with nothing signed at its height (view 0, no vote,
            // no lock: a fence) allows a vote there, as a start at exactly that height does.
            if s.height > height {
                let nothingSigned = s.view == 0 && s.prepare == nil && s.commit == nil && s.lock == nil
                let through = nothingSigned ? s.height - 1 : s.height
                aheadThrough = through
                logger.warning("the signing state is above the stored chain (a restored backup, a fence, or lost blocks): this validator follows without voting through height \(through)",
                               metadata: ["signingHeight": "\(s.height)", "storedHeight": "\(storedHeight)"])
            }
            // The replica resumes from it at its own height, and at the next one reads a commit vote
            // there as a possible view-0 prepare (`SigningState.resumed(at:)`).
            if s.height <= height { restoring = s }
        }
        // A damaged signing-state slot may have held the newest record, with a vote sent at `height`.
        // Only the height this node started at: a replica started again after a catch-up run is
        // above it, where no record can have been lost.
        let firstStart = status.withLock { s in
            defer { s.replicaStarts += 1 }
            return s.replicaStarts == 0
        }
        let damaged = (firstStart ? chain.store.signingStateDamage : nil).map { damage -> UInt64 in
            logger.error("the newest signing state may be lost: this validator will not vote at height \(height) until the others decide it",
                         metadata: ["damage": "\(damage)"])
            return height
        }
        // No record at all, and no damaged slot: a new validator, or one whose data was lost with
        // the votes it sent. It signs nothing until it knows where the network is (`settleFence`).
        if firstStart, record == nil, chain.store.signingStateDamage == nil, isValidatorRole {
            status.withLock { $0.awaitingFence = true }
            logger.warning("no signing state: this validator will not vote until it knows the network's height",
                           metadata: ["storedHeight": "\(storedHeight)"])
        }
        let awaiting: UInt64? = status.withLock { $0.awaitingFence } ? .max : nil
        let abstaining = [damaged, aheadThrough, awaiting].compactMap { $0 }.max()
        status.withLock { $0.abstainThrough = abstaining }
        return (restoring, abstaining)
    }

    /// For a validator started without any signing state: once `SigningFence` knows where the
    /// network is, writes the fence (synced, so a restart keeps it) or lets it vote without one.
    /// Returns whether it decided (the replica must then start again, without `awaitingFence`).
    private func settleFence(validators: ValidatorSet) async throws -> Bool {
        guard status.withLock({ $0.awaitingFence }) else { return false }
        let me = key.publicKey
        let inputs = sync.withLock { s in
            SigningFence.Inputs(validatorCount: validators.count, isMember: validators.contains(me),
                                validatorsHeard: s.peerHeights.keys.filter { $0 != me && validators.contains($0) }.count,
                                catchingUp: s.isCatchingUp, storedHeight: s.applied, highestReported: s.targetHeight)
        }
        switch SigningFence.decide(inputs) {
        case .wait:
            return false
        case .noFence(.nothingDecided):
            logger.info("no signing state, and every height heard is 0 (a new network): voting without a fence",
                        metadata: ["validatorsHeard": "\(inputs.validatorsHeard)"])
        case .noFence(.othersCannotDecide):
            logger.warning("""
                no signing state, and the other validators cannot decide without this one (f = 0): voting without a \
                fence, which would stop the chain; a vote sent before the signing state was lost may be contradicted
                """, metadata: ["validators": "\(validators.count)", "storedHeight": "\(inputs.storedHeight)"])
        case .fence(let through):
            // The record of the first height it may vote at, with nothing signed there.
            let first = through == .max ? through : through + 1
            try await chain.store.persistSigningState(ConsensusCodec.encode(SigningState<Block>(height: first)))
            logger.warning("fenced at height \(through): this validator follows without voting through it, then votes again",
                           metadata: ["fenceHeight": "\(through)", "highestHeard": "\(inputs.highestReported)",
                                      "storedHeight": "\(inputs.storedHeight)", "validatorsHeard": "\(inputs.validatorsHeard)"])
        }
        status.withLock { $0.awaitingFence = false }
        return true
    }

    /// Performs one action; returns the event that answers it when the answer is immediate.
    /// `leaders` are the replica's leaders of each view at its height (`LeaderRotation`), and
    /// `validators` the set in force there.
    private func perform(_ action: Action<Block>, leaders: [Bytes32], validators: ValidatorSet,
                         group: inout ThrowingDiscardingTaskGroup<any Error>) async throws -> ReplicaEvent? {
        switch action {
        case .persistSigningState(let s):
            let started = ContinuousClock.now
            try await chain.store.persistSigningState(ConsensusCodec.encode(s))
            metrics.signingPersist.recordInterval(since: started)
            if s.view > 0, status.withLock({ $0.view }) < s.view {
                status.withLock { $0.viewChanges += 1 }
                metrics.viewChanges.increment()
                logger.info("view change", metadata: ["height": "\(s.height)", "view": "\(s.view)"])
            }
            return nil
        case .broadcast(let m):
            do { try network.broadcast(consensus: ConsensusCodec.encode(m)) } catch {
                sendFailed("consensus broadcast", peer: nil, error: error)
            }
            return nil
        case .send(let m, let peer):
            send(.consensus(ConsensusCodec.encode(m)), to: peer, what: "consensus message")
            return nil
        case .scheduleTimeout(let t, let afterMs):
            let inbox = self.inbox
            group.addTask {
                // Cancelled only when the loop ends (shutdown): then the firing no longer matters.
                do { try await Task.sleep(for: .milliseconds(afterMs)) } catch { return }
                inbox.pushControl(.timeout(t))
            }
            return nil
        case .requestProposal(_, let view, _):
            let chain = self.chain, proposer = key.publicKey
            let block = try await chain.offload { try chain.buildProposal(view: view, proposer: proposer, clock: Self.nowMs) }
            return .proposalBuilt(block, view: view)
        case .checkProposal(let block, let view, let reproposal, let nowMs):
            // The chain state machine's check (it logs why it refuses); answered at once, before any
            // other event, so the replica goes on exactly where it paused. The header must name the
            // leader of the view it was first proposed in (PROTOCOL.md): the rotation reads it.
            let named = leaders[Int(block.header.view % UInt32(leaders.count))]
            guard block.header.proposer == named else {
                logger.info("refused proposal", metadata: ["height": "\(block.height)", "view": "\(block.header.view)",
                                                         "proposer": "\(block.header.proposer.hex.prefix(16))",
                                                         "reason": "the header names a proposer other than its view's leader \(named.hex.prefix(16))"])
                return .proposalChecked(height: block.height, view: view, blockHash: block.hash, valid: false)
            }
            let chain = self.chain
            let valid = try await chain.offload { chain.validateProposal(block, nowMs: nowMs, reproposal: reproposal) }
            return .proposalChecked(height: block.height, view: view, blockHash: block.hash, valid: valid)
        case .commit(let block, let qc):
            return try await commit(block, qc, validators: validators)
        case .requestBlocks(let from, let seen, let peer):
            // The replica saw a certificate for height `seen` above its own: the peer has the
            // blocks up to it. Taken as the peer's height, it makes this node count as catching up
            // (`from` alone would say "one block behind", which is not catching up, and /readyz
            // said ready 32 blocks behind after a restore).
            let now = Self.nowMs()
            let requests = sync.withLock { s in
                s.peerStatus(peer, height: max(from, seen, s.peerHeights[peer] ?? 0), nowMs: now)
            }
            send(requests)
            return nil
        case .reportEvidence(let evidence):
            submitEvidence(evidence)
            return nil
        }
    }

    private func commit(_ block: Block, _ qc: QuorumCertificate, validators: ValidatorSet) async throws -> ReplicaEvent {
        let started = ContinuousClock.now
        let commits = self.commits
        // Logged and synced: the block is final and readable, so clients waiting for it are answered
        // now, not after its LMDB write.
        // Its LMDB write runs on while the next height is decided; a failed one wakes the loop,
        // which stops on it (`throwIfStoreWriteFailed`).
        let metrics = self.metrics, inbox = self.inbox
        let committed = try await chain.commit(
            block, certificate: qc.commitCertificate, onLogged: { commits.publish(block) },
            onStored: { metrics.lmdbBlockWrite.recordNanoseconds(Int64($0.components.seconds) * 1_000_000_000
                                                                 + $0.components.attoseconds / 1_000_000_000) },
            onStoreFailure: { inbox.pushControl(.catchUpReady) })
        metrics.commitLatency.recordInterval(since: started)
        if committed.applied { metrics.blocksAppliedAtCommit.increment() }
        metrics.validatorCommits.decided(height: block.height, signers: qc.signatures.map(\.validator), set: validators)
        afterCommit(block, validatorsAtHeightPlus2: committed.validatorsAtHeightPlus2, fromCatchUp: false)
        logger.debug("committed", metadata: ["height": "\(block.height)", "view": "\(qc.view)", "txs": "\(block.txs.count)"])
        return .blockApplied(AppliedBlock(height: block.height, blockHash: block.hash, proposer: block.header.proposer,
                                          validatorsAtHeightPlus2: committed.validatorsAtHeightPlus2,
                                          workPending: chain.hasProposableWork()))
    }

    /// What follows every stored block: metrics, the P2P status height, the allow list, indexes,
    /// the clock check (not on blocks from catch-up: they are old) and the catch-up plan.
    private func afterCommit(_ block: Block, validatorsAtHeightPlus2: ValidatorSet, fromCatchUp: Bool) {
        metrics.height.record(Int(block.height))
        metrics.committedTxs.increment(by: block.txs.count)
        network.setLocalHeight(block.height)
        // The allow list is the set in force at the next height and any adopted after it: it can
        // change only when the set two heights ahead changed at this commit or the one before.
        // The dial targets are the same validators, so they change with it.
        let setChanged = status.withLock { s in
            let changed = s.allowListSet != validatorsAtHeightPlus2
            defer { s.allowListSet = validatorsAtHeightPlus2; s.allowListChangedLastCommit = changed }
            return changed || s.allowListChangedLastCommit
        }
        if setChanged { peering.apply(to: network) }
        onCommit(block)
        status.withLock { $0.txsCommitted += UInt64(block.txs.count) }
        let now = Self.nowMs()
        if !fromCatchUp { checkClock(against: block, nowMs: now) }
        let requests = sync.withLock { $0.applied(block.height, nowMs: now) }
        send(requests)
    }

    /// Commits the run of received blocks that follows the tip, if there is one, in one LMDB
    /// write; returns whether anything was committed (the replica must then start again at the new
    /// height). Runs between steps, when the replica has no decided block waiting.
    func commitReadyRun(replicaHeight: UInt64) async throws -> Bool {
        let run = sync.withLock { s in s.applied + 1 == replicaHeight ? s.takeReady(
            maxCount: NodeLimits.catchUpRunMaxBlocks, maxWeight: NodeLimits.catchUpRunMaxWorks,
            weight: { $0.block.txs.reduce(0) { $0 + ProposalBudget.workCount($1) } }) : [] }
        guard !run.isEmpty else { return false }
        let started = ContinuousClock.now
        let verifier = Ed25519SignatureVerifier(genesisHash: chain.genesis.genesisHash)
        let result = try await chain.commitRun(run.map { ($0.item.block, $0.item.certificate) }) { cert, block, set in
            cert.height == block.height && QuorumCertificate(cert, blockHash: block.hash).verify(against: set, verifier)
        }
        if let (height, reason) = result.stoppedAt, let source = run.first(where: { $0.item.block.height == height }) {
            logger.warning("refused a block from catch-up; asking other peers", metadata: [
                "height": "\(height)", "peer": "\(source.peer.hex.prefix(16))", "reason": "\(reason)"])
            let now = Self.nowMs()
            send(sync.withLock { $0.refused(height: height, from: source.peer, nowMs: now) })
        }
        guard let atPlus2 = result.validatorsAtHeightPlus2 else { return false }
        metrics.commitLatency.recordInterval(since: started)
        // The stored blocks are a prefix of the run, in its order.
        for (block, item) in zip(result.blocks, run) {
            metrics.validatorCommits.caughtUp(height: block.height, signers: item.item.certificate.signatures.map(\.validator))
            commits.publish(block)
            afterCommit(block, validatorsAtHeightPlus2: atPlus2, fromCatchUp: true)
        }
        return true
    }

    /// Another validator's block, committed at the tip, was proposed moments ago: its time far from
    /// this node's clock means this clock is off, and then this node's own proposals are refused
    /// (`block_clock_drift`) by the others, who cannot tell it so. Warns once several blocks in a row
    /// say so (one block is not enough: a node that was stopped, e.g. SIGSTOP, commits the block it
    /// was in the middle of long after it was proposed), at most once a minute.
    private func checkClock(against block: Block, nowMs: UInt64) {
        let ts = block.header.timestampMs
        let offsetMs = Int64(clamping: nowMs) - Int64(clamping: ts)
        let limit = chain.genesis.params.maxClockDriftMs
        guard block.header.proposer != key.publicKey, !sync.withLock({ $0.isCatchingUp }) else { return }
        let off = offsetMs.magnitude > limit / 2
        let warn = status.withLock { s in
            s.clockOffsetMs = offsetMs
            s.clockOffBlocks = off ? s.clockOffBlocks + 1 : 0
            guard s.clockOffBlocks >= NodeLimits.clockOffBlocksBeforeWarning,
                  nowMs >= s.clockWarnedMs + NodeLimits.clockWarningIntervalMs else { return false }
            s.clockWarnedMs = nowMs
            return true
        }
        guard warn else { return }
        logger.warning("""
            this node's clock seems off: a block just committed was proposed at a time far from it; \
            other validators refuse proposals whose time is off by more than the limit (check NTP)
            """,
                       metadata: ["height": "\(block.height)", "offsetMs": "\(offsetMs)", "limitMs": "\(limit)",
                                  "proposer": "\(block.header.proposer.hex.prefix(16))"])
    }

    /// Equivocation evidence becomes a SubmitEvidence transaction signed by this node's key.
    private func submitEvidence(_ evidence: Evidence) {
        do {
            let committedNext = try chain.withAccounts { $0.nextNonce(of: key.publicKey) }
            let nonce = status.withLock { s -> UInt64 in
                s.evidenceNonce = max(s.evidenceNonce + 1, committedNext)
                return s.evidenceNonce
            }
            let tx = Tx(chainId: chain.genesis.chainId, sender: key.publicKey, nonce: nonce,
                        payload: .submitEvidence(evidence.submitEvidence))
                .signed(by: key, genesisHash: chain.genesis.genesisHash)
            let result = try admission.submit([tx], from: .evidence)
            logger.warning("equivocation evidence submitted", metadata: ["validator": "\(evidence.validator.hex.prefix(16))",
                                                                          "height": "\(evidence.height)", "result": "\(result)"])
        } catch {
            logger.error("could not submit evidence", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Catch-up

    /// The store's tip moved without blocks (a state sync made the checkpoint's block the tip):
    /// catch-up starts afresh from it (the replica is made from the store when `run` starts).
    func restartCatchUp(at height: UInt64) {
        sync.withLock { $0 = BlockSync(applied: height, nowMs: Self.nowMs()) }
    }

    /// Serves a peer's block request from the store: blocks with their commit certificates.
    func serveBlocks(to peer: Bytes32, fromHeight: UInt64, count: UInt32) {
        do {
            let tip = try chain.tip().height
            guard fromHeight >= 1, fromHeight <= tip else {
                send(.blockResponse(fromHeight: fromHeight, blocks: []), to: peer, what: "block response")
                return
            }
            let last = min(tip, fromHeight + UInt64(min(count, UInt32(NodeLimits.catchUpBlocksPerResponse))) - 1)
            var items: [[UInt8]] = []
            var bytes = 0
            for h in fromHeight...last {
                guard let block = try chain.store.block(at: h), let cert = try chain.store.certificate(at: h) else { break }
                let item = CertifiedBlockCodec.encode(block, cert)
                bytes += item.count
                if !items.isEmpty, bytes > NodeLimits.catchUpResponseMaxBytes { break }
                items.append(item)
            }
            send(.blockResponse(fromHeight: fromHeight, blocks: items), to: peer, what: "block response")
        } catch {
            logger.error("could not serve blocks", metadata: ["error": "\(error)"])
        }
    }

    /// A peer's answer to a block request: decoded here (a malformed item drops the answer) and
    /// ordered by `BlockSync`; the consensus loop commits the run that follows its tip
    /// (`commitReadyRun`), checking each certificate.
    func receivedBlocks(_ items: [[UInt8]], fromHeight: UInt64, from peer: Bytes32) {
        var blocks: [(height: UInt64, item: CatchUpBlock, bytes: Int)] = []
        for item in items {
            do {
                let (block, cert) = try CertifiedBlockCodec.decode(item, maxBlockTxs: chain.genesis.params.maxBlockTxs)
                blocks.append((block.height, CatchUpBlock(block: block, certificate: cert), item.count))
            } catch {
                logger.info("dropped malformed catch-up block", metadata: ["peer": "\(peer.hex.prefix(16))", "error": "\(error)"])
                return
            }
        }
        let now = Self.nowMs()
        let (requests, ready) = sync.withLock { s in (s.received(blocks, from: peer, fromHeight: fromHeight, nowMs: now), s.hasReady) }
        send(requests)
        // Wakes the consensus loop if it waits for an event.
        if ready { inbox.pushControl(.catchUpReady) }
    }

    /// A peer's status: its height feeds the catch-up plan.
    func peerHeight(_ height: UInt64, peer: Bytes32) {
        let now = Self.nowMs()
        send(sync.withLock { $0.peerStatus(peer, height: height, nowMs: now) })
        wakeIfAwaitingFence()
    }

    /// A validator waiting for its fence decides in the consensus loop: wake it when what it
    /// decides from may have changed (a peer's height, the catch-up state).
    private func wakeIfAwaitingFence() {
        if status.withLock({ $0.awaitingFence }) { inbox.pushControl(.catchUpReady) }
    }

    func peerDown(_ peer: Bytes32) {
        let now = Self.nowMs()
        send(sync.withLock { $0.peerDown(peer, nowMs: now) })
    }

    /// Sends the requests `BlockSync` planned.
    private func send(_ requests: [BlockSync<CatchUpBlock>.Request]) {
        for r in requests {
            if send(.blockRequest(fromHeight: r.fromHeight, count: UInt32(r.count)), to: r.peer, what: "block request") {
                metrics.catchUpRequests.increment()
            }
        }
    }

    /// Sends `message` to `peer`; a failure (peer not connected, its queue full, the message too
    /// large) is counted and logged, and false returned.
    @discardableResult
    private func send(_ message: PeerMessage, to peer: Bytes32, what: String) -> Bool {
        do {
            if try network.send(message, to: peer) { return true }
            sendFailed(what, peer: peer, error: nil)
        } catch {
            sendFailed(what, peer: peer, error: error)
        }
        return false
    }

    /// Counts a failed send in `totem_p2p_send_failures_total` and logs it, throttled: a peer that
    /// went away fails every send until it is back.
    private func sendFailed(_ what: String, peer: Bytes32?, error: (any Error)?) {
        metrics.sendFailures.increment()
        let now = Int64(clamping: Self.nowMs())
        guard let count = sendFailureReports.withLock({ $0.note(nowMs: now) }) else { return }
        logger.info("could not send \(what)", metadata: [
            "peer": "\(peer.map { String($0.hex.prefix(16)) } ?? "all")",
            "reason": "\(error.map { "\($0)" } ?? "peer not connected or its queue full")",
            "failuresSinceLastReport": "\(count)"])
    }

    /// Expires lost requests and reports progress while behind, until the inbox closes.
    func runCatchUpTicker() async {
        var progress = CatchUpProgress()
        while !inbox.isClosed {
            do { try await Task.sleep(for: .milliseconds(NodeLimits.catchUpTickMs)) } catch { return }
            let now = Self.nowMs()
            let (requests, ready, applied, target, behind, catchingUp) = sync.withLock { s in
                (s.tick(nowMs: now), s.hasReady, s.applied, s.targetHeight, s.blocksBehind, s.isCatchingUp)
            }
            send(requests)
            if ready { inbox.pushControl(.catchUpReady) } else { wakeIfAwaitingFence() }
            metrics.catchUpTargetHeight.record(Int(clamping: target))
            metrics.catchUpBlocksBehind.record(Int(clamping: behind))
            metrics.catchingUp.record(catchingUp ? 1 : 0)
            if let line = progress.update(applied: applied, target: target, txsApplied: committedTxCount(), nowMs: now) {
                logger.info("\(line.message)", metadata: line.metadata.mapValues { .string($0) })
            }
        }
    }

    private func committedTxCount() -> UInt64 { status.withLock { $0.txsCommitted } }
}

/// A block received in a catch-up answer, with its commit certificate.
struct CatchUpBlock: Sendable {
    let block: Block
    let certificate: CommitCertificate
}

/// A block with its commit certificate, for catch-up answers: `bytes(Block) | CommitCertificate`.
enum CertifiedBlockCodec {
    static func encode(_ block: Block, _ cert: CommitCertificate) -> [UInt8] {
        var w = TCEWriter()
        w.varBytes(block.encoded)
        cert.encode(to: &w)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], maxBlockTxs: Int) throws -> (Block, CommitCertificate) {
        var r = TCEReader(bytes)
        let block = try Block.decode(try r.varBytes(maxBytes: NodeLimits.catchUpResponseMaxBytes, "block"), maxTxs: maxBlockTxs)
        let cert = try CommitCertificate.decode(from: &r)
        try r.finish()
        return (block, cert)
    }
}
