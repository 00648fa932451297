import ChainModel
import Foundation
import Logging
import P2P
import Storage
import Synchronization
import TotemCrypto

/// A node starting from a snapshot (docs/state-sync.md): asks its peers for their newest certified
/// checkpoint, checks each offer from the genesis file alone (`SnapshotOffer.verify`), fetches the
/// chunks from every peer that offers the chosen checkpoint (`ChunkFetchPlan`), checks each chunk
/// against `snapshotRoot` and writes it with the progress record (so a node killed midway resumes
/// with the chunks it lacks), then makes header H the tip. The node then follows blocks from H + 1
/// through catch-up and consensus; H + 1's state root, computed here from the synced state, is the
/// end-to-end check.
final class StateSyncClient: Sendable {
    enum Event: Sendable {
        case peerUp(Bytes32)
        case peerDown(Bytes32)
        case offer(from: Bytes32, payload: [UInt8])
        case chunk(from: Bytes32, height: UInt64, index: UInt32, payload: [UInt8])
        case tick
    }

    /// Events waiting for the loop; chunk responses are bounded by the requests out, the rest by
    /// the peers, so this only guards against a peer sending what it was not asked.
    static let eventBufferMax = 256
    static let tickMs: UInt64 = 250
    /// After the first valid offer, how long other peers may still answer before one is chosen.
    static let offerGraceMs: UInt64 = 2_000
    /// Peers are asked again this often while no offer is usable.
    static let queryIntervalMs: UInt64 = 3_000
    static let progressIntervalMs: UInt64 = 2_000

    let genesis: Genesis
    let store: ChainStore
    let network: P2PNode
    let metrics: NodeMetrics
    let logger: Logger
    private let events: AsyncStream<Event>
    private let sink: AsyncStream<Event>.Continuation
    /// Chunks done and in all, for `/readyz` (total 0 while looking for a snapshot).
    private let progress = Mutex((done: 0, total: 0))

