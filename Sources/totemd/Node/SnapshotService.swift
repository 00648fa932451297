import ChainModel
import Consensus
import Foundation
import Logging
import P2P
import Storage
import Synchronization
import TotemCrypto

/// The checkpoints of this node (docs/state-sync.md): at each checkpoint height it writes the
/// snapshot of the state just committed (off the consensus path, on a thread of its own, from a
/// read transaction begun right after the commit), signs the checkpoint when its key is in the
/// set in force there, gossips the signature, collects the others' into a certificate, keeps the
/// newest two snapshots and serves them to state-syncing peers (offer and chunks).
final class SnapshotService: Sendable {
    /// Snapshots kept (with their certificates once they have them).
    static let keptSnapshots = 2
    /// Checkpoint heights whose votes are kept while waiting for a quorum.
    static let votedHeightsMax = 4

    struct State: Sendable {
        /// This node's checkpoint of each recent height (its own snapshot's).
        var own: [UInt64: Checkpoint] = [:]
        /// Valid votes by height and validator: the first vote of a validator for a height counts.
        var votes: [UInt64: [Bytes32: CheckpointVote]] = [:]
        /// Heights whose certificate is stored.
        var certified: Set<UInt64> = []
        /// Heights whose quorum named another snapshot than this node's (said once).
        var diverged: Set<UInt64> = []
        /// The Merkle tree of a served snapshot (built from its leaves file once).
        var trees: [UInt64: MerkleTree] = [:]
    }

    let genesis: Genesis
    let store: ChainStore
    let base: String
    let key: SigningKey
    let network: P2PNode
    let metrics: NodeMetrics
    let logger: Logger
    private let state = Mutex(State())
    /// One snapshot walk at a time: a walk still running at the next checkpoint makes that one wait.
    private let walking = Mutex(false)

    init(genesis: Genesis, store: ChainStore, dataDir: String, key: SigningKey, network: P2PNode, metrics: NodeMetrics,
         logger: Logger) {
        self.genesis = genesis
        self.store = store
        self.base = dataDir + "/snapshots"
        self.key = key
        self.network = network
        self.metrics = metrics
        self.logger = logger
        var s = State()
        for height in SnapshotFiles.heights(base: base) {
            if let checkpoint = try? SnapshotFiles.checkpoint(base: base, height: height) { s.own[height] = checkpoint }
            if (try? SnapshotFiles.certificate(base: base, height: height)) != nil { s.certified.insert(height) }
        }
        state.withLock { $0 = s }
        if let newest = s.certified.max() { metrics.checkpointHeight.record(Int(clamping: newest)) }
    }

    /// Has the store hand over the state of every checkpoint height (none when the genesis sets
    /// `checkpointIntervalBlocks` to 0).
    func start() {
        let interval = genesis.params.checkpointInterval
        guard interval > 0 else { return }
        store.onCheckpoints(every: interval) { [self] tip, read in take(tip, read) }
    }

    /// Walks the state of `tip` on a new thread (the commit that called this does not wait).
    private func take(_ tip: ChainTip, _ read: DetachedRead) {
        let started = walking.withLock { busy -> Bool in
            if busy { return false }
            busy = true
            return true
        }
        guard started else {
            logger.warning("a snapshot walk is still running; the checkpoint is skipped", metadata: ["height": "\(tip.height)"])
            return
        }
        let thread = Thread { [self] in
            defer { walking.withLock { $0 = false } }
            Self.yieldToTheRest()
            let began = ContinuousClock.now
            do {
                let checkpoint = try read.run { txn in
                    try SnapshotFiles.write(txn, databases: store.databases, chainId: genesis.chainId, height: tip.height,
                                            blockHash: tip.lastBlockHash, chunkBytes: genesis.params.chunkBytes, base: base)
                }
                SnapshotFiles.prune(base: base, keep: Self.keptSnapshots)
                let kept = Set(SnapshotFiles.heights(base: base))
                state.withLock { s in
                    s.own[checkpoint.height] = checkpoint
                    s.own = s.own.filter { kept.contains($0.key) }
                    s.certified = s.certified.filter { kept.contains($0) }
                    s.trees = s.trees.filter { kept.contains($0.key) }
                }
                metrics.snapshotsWritten.increment()
                logger.info("snapshot written", metadata: [
                    "height": "\(checkpoint.height)", "chunks": "\(checkpoint.chunkCount)", "root": "\(checkpoint.snapshotRoot.hex)",
                    "ms": "\(Int((ContinuousClock.now - began) / .milliseconds(1)))"])
                signAndGossip(checkpoint)
                certifyIfQuorum(checkpoint.height)
            } catch {
                metrics.storeReadFailures.increment()
                logger.error("the snapshot of a checkpoint height could not be written", metadata: [
                    "height": "\(tip.height)", "error": "\(error)"])
            }
        }
        thread.name = "totem-snapshot"
        thread.qualityOfService = .background
        thread.start()
    }

