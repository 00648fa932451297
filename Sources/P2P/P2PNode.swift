import ChainModel
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import P2PWire
import TotemCrypto

/// A message the node sends to one peer (`P2PNode.send`).
public enum PeerMessage: Sendable {
    case consensus([UInt8])
    case blockRequest(fromHeight: UInt64, count: UInt32)
    case blockResponse(fromHeight: UInt64, blocks: [[UInt8]])
    case checkpointVote([UInt8])
    case snapshotQuery(height: UInt64)
    case snapshotOffer([UInt8])
    case chunkRequest(height: UInt64, index: UInt32)
    case chunkResponse(height: UInt64, index: UInt32, payload: [UInt8])
}

/// The P2P service: listens, dials the configured peers, keeps one authenticated encrypted
/// connection per peer, gossips transactions and carries consensus and block messages.
///
/// `run()` is the service's body (one task: it returns after `shutdown()` or when cancelled); every
/// other method may be called from any task at any time. Nothing is detached: listener, dialler,
/// connections and timers are child tasks of `run()`.
public final class P2PNode: Sendable {
    enum Control: Sendable {
        case tick
        case dialFailed(Bytes32)
        case established(PeerLink)
        case closed(PeerLink)
        case allowList(Set<Bytes32>)
        case targets([PeerAddress])
        case stop
    }

    struct Shared: Sendable {
        var allowList: AllowList
        var localHeight: UInt64 = 0
        /// When status was last sent to the peers, and whether a newer height still waits for it.
        var statusSentMs: Int64 = -(1 << 40)
        var statusPending = false
        /// The one connection per peer that sends go to; written only by the control loop.
        var active: [Bytes32: PeerLink] = [:]
        var nextConnection: UInt64 = 1
        var pendingInbound = 0
        /// Connections refused at accept, and failed handshakes of unauthenticated clients: each
        /// reported at most once per `refusalReportIntervalMs`, with a count.
        var refusals = ReportThrottle()
        var strangerFailures = ReportThrottle()
        var tickPending = false
        var started = false
        var boundPort: Int?
        var bindFailure: P2PError?
        var portWaiters: [CheckedContinuation<Int, Error>] = []
    }

    public let config: P2PConfig
    /// Inbound events: consensus messages, admitted transactions, block requests and responses,
    /// peers up and down; bounded (see `P2PEvents`), with drops counted in `eventsDropped`.
    public let events: P2PEvents
    let eventSink: AsyncStream<P2PEvent>.Continuation
    let eventBudget = EventBudget(maxBytes: P2PLimits.eventBufferMaxBytes)
    let controlStream: AsyncStream<Control>
    /// Unbounded on purpose, and still bounded in fact: each connection task yields at most two
    /// events (established/closed, or dialFailed), connections are bounded by the allow-list and
    /// `pendingInboundMaxCount`, the ticker yields only while no tick is pending, and the API
    /// yields only on allow-list and dial-target changes (validator-set changes and
    /// reloads of the config) and shutdown.
    let control: AsyncStream<Control>.Continuation
    let admission: any TxAdmission
    let log: P2PLogger
    let shared: NIOLockedValueBox<Shared>
    let seen = NIOLockedValueBox(BoundedHashSet(capacity: P2PLimits.seenCacheMaxCount))
    /// Gossiped transactions dropped since the start, for `/metrics`: `inbound`, in batches a peer
    /// sent while its batches waiting for admission were at a bound (`GossipInbox`); `outbound`, on the
    /// way to a peer whose outbound tx queue was full.
    let gossipDrops = GossipDrops()
    let params: HandshakeParams
    private let clockBase = ContinuousClock.now

    public init(config: P2PConfig, allowList: AllowList, admission: any TxAdmission, log: P2PLogger = .none) {
        self.config = config
        self.admission = admission
        self.log = log
        self.shared = NIOLockedValueBox(Shared(allowList: allowList))
        self.params = HandshakeParams(nodeKey: config.nodeKey, chainId: config.chainId, genesisHash: config.genesisHash)
        let (stream, sink) = AsyncStream.makeStream(of: P2PEvent.self,
                                                    bufferingPolicy: .bufferingOldest(P2PLimits.eventBufferMaxCount))
        events = P2PEvents(stream: stream, budget: eventBudget)
        eventSink = sink
        (controlStream, control) = AsyncStream.makeStream(of: Control.self, bufferingPolicy: .unbounded)
    }