    init(genesis: Genesis, store: ChainStore, network: P2PNode, metrics: NodeMetrics, logger: Logger) {
        self.genesis = genesis
        self.store = store
        self.network = network
        self.metrics = metrics
        self.logger = logger
        (events, sink) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingOldest(Self.eventBufferMax))
    }

    var status: (done: Int, total: Int) { progress.withLock { $0 } }

    func push(_ event: Event) { sink.yield(event) }

    /// Ends `run` (graceful shutdown); the chunks written so far stay, with their progress record.
    func stop() { sink.finish() }

    private static func nowMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// Runs the state sync to its end: true once the store's tip is the checkpoint's block, false
    /// when stopped first.
    func run() async throws -> Bool {
        metrics.stateSyncing.record(1)
        defer { metrics.stateSyncing.record(0) }
        let ticker = Task { [sink] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Self.tickMs))
                if case .terminated = sink.yield(.tick) { return }
            }
        }
        defer { ticker.cancel() }
        let resuming = try store.stateSyncProgress()
        if let resuming {
            logger.info("state sync resuming", metadata: [
                "height": "\(resuming.checkpoint.height)", "done": "\(resuming.doneCount)", "total": "\(resuming.chunkCount)"])
        } else {
            logger.info("state sync: asking peers for their newest certified snapshot")
        }
        var iterator = events.makeAsyncIterator()
        guard let (offer, sources) = try await discover(&iterator, resuming: resuming?.checkpoint) else { return false }
        return try await fetch(offer, sources: sources, &iterator)
    }

    // MARK: Finding a snapshot

    private func discover(_ iterator: inout AsyncStream<Event>.Iterator, resuming: Checkpoint?) async throws
        -> (SnapshotOffer, Set<Bytes32>)? {
        var offers: [Bytes32: SnapshotOffer] = [:]
        var answered: Set<Bytes32> = []
        var firstOfferMs: UInt64?
        var lastQueryMs: UInt64 = 0
        func query(_ peers: [Bytes32]) {
            for peer in peers { _ = try? network.send(.snapshotQuery(height: resuming?.height ?? 0), to: peer) }
        }
        while true {
            let now = Self.nowMs()
            if now >= lastQueryMs + Self.queryIntervalMs, offers.isEmpty {
                lastQueryMs = now
                answered = []
                query(network.peers().map(\.key))
            }
            if let first = firstOfferMs {
                let connected = Set(network.peers().map(\.key))
                if now >= first + Self.offerGraceMs || connected.isSubset(of: answered) {
                    // The checkpoint under way when some peer still offers it, else the newest.
                    let chosen = offers.values.first { $0.checkpoint == resuming }
                        ?? offers.values.max { $0.checkpoint.height < $1.checkpoint.height }
                    if let chosen {
                        let sources = Set(offers.filter { $0.value.checkpoint == chosen.checkpoint }.keys)
                        return (chosen, sources)
                    }
                }
            }
            guard let event = await iterator.next() else { return nil }
            switch event {
            case .peerUp(let peer):
                query([peer])
            case .offer(let peer, let payload):
                answered.insert(peer)
                guard !payload.isEmpty, let offer = checkedOffer(payload, from: peer) else { continue }
                offers[peer] = offer
                if firstOfferMs == nil { firstOfferMs = Self.nowMs() }
            case .peerDown(let peer):
                offers[peer] = nil
            case .chunk, .tick:
                break
            }
        }
    }

    /// The offer in `payload` when it checks from genesis; a peer whose offer does not is dropped.
    private func checkedOffer(_ payload: [UInt8], from peer: Bytes32) -> SnapshotOffer? {
        do {
            let offer = try SnapshotOffer.decode(payload)
            _ = try offer.verify(chainId: genesis.chainId, genesisSet: genesis.validatorSet, genesisHash: genesis.genesisHash)
            return offer
        } catch {
            metrics.stateSyncPeersDropped.increment()
            logger.warning("a peer offered a snapshot that does not check; it is disconnected",
                           metadata: ["peer": "\(peer.hex.prefix(16))", "error": "\(error)"])
            network.disconnect(peer)
            return nil
        }
    }

    // MARK: Fetching the chunks

    private func fetch(_ offer: SnapshotOffer, sources: Set<Bytes32>, _ iterator: inout AsyncStream<Event>.Iterator) async throws -> Bool {
        let checkpoint = offer.checkpoint
        var state = try await store.beginStateSync(offer.certificate)
        var plan = ChunkFetchPlan(missing: state.missing)
        for peer in sources { plan.addSource(peer) }
        let doneAtStart = state.doneCount
        var fetched = 0
        var bytes = 0
        let startedMs = Self.nowMs()
        var last = (ms: startedMs, done: state.doneCount, bytes: 0)
        publish(state)
        logger.info("state sync: fetching a snapshot", metadata: [
            "height": "\(checkpoint.height)", "chunks": "\(checkpoint.chunkCount)", "done": "\(doneAtStart)",
            "missing": "\(state.missing.count)", "peers": "\(sources.count)", "root": "\(checkpoint.snapshotRoot.hex)"])
        while !state.isComplete {
            send(plan.plan(nowMs: Self.nowMs()), height: checkpoint.height)
            let now = Self.nowMs()
            if now >= last.ms + Self.progressIntervalMs {
                let seconds = Double(now - last.ms) / 1000
                let rate = Double(bytes - last.bytes) / seconds
                let chunkRate = Double(state.doneCount - last.done) / seconds
                let left = Int(checkpoint.chunkCount) - state.doneCount
                logger.info("state sync progress", metadata: [
                    "height": "\(checkpoint.height)", "done": "\(state.doneCount)", "total": "\(checkpoint.chunkCount)",
                    "bytesPerSecond": "\(Int(rate))",
                    "eta": "\(chunkRate > 0 ? String(format: "%.1f s", Double(left) / chunkRate) : "unknown")",
                    "peers": "\(plan.sources.count)"])
                last = (now, state.doneCount, bytes)
            }
            guard let event = await iterator.next() else { return false }
            switch event {
            case .peerUp(let peer):
                _ = try? network.send(.snapshotQuery(height: checkpoint.height), to: peer)
            case .peerDown(let peer):
                plan.removeSource(peer)
            case .offer(let peer, let payload):
                // A late (or repeated) offer of the same checkpoint adds a source.
                if !payload.isEmpty, let other = checkedOffer(payload, from: peer), other.checkpoint == checkpoint {
                    plan.addSource(peer)
                }
            case .tick:
                if plan.sources.isEmpty, now >= last.ms + Self.queryIntervalMs {
                    for peer in network.peers().map(\.key) { _ = try? network.send(.snapshotQuery(height: checkpoint.height), to: peer) }
                }
            case .chunk(let peer, let height, let index, let payload):
                guard height == checkpoint.height, plan.answered(index, by: peer) else { continue }
                guard !payload.isEmpty else {
                    plan.retry(index)
                    plan.removeSource(peer)  // it no longer holds the snapshot
                    continue
                }
                let entries: [SnapshotEntry]
                do {
                    let chunk = try ChunkPayload.decode(payload, maxChunkBytes: SnapshotLimits.chunkMaxBytes)
                    try checkpoint.checkChunk(chunk.chunk, index: index, proof: chunk.proof)
                    entries = try SnapshotChunk.decode(chunk.chunk)
                    bytes += chunk.chunk.count
                    metrics.stateSyncBytes.increment(by: Int64(chunk.chunk.count))
                } catch {
                    plan.retry(index)
                    plan.ban(peer)
                    metrics.stateSyncPeersDropped.increment()
                    logger.warning("a peer sent a snapshot chunk that fails its proof; it is disconnected and not asked again",
                                   metadata: ["peer": "\(peer.hex.prefix(16))", "index": "\(index)", "error": "\(error)"])
                    network.disconnect(peer)
                    continue
                }
                if StateSyncFaults.chunkApplyDelayMs > 0 { try await Task.sleep(for: .milliseconds(StateSyncFaults.chunkApplyDelayMs)) }
                state = try await store.applySnapshotChunk(entries, index: index)
                fetched += 1
                publish(state)
            }
        }
        let tip = try await store.finishStateSync(header: offer.header, certificate: offer.commit, recentHeaders: offer.recentHeaders,
                                                  setChanges: offer.setChanges)
        let seconds = Double(Self.nowMs() - startedMs) / 1000
        logger.info("state sync finished", metadata: [
            "height": "\(tip.height)", "chunks": "\(checkpoint.chunkCount)", "fetched": "\(fetched)",
            "doneBefore": "\(doneAtStart)", "bytes": "\(bytes)", "seconds": "\(String(format: "%.1f", seconds))",
            "stateRoot": "\(tip.stateRoot.hex)"])
        return true
    }

    private func publish(_ state: StateSyncProgress) {
        progress.withLock { $0 = (state.doneCount, Int(state.chunkCount)) }
        metrics.stateSyncChunksDone.record(state.doneCount)
        metrics.stateSyncChunksTotal.record(Int(state.chunkCount))
    }

    private func send(_ requests: [ChunkFetchPlan.Request], height: UInt64) {
        for r in requests where (try? network.send(.chunkRequest(height: height, index: r.index), to: r.peer)) != true {
            metrics.sendFailures.increment()
        }
    }
}
