import Chain
import Consensus
import Foundation
import Logging
import P2P
import Synchronization
import TotemCrypto

/// Checks proposals with the chain state machine (the replica's injected validator).
struct ChainProposalValidator: ProposalValidator {
    let chain: ChainService
    func isValid(_ block: Block, nowMs: UInt64, reproposal: Bool) -> Bool {
        chain.validateProposal(block, nowMs: nowMs, reproposal: reproposal)
    }
}

/// The consensus runtime: one task that owns the replica, takes one event at a time from its
/// inbox, calls `step`, and performs the actions in order. A signing state to persist is synced
/// to LMDB before any later action of the same step (so before any vote it covers leaves).
final class ConsensusDriver: Sendable {
    typealias ReplicaEvent = Consensus.Event<Block>

    let chain: ChainService
    let network: P2PNode
    let key: SigningKey
    let inbox = EventQueue<ReplicaEvent>(networkCapacity: NodeLimits.consensusEventQueue)
    let commits: CommitFeed
    /// Called after each block is stored (index updates).
    let onCommit: @Sendable (Block) -> Void
    /// Observer keys allowed by this node's config.
    let observers: Set<Bytes32>
    private let logger: Logger
    private let metrics: NodeMetrics
    private let status = Mutex(DriverStatus())

    struct DriverStatus: Sendable {
        var height: UInt64 = 0
        var view: UInt32 = 0
        var viewChanges = 0
        var evidenceNonce: UInt64 = 0
        var catchingUp = false
        var lastCatchUpRequestMs: UInt64 = 0
        /// The set at `height + 2` when the allow list was last set (nil: not yet set here).
        var allowListSet: ValidatorSet?
        var allowListChangedLastCommit = false
    }

    init(chain: ChainService, network: P2PNode, key: SigningKey, observers: Set<Bytes32>, commits: CommitFeed,
         metrics: NodeMetrics, logger: Logger, onCommit: @escaping @Sendable (Block) -> Void) {
        self.onCommit = onCommit
        self.observers = observers
        self.chain = chain
        self.network = network
        self.key = key
        self.commits = commits
        self.metrics = metrics
        self.logger = logger
    }

    var current: DriverStatus { status.withLock { $0 } }

    /// Feeds a consensus message from `peer` (decode errors are the peer's protocol violation).
    func received(_ payload: [UInt8], from peer: Bytes32) {
        do {
            let m = try ConsensusCodec.decodeMessage(payload, maxBlockTxs: chain.genesis.params.maxBlockTxs)
            inbox.pushNetwork(.message(m, from: peer, nowMs: Self.nowMs()))
        } catch {
            logger.info("dropped undecodable consensus message", metadata: ["peer": "\(peer.hex.prefix(16))", "error": "\(error)"])
        }
    }

    func workPending() { inbox.pushControl(.workPending) }

    static func nowMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    // MARK: Loop

