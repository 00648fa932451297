import ChainModel
import ChainState
import Consensus
import Foundation
import Logging
import P2P
import ServiceLifecycle
import Storage
import Synchronization
import TotemCrypto
import UnixSignals

/// A running node: store, mempool, P2P, consensus runtime and HTTP API, as one service with a
/// graceful shutdown (stop the API, let the consensus step in progress finish its LMDB write,
/// close peers, drain the store's writer).
final class Node: Service {
    let config: NodeConfig
    /// The config file, re-read on SIGHUP (`reloadConfig`).
    let configPath: String
    let genesis: Genesis
    let key: SigningKey
    let chain: ChainService
    let network: P2PNode
    /// Whom P2P lets in and dials (the chain's validators and the config's peers and observers).
    let peering: Peering
    let driver: ConsensusDriver
    let similarity: SimilarityService
    /// The one path of transactions into the node (API, gossip, evidence).
    let admission: AdmissionService
    /// What the API reads, one store snapshot per answer.
    let queries: QueryService
    let commits = CommitFeed()
    /// The explorer and verifier pages, when `api.explorer` is on and they are installed.
    let web: WebAssets?
    let eventStreams = EventStreamSlots()
    /// This node's checkpoints: snapshots, signatures, certificates, serving them.
    let snapshots: SnapshotService
    /// The state sync this start makes (`[sync] state_sync` with an empty store); nil otherwise.
    let stateSync: StateSyncClient?
    /// True while `stateSync` runs: consensus and catch-up hear nothing until it is done.
    let stateSyncing = Mutex(false)
    let metrics = NodeMetrics()
    let logger: Logger
    let startedAt = Date()

    init(config: NodeConfig, configPath: String, logger: Logger) throws {
        self.config = config
        self.configPath = configPath
        self.logger = logger
        genesis = try config.readGenesis()
        key = try config.readKey()
        try FileManager.default.createDirectory(atPath: config.dataDir, withIntermediateDirectories: true)
        chain = try ChainService(genesis: genesis, dataDir: config.dataDir,
                                 mempoolLimits: MempoolLimits(maxTxCount: config.mempoolMaxTxs, maxBytes: config.mempoolMaxBytes,
                                                              maxPerSender: config.mempoolMaxPerSender,
                                                              maxTxBytes: genesis.params.maxTxBytes),
                                 initialMapBytes: config.storeInitialMapMiB << 20, metrics: metrics, logger: logger)
        // The validator keys were read at start by ChainService, which refuses to start without them.
        let peering = Peering(configured: Peering.Configured(config), chain: chain, localKey: key.publicKey, logger: logger)
        self.peering = peering
        var p2p = P2PConfig(listenHost: config.p2pListenHost, listenPort: config.p2pListenPort, peers: peering.targets(),
                            nodeKey: key, chainId: genesis.chainId, genesisHash: genesis.genesisHash,
                            role: config.role == .validator ? .validator : .observer)
        p2p.maxFrameBytes = config.maxFrameBytes
        p2p.rngSeed = key.publicKey.w0
        let p2pLogger = Self.p2pLogger(logger)
        let admission = AdmissionService(chain: chain, metrics: metrics, logger: logger)
        self.admission = admission
        network = P2PNode(config: p2p, allowList: peering.allowList(), admission: GossipAdmission(admission: admission, ownKey: key.publicKey),
                          log: p2pLogger)
        let similarity: SimilarityService
        do {
            similarity = try SimilarityService(store: chain.store)
        } catch {
            logger.error("the image-code index cannot be read; the node will not start", metadata: ["error": "\(error)"])
            throw NodeError("refusing to start: the image-code index cannot be read from the store: \(error)")
        }
        self.similarity = similarity
        queries = QueryService(chain: chain, similarity: similarity, metrics: metrics, logger: logger)
        driver = try ConsensusDriver(chain: chain, network: network, key: key, peering: peering,
                                     isValidatorRole: config.role == .validator, commits: commits, metrics: metrics,
                                     logger: logger, admission: admission,
                                     onCommit: { similarity.blockCommitted($0) })
        admission.connect(network: network, consensus: driver)
        snapshots = SnapshotService(genesis: genesis, store: chain.store, dataDir: config.dataDir, key: key, network: network,
                                    metrics: metrics, logger: logger)
        if config.stateSync, try chain.tip().height == 0 {
            guard genesis.params.checkpointInterval > 0 else {
                throw NodeError("refusing to start: [sync] state_sync is on but the genesis sets checkpointIntervalBlocks "
                                + "to 0 (this chain has no checkpoints); turn it off to replay the chain from block 1")
            }
            stateSync = StateSyncClient(genesis: genesis, store: chain.store, network: network, metrics: metrics, logger: logger)
            stateSyncing.withLock { $0 = true }
        } else {
            if config.stateSync {
                logger.info("[sync] state_sync is on but the store already holds blocks: following the chain from them")
            }
            stateSync = nil
        }
        if config.apiExplorer {
            switch WebAssets.load(genesisFileBytes: genesis.fileBytes) {
            case .success(let assets):
                web = assets
                logger.info("serving the explorer at /explorer and the verifier at /verify",
                            metadata: ["files": "\(assets.files.count)", "from": "\(assets.directory)"])
            case .failure(let missing):
                web = nil
                logger.warning("api.explorer is on but the pages cannot be served", metadata: ["error": "\(missing)"])
            }
        } else {
            web = nil
        }
        if config.role == .validator, !chain.validatorKeys().inForce.contains(key.publicKey) {
            logger.warning("this node's key is not in the validator set in force; it follows the chain without voting",
                           metadata: ["key": "\(key.publicKey.hex)"])
        }
    }