    /// Lowers the calling thread's CPU priority (nice 10; Foundation's `.background` quality of
    /// service changes nothing on Linux): the walk of a million works' state takes about 20 s of a
    /// core, every node takes it at the same height, and on a small machine consensus must not
    /// wait behind it.
    private static func yieldToTheRest() {
        #if os(Linux)
        // PRIO_PROCESS with 0 is the calling thread on Linux (the nice value is per thread there).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
    }

    /// Signs `checkpoint` when this node's key is in the set in force at its height, and gossips it.
    private func signAndGossip(_ checkpoint: Checkpoint) {
        guard let set = try? store.validatorSet(at: checkpoint.height), set.contains(key.publicKey) else { return }
        let vote = CheckpointVote(checkpoint: checkpoint, signature: ValidatorSignature(
            validator: key.publicKey, signature: checkpoint.sign(key: key, genesisHash: genesis.genesisHash)))
        record(vote)
        do {
            try network.broadcast(checkpointVote: vote.encoded)
        } catch {
            metrics.sendFailures.increment()
            logger.error("could not gossip a checkpoint signature", metadata: ["error": "\(error)"])
        }
    }

    /// A checkpoint signature from a peer: kept when it is a valid signature of a member of the set
    /// in force at its height, for a recent checkpoint height.
    func received(vote payload: [UInt8], from peer: Bytes32) {
        let vote: CheckpointVote
        do {
            vote = try CheckpointVote.decode(payload)
        } catch {
            logger.info("dropped an undecodable checkpoint signature", metadata: ["peer": "\(peer.hex.prefix(16))", "error": "\(error)"])
            return
        }
        let height = vote.checkpoint.height
        guard genesis.params.isCheckpoint(height: height), vote.checkpoint.chainId.utf8.elementsEqual(genesis.chainId.utf8),
              let tip = try? store.tip().height, height <= tip + genesis.params.checkpointInterval,
              height + UInt64(Self.votedHeightsMax) * genesis.params.checkpointInterval > tip,
              let set = try? store.validatorSet(at: height), set.contains(vote.signature.validator),
              vote.checkpoint.verify(signature: vote.signature.signature, validator: vote.signature.validator,
                                     genesisHash: genesis.genesisHash) else {
            return
        }
        record(vote)
        certifyIfQuorum(height)
    }

    private func record(_ vote: CheckpointVote) {
        state.withLock { s in
            let height = vote.checkpoint.height
            if s.votes[height]?[vote.signature.validator] == nil { s.votes[height, default: [:]][vote.signature.validator] = vote }
            while s.votes.count > Self.votedHeightsMax, let oldest = s.votes.keys.min() { s.votes[oldest] = nil }
        }
    }

    /// Stores the certificate of this node's checkpoint of `height` once q validators of the set in
    /// force there signed it; says so, once, when a quorum signed another snapshot.
    private func certifyIfQuorum(_ height: UInt64) {
        guard let set = try? store.validatorSet(at: height) else { return }
        let found = state.withLock { s -> (certificate: CheckpointCertificate?, diverged: Checkpoint?) in
            guard !s.certified.contains(height), let votes = s.votes[height] else { return (nil, nil) }
            var byCheckpoint: [Checkpoint: [ValidatorSignature]] = [:]
            for vote in votes.values { byCheckpoint[vote.checkpoint, default: []].append(vote.signature) }
            guard let (checkpoint, signatures) = byCheckpoint.first(where: { $0.value.count >= set.quorum }) else { return (nil, nil) }
            guard let own = s.own[height] else { return (nil, nil) }
            guard own == checkpoint else {
                guard s.diverged.insert(height).inserted else { return (nil, nil) }
                return (nil, checkpoint)
            }
            s.certified.insert(height)
            return (CheckpointCertificate(checkpoint: checkpoint, signatures: signatures.sorted { $0.validator < $1.validator }), nil)
        }
        if let other = found.diverged {
            logger.error("a quorum of validators signed another snapshot of this height than this node's: its state differs from theirs", metadata: ["height": "\(height)", "quorumRoot": "\(other.snapshotRoot.hex)",
                                                             "ownRoot": "\(state.withLock { $0.own[height]?.snapshotRoot.hex } ?? "")"])
        }
        guard let certificate = found.certificate else { return }
        do {
            try SnapshotFiles.saveCertificate(certificate, base: base)
            metrics.checkpointHeight.record(Int(clamping: height))
            logger.info("checkpoint certified", metadata: ["height": "\(height)", "signatures": "\(certificate.signatures.count)",
                                                           "root": "\(certificate.checkpoint.snapshotRoot.hex)"])
        } catch {
            state.withLock { _ = $0.certified.remove(height) }
            logger.error("could not store a checkpoint certificate", metadata: ["height": "\(height)", "error": "\(error)"])
        }
    }