    func run() async throws {
        var replica = try makeReplica()
        try await withThrowingDiscardingTaskGroup { group in
            var queue: [ReplicaEvent] = [.start]
            if chain.mempool.count > 0 { queue.append(.workPending) }
            while true {
                while !queue.isEmpty {
                    let event = queue.removeFirst()
                    let actions = replica.step(event)
                    for action in actions {
                        if let followUp = try await perform(action, group: &group) { queue.append(followUp) }
                    }
                }
                status.withLock { $0.height = replica.height; $0.view = replica.view }
                metrics.view.record(Int(replica.view))
                guard let next = await inbox.next() else { break }
                queue.append(next)
            }
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
        let (validators, next) = try chain.store.withState { r in
            let rec = r.validatorSetRecord()
            return (rec.inForce(at: height).set, rec.inForce(at: height + 1).set)
        }
        var restoring: SigningState<Block>?
        if let bytes = try chain.store.signingState() {
            let s = try ConsensusCodec.decodeSigningState(bytes, maxBlockTxs: params.maxBlockTxs)
            // The store syncs every block before a signing state of a later height (ChainStore),
            // so one ahead of the chain means lost blocks: voting from here could equivocate.
            guard s.height <= height else {
                throw NodeError("the signing state is at height \(s.height) but the store ends at \(tip.height): "
                                     + "blocks this validator saw decided are missing; restore the data directory")
            }
            if s.height == height { restoring = s }
        }
        // A damaged signing-state slot may have held the newest record, with a vote sent at `height`.
        let abstaining = chain.store.signingStateDamage.map { damage -> UInt64 in
            logger.error("the newest signing state may be lost: this validator will not vote at height \(height) until the others decide it",
                         metadata: ["damage": "\(damage)"])
            return height
        }
        logger.info("consensus starting", metadata: ["height": "\(height)", "restored": "\(restoring != nil)",
                                                     "validator": "\(validators.contains(key.publicKey))",
                                                     "abstaining": "\(abstaining != nil)"])
        let position = ChainPosition(height: height, parentHash: tip.lastBlockHash, parentCertificate: parentCertificate,
                                     validators: validators, nextValidators: next)
        return Replica(config: config, signer: Ed25519VoteSigner(key: key, genesisHash: chain.genesis.genesisHash),
                       verifier: Ed25519SignatureVerifier(genesisHash: chain.genesis.genesisHash),
                       validator: ChainProposalValidator(chain: chain), position: position, restoring: restoring,
                       abstainingAt: abstaining)
    }

    /// Performs one action; returns the event that answers it when the answer is immediate.
    private func perform(_ action: Action<Block>,
                         group: inout ThrowingDiscardingTaskGroup<any Error>) async throws -> ReplicaEvent? {
        switch action {
        case .persistSigningState(let s):
            let started = ContinuousClock.now
            try await chain.store.persistSigningState(ConsensusCodec.encode(s))
            metrics.signingPersist.recordInterval(since: started)
            if s.view > 0, status.withLock({ $0.view }) < s.view { status.withLock { $0.viewChanges += 1 }; metrics.viewChanges.increment() }
            return nil
        case .broadcast(let m):
            try? network.broadcast(consensus: ConsensusCodec.encode(m))
            return nil
        case .send(let m, let peer):
            _ = try? network.send(.consensus(ConsensusCodec.encode(m)), to: peer)
            return nil
        case .scheduleTimeout(let t, let afterMs):
            let inbox = self.inbox
            group.addTask {
                try? await Task.sleep(for: .milliseconds(afterMs))
                inbox.pushControl(.timeout(t))
            }
            return nil
        case .requestProposal(_, let view, _):
            let block = try chain.buildProposal(view: view, proposer: key.publicKey, nowMs: Self.nowMs())
            return .proposalBuilt(block, view: view)
        case .commit(let block, let qc):
            return try await commit(block, qc)
        case .requestBlocks(let from, let peer):
            status.withLock { $0.catchingUp = true }
            _ = try? network.send(.blockRequest(fromHeight: from, count: UInt32(NodeLimits.catchUpBlocksPerResponse)), to: peer)
            return nil
        case .reportEvidence(let evidence):
            submitEvidence(evidence)
            return nil
        }
    }

    private func commit(_ block: Block, _ qc: QuorumCertificate) async throws -> ReplicaEvent {
        let started = ContinuousClock.now
        let commits = self.commits
        // Logged and synced: the block is final and readable, so clients waiting for it are answered
        // now, not after its LMDB write.
        let committed = try await chain.commit(block, certificate: qc.commitCertificate) { commits.publish(block) }
        metrics.commitLatency.recordInterval(since: started)
        metrics.lmdbBlockWrite.recordNanoseconds(Int64(committed.storeWrite.components.seconds) * 1_000_000_000
                                                 + committed.storeWrite.components.attoseconds / 1_000_000_000)
        if committed.applied { metrics.blocksAppliedAtCommit.increment() }
        metrics.height.record(Int(block.height))
        metrics.committedTxs.increment(by: block.txs.count)
        network.setLocalHeight(block.height)
        // The allow list is the set in force at the next height and any adopted after it: it can
        // change only when the set two heights ahead changed at this commit or the one before.
        let setChanged = status.withLock { s in
            let changed = s.allowListSet != committed.validatorsAtHeightPlus2
            defer { s.allowListSet = committed.validatorsAtHeightPlus2; s.allowListChangedLastCommit = changed }
            return changed || s.allowListChangedLastCommit
        }
        if setChanged { network.setAllowList(allowList()) }
        onCommit(block)
        status.withLock { $0.catchingUp = false }
        logger.debug("committed", metadata: ["height": "\(block.height)", "view": "\(qc.view)", "txs": "\(block.txs.count)"])
        return .blockApplied(AppliedBlock(height: block.height, blockHash: block.hash,
                                          validatorsAtHeightPlus2: committed.validatorsAtHeightPlus2,
                                          workPending: chain.mempool.count > 0))
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
            let result = try chain.submit([tx])
            logger.warning("equivocation evidence submitted", metadata: ["validator": "\(evidence.validator.hex.prefix(16))",
                                                                          "height": "\(evidence.height)", "result": "\(result)"])
            if result.first == .accepted { network.gossip([tx]) }
        } catch {
            logger.error("could not submit evidence", metadata: ["error": "\(error)"])
        }
    }