    private static func p2pLogger(_ logger: Logger) -> P2PLogger {
        P2PLogger { level, message, fields in
            var metadata: Logger.Metadata = [:]
            for (k, v) in fields { metadata[k] = "\(v)" }
            let l: Logger.Level = switch level {
            case .debug: .debug
            case .info: .info
            case .warning: .warning
            case .error: .error
            }
            logger.log(level: l, "\(message)", metadata: metadata)
        }
    }

    func run() async throws {
        // Trapped first, before the node is up: SIGHUP's default action would end the process.
        let reloads = await UnixSignalsSequence(trapping: .sighup)
        let api = try APIServer(node: self).application()
        let height = try chain.tip().height
        commits.start(at: height)
        snapshots.start()
        logger.info("node starting", metadata: ["moniker": "\(config.moniker)", "key": "\(key.publicKey.hex)",
                                                "chain": "\(genesis.chainId)", "genesis": "\(genesis.genesisHash.hex)",
                                                "height": "\(height)"])
        try await withThrowingDiscardingTaskGroup { outer in
            // On graceful shutdown the API stops by itself: it stops accepting, answers the requests
            // in progress (bounded by ConnectionLimits) and closes its connections. It is not
            // cancelled then: that would cut those answers and log errors for a normal stop.
            outer.addTask { try await self.essential("api") { try await api.run() } }
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.essential("p2p") { try await self.network.run() } }
                group.addTask { await self.pumpNetworkEvents() }
                group.addTask { await self.sampleGauges() }
                group.addTask { await self.driver.runCatchUpTicker() }
                group.addTask { await self.reloadOnHangUp(reloads) }
                // The consensus loop ends when its inbox closes, after the step in progress (and its
                // LMDB write) is done; only then are peers closed and the other tasks cancelled.
                try await withGracefulShutdownHandler {
                    do {
                        if let client = self.stateSync {
                            guard try await client.run() else { return }
                            try self.stateSyncFinished()
                        }
                        try await self.driver.run()
                    } catch {
                        // Said here, at error level, before the node stops (a full disk names itself).
                        self.logger.error("consensus stopped; stopping the node", metadata: ["error": "\(error)"])
                        throw error
                    }
                } onGracefulShutdown: {
                    self.logger.info("shutting down: finishing the write in progress, then closing peers")
                    self.driver.inbox.close()
                    self.stateSync?.stop()
                }
                self.network.shutdown()
                group.cancelAll()
            }
            // Stopped for another reason (a part failed): nothing else would stop the API.
            if !Task.isShuttingDownGracefully { outer.cancelAll() }
        }
        await chain.store.shutdown()
        logger.info("node stopped")
    }

    /// Runs a part the node cannot work without; if it fails (e.g. its port is taken), the node
    /// says why and stops instead of running half.
    private func essential(_ name: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            logger.critical("\(name) failed; stopping the node", metadata: ["error": "\(error)"])
            driver.inbox.close()
            throw error
        }
    }

    /// SIGHUP re-reads the config file; cancelled with the node's other tasks at shutdown.
    private func reloadOnHangUp(_ signals: UnixSignalsSequence) async {
        for await _ in signals { reloadConfig() }
    }

    /// Re-reads `p2p.allowed_observers` and `p2p.persistent_peers` from the config file and applies
    /// them: observers no longer allowed are disconnected, new peers dialled. A file that does not
    /// parse changes nothing. Other settings take effect at the next start (docs/operations.md).
    func reloadConfig() {
        let next: NodeConfig
        do {
            next = try NodeConfig.load(path: configPath)
        } catch {
            logger.error("config reload failed; the settings in use are kept", metadata: ["error": "\(error)"])
            return
        }
        let changes = peering.reconfigure(Peering.Configured(next))
        for line in changes { logger.info("config reload: \(line)") }
        logger.info("config reloaded", metadata: ["changes": "\(changes.count)",
                                                  "observers": "\(next.allowedObservers.count)",
                                                  "persistentPeers": "\(next.persistentPeers.count)"])
        peering.apply(to: network)
    }

    /// The state sync is done: the store's tip is the checkpoint's block. Catch-up, the commit feed,
    /// the similarity index and the peers start from it.
    private func stateSyncFinished() throws {
        let tip = try chain.tip()
        driver.restartCatchUp(at: tip.height)
        commits.start(at: tip.height)
        try similarity.rebuild(store: chain.store)
        peering.apply(to: network)
        network.setLocalHeight(tip.height)
        stateSyncing.withLock { $0 = false }
        for peer in network.peers() { driver.peerHeight(peer.height, peer: peer.key) }
    }

    private func pumpNetworkEvents() async {
        for await event in network.events {
            let syncing = stateSyncing.withLock { $0 }
            switch event {
            case .checkpointVote(let from, let payload):
                snapshots.received(vote: payload, from: from)
            case .snapshotQuery(let from, let height):
                snapshots.serveOffer(to: from, preferring: height)
            case .chunkRequest(let from, let height, let index):
                snapshots.serveChunk(to: from, height: height, index: index)
            case .snapshotOffer(let from, let payload):
                stateSync?.push(.offer(from: from, payload: payload))
            case .chunkResponse(let from, let height, let index, let payload):
                stateSync?.push(.chunk(from: from, height: height, index: index, payload: payload))
            // (One pattern per case: a `where` clause binds to the last pattern of a case only.)
            case .consensus where syncing:
                break  // nothing to follow them from until the snapshot is in
            case .blockResponse where syncing:
                break
            case .status where syncing:
                break
            case .peerUp(let info) where syncing:
                stateSync?.push(.peerUp(info.key))
            case .peerDown(let key) where syncing:
                stateSync?.push(.peerDown(key))
            case .consensus(let from, let payload):
                driver.received(payload, from: from)
            case .txBatch:
                break  // admitted (and consensus woken) by the AdmissionService, through GossipAdmission
            case .blockRequest(let from, let fromHeight, let count):
                driver.serveBlocks(to: from, fromHeight: fromHeight, count: count)
            case .blockResponse(let from, let fromHeight, let blocks):
                driver.receivedBlocks(blocks, fromHeight: fromHeight, from: from)
            case .status(let info), .peerUp(let info):
                driver.peerHeight(info.height, peer: info.key)
            case .peerDown(let key):
                driver.peerDown(key)  // logged by P2P
            case .connectionFailed:
                break  // logged by P2P, throttled
            }
        }
    }

    /// What `GET /readyz` judges (`Readiness`), read now.
    func readinessInputs() -> Readiness.Inputs {
        let d = driver.current
        let (inForce, _) = chain.validatorKeys()
        let peers = network.peers()
        return Readiness.Inputs(
            isVoting: config.role == .validator && inForce.contains(key.publicKey), validatorCount: inForce.count,
            quorum: ValidatorSet.quorum(of: inForce.count), peersConnected: peers.count,
            validatorPeersConnected: peers.filter { $0.key != key.publicKey && inForce.contains($0.key) }.count,
            catchingUp: d.catchingUp, blocksBehind: d.blocksBehind, height: d.committedHeight,
            freeBytes: DiskSpace.of(path: config.dataDir)?.freeBytes, minFreeBytes: UInt64(config.storeMinFreeMiB) << 20,
            clockOffsetMs: d.clockOffsetMs, maxClockDriftMs: genesis.params.maxClockDriftMs,
            abstention: driver.abstention,
            stateSync: stateSyncing.withLock({ $0 }) ? stateSync?.status : nil)
    }

    private func sampleGauges() async {
        var lowDiskWarned: ContinuousClock.Instant?
        metrics.mempoolMaxTxs.record(config.mempoolMaxTxs)
        metrics.mempoolMaxBytes.record(config.mempoolMaxBytes)
        metrics.dataDirMinFreeBytes.record(Int(clamping: UInt64(config.storeMinFreeMiB) << 20))
        metrics.clockMaxDriftSeconds.record(Double(genesis.params.maxClockDriftMs) / 1000)
        let trim = MemoryTrim()
        let trimPolicy = Mutex(TrimPolicy())
        var regossip = Regossip()
        while !Task.isCancelled {
            sampleDiskSpace(lastWarned: &lowDiskWarned)
            sampleReadiness()
            if let resident = ProcessMemory.residentBytes() { metrics.residentMemoryBytes.record(Int(clamping: resident)) }
            if let anonymous = ProcessMemory.anonymousBytes() {
                metrics.anonymousMemoryBytes.record(Int(clamping: anonymous))
                if trimPolicy.withLock({ $0.tick(anonymous: anonymous) }) {
                    let metrics = self.metrics, logger = self.logger, store = chain.store, started = ContinuousClock.now
                    let reopened = Atomic<Bool>(false)
                    // LMDB's write buffers first (the largest block write's pages, 150 MiB after a
                    // fill of batches at a million works), so that the trim gives them back too.
                    trim.start(first: {
                        do {
                            reopened.store(try store.releaseWriteBuffers(), ordering: .relaxed)
                        } catch {
                            logger.warning("could not reopen the store to free its write buffers", metadata: ["error": "\(error)"])
                        }
                    }, done: { before, after in
                        metrics.memoryTrims.increment()
                        metrics.memoryTrimDuration.recordInterval(since: started)
                        guard let before, let after else { return }
                        trimPolicy.withLock { $0.trimmed(after: after, storeReopened: reopened.load(ordering: .relaxed)) }
                        logger.info("freed heap memory given back", metadata: [
                            "beforeMiB": "\(before >> 20)", "afterMiB": "\(after >> 20)",
                            "lmdbReopened": "\(reopened.load(ordering: .relaxed))", "took": "\(ContinuousClock.now - started)"])
                    })
                }
            }
            metrics.mempoolTxs.record(chain.mempool.count)
            metrics.mempoolBytes.record(chain.mempool.byteCount)
            metrics.mempoolEvictions.update(total: chain.mempool.evictedCount)
            metrics.txSignatureChecks.update(total: chain.mempool.signatureChecks)
            if let due = regossip.tick(chain.proposable(maxBytes: NodeLimits.regossipMaxBytes)) {
                network.regossip(due)
                metrics.txsRegossiped.increment(by: due.count)
            }
            let peers = network.peers()
            metrics.peers.record(peers.count)
            metrics.p2pBytesReceived.record(peers.reduce(0) { $0 + $1.bytesReceived })
            metrics.gossipDrops.update(network.gossipTxsDropped)
            metrics.lmdbMapBytes.record(chain.store.environment.mapSizeBytes)
            metrics.lmdbReopens.update(total: chain.store.environment.reopenedCount)
            metrics.diskSyncs.update()
            try? await Task.sleep(for: .seconds(1))  // throws only when cancelled: the loop then ends
            if driver.inbox.isClosed { return }
        }
    }
}