    // MARK: Serving

    /// The newest certified snapshot this node holds, with what lets a peer check it from genesis;
    /// nil when it has none (or cannot prove its set chain: a node that was itself state-synced
    /// lacks the headers of set changes below its base).
    func offer(preferring preferred: UInt64 = 0) -> SnapshotOffer? {
        var heights = state.withLock { s in s.certified.filter { s.own[$0] != nil }.sorted(by: >) }
        if let i = heights.firstIndex(of: preferred) { heights.insert(heights.remove(at: i), at: 0) }
        for height in heights {
            do {
                guard let certificate = try SnapshotFiles.certificate(base: base, height: height) else { continue }
                let offer = try store.read { s -> SnapshotOffer? in
                    guard let header = try s.header(at: height), let commit = try s.certificate(at: height) else { return nil }
                    var changes: [SetChangeProof] = []
                    for entry in s.state.validatorHistory().entries where entry.fromHeight > 1 && entry.fromHeight <= height + 1 {
                        guard let h = try s.header(at: entry.fromHeight - 1), let c = try s.certificate(at: entry.fromHeight - 1) else {
                            return nil
                        }
                        changes.append(SetChangeProof(header: h, commit: c, keys: entry.set.keys))
                    }
                    // The headers the leader rotation of H + 1 reads, below H.
                    guard let next = s.state.validatorHistory().entries.last(where: { $0.fromHeight <= height + 1 }) else { return nil }
                    let needed = LeaderRotation.neededHeights(before: height + 1, validatorCount: next.set.count,
                                                              setFromHeight: next.fromHeight)
                    var recent: [Header] = []
                    for h in needed.lowerBound..<height {
                        guard let header = try s.header(at: h) else { return nil }
                        recent.append(header)
                    }
                    return SnapshotOffer(certificate: certificate, header: header, commit: commit, setChanges: changes,
                                         recentHeaders: recent)
                }
                if let offer { return offer }
            } catch {
                logger.error("could not read a snapshot to offer", metadata: ["height": "\(height)", "error": "\(error)"])
            }
        }
        return nil
    }

    /// Answers a peer's query with the offer of the height it prefers if held, else the newest
    /// (empty when none).
    func serveOffer(to peer: Bytes32, preferring height: UInt64) {
        let payload = offer(preferring: height)?.encoded ?? []
        _ = try? network.send(.snapshotOffer(payload), to: peer)
    }

    /// Chunk `index` of the snapshot of `height` with its audit path; nil when not held.
    func chunk(height: UInt64, index: UInt32) -> ChunkPayload? {
        guard let checkpoint = state.withLock({ $0.own[height] }), index < checkpoint.chunkCount else { return nil }
        do {
            let tree = try state.withLock { $0.trees[height] } ?? {
                let tree = MerkleTree(leafHashes: try SnapshotFiles.leafHashes(base: base, height: height))
                state.withLock { $0.trees[height] = tree }
                return tree
            }()
            var bytes = try SnapshotFiles.chunk(base: base, height: height, index: index)
            if StateSyncFaults.corruptsServedChunks, !bytes.isEmpty { bytes[bytes.count - 1] ^= 0x5A }
            return ChunkPayload(proof: try tree.inclusionProof(index: Int(index)), chunk: bytes)
        } catch {
            logger.error("could not read a snapshot chunk", metadata: ["height": "\(height)", "index": "\(index)", "error": "\(error)"])
            return nil
        }
    }

    /// Answers a peer's chunk request (empty payload: not held).
    func serveChunk(to peer: Bytes32, height: UInt64, index: UInt32) {
        let payload = chunk(height: height, index: index)?.encoded ?? []
        if (try? network.send(.chunkResponse(height: height, index: index, payload: payload), to: peer)) == true, !payload.isEmpty {
            metrics.snapshotChunksServed.increment()
        }
    }
}

/// Test-only fault injection of state sync (e2e tests), read once from the environment:
/// `TOTEM_FAULT_CORRUPT_CHUNKS=1` makes a node serve every chunk with a byte changed (its proof
/// then fails); `TOTEM_FAULT_CHUNK_APPLY_DELAY_MS=N` makes a syncing node wait N ms before writing
/// each chunk, so a test can stop it midway. Never set in production.
enum StateSyncFaults {
    static let corruptsServedChunks = ProcessInfo.processInfo.environment["TOTEM_FAULT_CORRUPT_CHUNKS"] == "1"
    static let chunkApplyDelayMs = ProcessInfo.processInfo.environment["TOTEM_FAULT_CHUNK_APPLY_DELAY_MS"].flatMap { UInt64($0) } ?? 0
}