    public var nodeKey: Bytes32 { config.nodeKey.publicKey }

    // MARK: API

    /// The port the listener is bound to, once `run()` has bound it.
    public func listeningPort() async throws -> Int {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int, Error>) in
            let ready: Result<Int, P2PError>? = shared.withLockedValue { s in
                if let p = s.boundPort { return .success(p) }
                if let e = s.bindFailure { return .failure(e) }
                s.portWaiters.append(c)
                return nil
            }
            if let ready { c.resume(with: ready) }
        }
    }

    /// Sends a consensus message to every connected peer.
    public func broadcast(consensus payload: [UInt8]) throws(P2PError) {
        try checkSize(.consensus(payload))
        for link in activeLinks() { enqueue(.consensus(payload), byteCount: payload.count, to: link) }
    }

    /// Sends a message to one peer; false when the peer is not connected (or its queue overflowed,
    /// which disconnects it).
    @discardableResult
    public func send(_ message: PeerMessage, to peer: Bytes32) throws(P2PError) -> Bool {
        let m: Message
        switch message {
        case .consensus(let p): m = .consensus(p)
        case .blockRequest(let from, let count): m = .blockRequest(fromHeight: from, count: count)
        case .blockResponse(let from, let blocks): m = .blockResponse(fromHeight: from, blocks: blocks)
        case .checkpointVote(let p): m = .checkpointVote(p)
        case .snapshotQuery(let height): m = .snapshotQuery(height: height)
        case .snapshotOffer(let p): m = .snapshotOffer(p)
        case .chunkRequest(let height, let index): m = .chunkRequest(height: height, index: index)
        case .chunkResponse(let height, let index, let p): m = .chunkResponse(height: height, index: index, payload: p)
        }
        let size = try checkSize(m)
        guard let link = shared.withLockedValue({ $0.active[peer] }) else { return false }
        return enqueue(m, byteCount: size, to: link)
    }

    /// Sends a checkpoint signature to every connected peer.
    public func broadcast(checkpointVote payload: [UInt8]) throws(P2PError) {
        let size = try checkSize(.checkpointVote(payload))
        for link in activeLinks() { enqueue(.checkpointVote(payload), byteCount: size, to: link) }
    }

    /// Says goodbye to `peer` for breaking the protocol above P2P (e.g. a snapshot chunk that fails
    /// its proof): it is sent `disconnect(misbehaving)` and closes the connection. The node's
    /// own logic decides whether to talk to it again once it reconnects.
    public func disconnect(_ peer: Bytes32) {
        guard let link = shared.withLockedValue({ $0.active[peer] }) else { return }
        enqueue(.disconnect(.misbehaving), byteCount: 2, to: link)
    }

    /// Gossips transactions this node admitted itself (from its API): they are marked seen and
    /// queued for every peer not known to have them.
    public func gossip(_ txs: [SignedTx]) {
        let fresh = seen.withLockedValue { s in txs.filter { s.insert($0.hash) } }
        forward(fresh, except: nil)
    }

    /// Gossips again transactions that have waited in this node's mempool, to every peer, even
    /// those known to have them: a peer that refused one for the moment (its mempool full) or
    /// dropped it (its inbox or this node's queue to it full) holds it now, and a leader that lacks
    /// a pending tx never proposes it. The receiver's seen-cache still drops what it admitted.
    public func regossip(_ txs: [SignedTx]) {
        guard !txs.isEmpty else { return }
        let items = txs.map { GossipTx(bytes: $0.bytes, hash: $0.hash) }
        for link in txLinks() {
            let dropped = link.enqueueTxs(items, evenIfKnown: true)
            if dropped > 0 { gossipDrops.outbound.add(dropped, ordering: .relaxed) }
        }
    }

    /// Forgets that these transactions were seen, so they are offered to admission again when a
    /// peer sends them: for those it refused for the moment (a full mempool, a nonce above a gap),
    /// which `regossip` from a peer may bring again.
    public func forgetSeen(_ hashes: [Bytes32]) {
        guard !hashes.isEmpty else { return }
        seen.withLockedValue { s in for h in hashes { s.remove(h) } }
    }

    /// Whether the seen-cache holds `hash` (a tx offered to admission, or gossiped by this node).
    public func hasSeen(_ hash: Bytes32) -> Bool { seen.withLockedValue { $0.contains(hash) } }

    /// The connected peers, ordered by key.
    public func peers() -> [PeerInfo] {
        activeLinks().map(\.info).sorted { $0.key < $1.key }
    }

    /// Gossiped transactions dropped since the start: received while the peer's batches waiting
    /// for admission were at their bound, and not queued to a peer whose tx queue was full.
    public var gossipTxsDropped: (inbound: Int, outbound: Int) {
        (gossipDrops.inbound.load(ordering: .relaxed), gossipDrops.outbound.load(ordering: .relaxed))
    }

    /// Events dropped because the event stream's buffer was full.
    public var eventsDropped: Int { eventBudget.droppedCount }

    /// Replaces the allow-list: later handshakes use it, and connected peers outside it are closed.
    public func setAllowList(_ list: AllowList) {
        shared.withLockedValue { $0.allowList = list }
        control.yield(.allowList(list.all))
    }

    /// Replaces the peers to dial and keep connected (`P2PConfig.peers` at start): new ones are
    /// dialled at once, removed ones no longer redialled. Who may connect is the allow-list's business.
    public func setTargets(_ peers: [PeerAddress]) {
        control.yield(.targets(peers))
    }

    /// Sets this node's committed height and tells every peer (Status), at most once per
    /// `P2PLimits.statusMinIntervalMs`: a height set sooner goes out with the manager's next tick
    /// after the interval. (Peers use it to notice they fell behind; consensus does not wait for it.)
    public func setLocalHeight(_ height: UInt64) {
        let now = nowMs()
        let sendNow = shared.withLockedValue { s -> Bool in
            s.localHeight = height
            guard now - s.statusSentMs >= P2PLimits.statusMinIntervalMs else {
                s.statusPending = true
                return false
            }
            s.statusSentMs = now
            s.statusPending = false
            return true
        }
        if sendNow { broadcastStatus(height) }
    }

    /// Sends a status held back by `setLocalHeight` once its interval has passed (from the tick).
    func flushPendingStatus() {
        let now = nowMs()
        let height = shared.withLockedValue { s -> UInt64? in
            guard s.statusPending, now - s.statusSentMs >= P2PLimits.statusMinIntervalMs else { return nil }
            s.statusSentMs = now
            s.statusPending = false
            return s.localHeight
        }
        if let height { broadcastStatus(height) }
    }

    private func broadcastStatus(_ height: UInt64) {
        for link in activeLinks() { enqueue(.status(height: height, role: config.role), byteCount: 9, to: link) }
    }

    /// Begins a graceful shutdown: stop listening, send `disconnect` to peers, and return from `run()`
    /// once they are closed (or after `shutdownGraceMs`).
    public func shutdown() { control.yield(.stop) }

    // MARK: Helpers shared by the connection code

    func activeLinks() -> [PeerLink] { shared.withLockedValue { Array($0.active.values) } }

    /// The links transactions are gossiped on. A validator (a key of the set in force or of an
    /// adopted one) sends them only to peers that may propose: an observer gets every tx in the
    /// blocks and never proposes, so gossiping it the validators' load is work on both sides for
    /// nothing. A node in no set sends to every peer, observers included: a chain of observers may
    /// be a tx's only way from an observer's API to the validators.
    func txLinks() -> [PeerLink] {
        shared.withLockedValue { s in
            let list = s.allowList
            let own = nodeKey
            let mayPropose = { (key: Bytes32) in list.validatorsInForce.contains(key) || list.validatorsAdopted.contains(key) }
            guard mayPropose(own) else { return Array(s.active.values) }
            return s.active.values.filter { mayPropose($0.key) }
        }
    }

    @discardableResult
    func checkSize(_ message: Message) throws(P2PError) -> Int {
        let size: Int
        switch message {
        case .consensus(let p):
            guard p.count <= P2PLimits.consensusMessageMaxBytes else {
                throw P2PError(.malformedMessage, "consensus message of \(p.count) bytes over its limit")
            }
            size = 5 + p.count
        case .blockRequest(_, let count):
            guard (1...P2PLimits.blockRequestMaxCount).contains(count) else {
                throw P2PError(.malformedMessage, "block request count \(count) out of range")
            }
            size = 13
        case .blockResponse(_, let blocks):
            guard blocks.count <= P2PLimits.blockResponseMaxCount,
                  blocks.allSatisfy({ $0.count <= P2PLimits.blockResponseItemMaxBytes }) else {
                throw P2PError(.malformedMessage, "block response over its limits")
            }
            size = 13 + blocks.reduce(0) { $0 + 4 + $1.count }
        case .checkpointVote(let p):
            guard p.count <= P2PLimits.checkpointVoteMaxBytes else {
                throw P2PError(.malformedMessage, "checkpoint vote of \(p.count) bytes over its limit")
            }
            size = 5 + p.count
        case .snapshotOffer(let p):
            guard p.count <= P2PLimits.snapshotOfferMaxBytes else {
                throw P2PError(.malformedMessage, "snapshot offer of \(p.count) bytes over its limit")
            }
            size = 5 + p.count
        case .chunkResponse(_, _, let p):
            guard p.count <= P2PLimits.chunkResponseMaxBytes else {
                throw P2PError(.malformedMessage, "chunk response of \(p.count) bytes over its limit")
            }
            size = 17 + p.count
        default:
            size = 16
        }
        guard size + P2PLimits.aeadTagBytes <= config.maxFrameBytes else {
            throw P2PError(.frameTooLarge, "message of \(size) bytes does not fit in a frame")
        }
        return size
    }

    @discardableResult
    func enqueue(_ message: Message, byteCount: Int, to link: PeerLink) -> Bool {
        switch link.enqueue(message, byteCount: byteCount) {
        case .queued:
            return true
        case .overflowed:
            log(.warning, "outbound queue full; disconnecting", ("peer", link.key.hex), ("conn", "\(link.id)"))
            return false
        case .closing:
            return false
        }
    }

    func forward(_ txs: [SignedTx], except: Bytes32?) {
        guard !txs.isEmpty else { return }
        let items = txs.map { GossipTx(bytes: $0.bytes, hash: $0.hash) }
        for link in txLinks() where link.key != except {
            let dropped = link.enqueueTxs(items)
            if dropped > 0 {
                gossipDrops.outbound.add(dropped, ordering: .relaxed)
                log(.debug, "tx queue full; dropped", ("peer", link.key.hex), ("count", "\(dropped)"))
            }
        }
    }

    func emit(_ event: P2PEvent) {
        let cost = event.byteCost
        guard eventBudget.reserve(cost) else { return }
        if case .dropped = eventSink.yield(event) { eventBudget.dropped(returning: cost) }
    }

    func nowNs() -> UInt64 {
        let (s, atto) = (ContinuousClock.now - clockBase).components
        return UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, atto) / 1_000_000_000)
    }

    func nowMs() -> Int64 { Int64(nowNs() / 1_000_000) }

    func nextConnectionID() -> ConnectionID {
        shared.withLockedValue { s in
            defer { s.nextConnection += 1 }
            return ConnectionID(s.nextConnection)
        }
    }

    func resolveBound(_ result: Result<Int, P2PError>) {
        let waiters: [CheckedContinuation<Int, Error>] = shared.withLockedValue { s in
            switch result {
            case .success(let p): s.boundPort = p
            case .failure(let e): s.bindFailure = e
            }
            defer { s.portWaiters = [] }
            return s.portWaiters
        }
        for w in waiters { w.resume(with: result.mapError { $0 as Error }) }
    }
}