extension Node {
    /// Records what `GET /readyz` judges, from the same inputs, so alerts and the endpoint agree.
    func sampleReadiness() {
        let inputs = readinessInputs()
        metrics.ready.record(Readiness.reasons(inputs).isEmpty ? 1 : 0)
        metrics.validators.record(inputs.validatorCount)
        metrics.quorum.record(inputs.quorum)
        metrics.voting.record(inputs.isVoting ? 1 : 0)
        metrics.abstaining.record(inputs.abstention == nil ? 0 : 1)
        metrics.validatorPeers.record(inputs.validatorPeersConnected)
        if let offset = inputs.clockOffsetMs { metrics.clockOffsetSeconds.record(Double(offset) / 1000) }
    }

    /// Records the data directory's free space and warns (at most once per
    /// `NodeLimits.lowDiskWarningIntervalSeconds`) when it is under `store.min_free_mib`.
    func sampleDiskSpace(lastWarned: inout ContinuousClock.Instant?) {
        let interval = Duration.seconds(NodeLimits.lowDiskWarningIntervalSeconds)
        guard let space = DiskSpace.of(path: config.dataDir) else {
            // The gauge keeps its last value; the failure is said, as often as a low-disk warning.
            guard lastWarned.map({ ContinuousClock.now - $0 >= interval }) ?? true else { return }
            lastWarned = .now
            logger.warning("cannot read the free space of the data directory's disk (statvfs failed)",
                           metadata: ["path": "\(config.dataDir)"])
            return
        }
        metrics.dataDirFreeBytes.record(Int(clamping: space.freeBytes))
        let threshold = UInt64(config.storeMinFreeMiB) << 20
        guard space.freeBytes < threshold, lastWarned.map({ ContinuousClock.now - $0 >= interval }) ?? true else { return }
        lastWarned = .now
        logger.warning("the data directory's disk is nearly full", metadata: [
            "path": "\(config.dataDir)", "freeBytes": "\(space.freeBytes)", "totalBytes": "\(space.totalBytes)",
            "thresholdBytes": "\(threshold)"])
    }
}

/// Which pending txs the node gossips again (`P2PNode.regossip`): every
/// `NodeLimits.regossipIntervalSeconds`, those a proposal could take that were already proposable
/// at the previous round, so waited that long. A tx refused by a peer for the moment (its mempool
/// full) or dropped on the way is otherwise never sent to it again, and when the only node holding
/// some txs rarely leads (benched after slow proposals) nobody proposes them: a batch fill at scale
/// committed nothing for minutes while one node's 8 MiB mempool was full of them.
struct Regossip: Sendable {
    private var seconds = 0
    private var previous: Set<Bytes32> = []

    /// Called every second with what a proposal could take now, but read only at a round; returns
    /// the txs to gossip again at a round.
    mutating func tick(_ proposable: @autoclosure () -> [SignedTx]) -> [SignedTx]? {
        seconds += 1
        guard seconds >= NodeLimits.regossipIntervalSeconds else { return nil }
        seconds = 0
        let now = proposable()
        defer { previous = Set(now.map(\.hash)) }
        let waited = now.filter { previous.contains($0.hash) }
        return waited.isEmpty ? nil : waited
    }
}