    /// Peers allowed to connect: validators in force at the next height and of adopted sets not yet
    /// in force, and the configured observers.
    func allowList() -> AllowList {
        let (inForce, adopted) = chain.validatorKeys()
        return AllowList(validatorsInForce: inForce, validatorsAdopted: adopted, observers: observers)
    }

    // MARK: Catch-up

    /// Serves a peer's block request from the store: blocks with their commit certificates.
    func serveBlocks(to peer: Bytes32, fromHeight: UInt64, count: UInt32) {
        do {
            let tip = try chain.tip().height
            guard fromHeight >= 1, fromHeight <= tip else {
                _ = try? network.send(.blockResponse(fromHeight: fromHeight, blocks: []), to: peer)
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
            _ = try? network.send(.blockResponse(fromHeight: fromHeight, blocks: items), to: peer)
        } catch {
            logger.error("could not serve blocks", metadata: ["error": "\(error)"])
        }
    }

    /// A peer's answer to a block request.
    func receivedBlocks(_ items: [[UInt8]], from peer: Bytes32) {
        var blocks: [CertifiedBlock<Block>] = []
        for item in items {
            guard let (block, cert) = try? CertifiedBlockCodec.decode(item, maxBlockTxs: chain.genesis.params.maxBlockTxs) else {
                logger.info("dropped malformed catch-up block", metadata: ["peer": "\(peer.hex.prefix(16))"])
                return
            }
            blocks.append(CertifiedBlock(block: block, certificate: QuorumCertificate(cert, blockHash: block.hash)))
        }
        guard !blocks.isEmpty else { return }
        inbox.pushControl(.blocksReceived(blocks, from: peer))
    }

    /// A peer's status shows a height above ours: ask it for the blocks in between (only asking;
    /// the blocks are applied only if their certificates verify).
    func peerHeight(_ height: UInt64, peer: Bytes32) {
        let now = Self.nowMs()
        let deciding: UInt64? = status.withLock { s in
            // One block ahead is normal (a peer commits a moment before us); two is falling behind.
            guard height > s.height, now >= s.lastCatchUpRequestMs + NodeLimits.catchUpRetryMs else { return nil }
            s.lastCatchUpRequestMs = now
            s.catchingUp = true
            return s.height
        }
        guard let deciding else { return }
        _ = try? network.send(.blockRequest(fromHeight: deciding, count: UInt32(NodeLimits.catchUpBlocksPerResponse)), to: peer)
    }
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
