import ChainModel
import NIOConcurrencyHelpers
import NIOCore
import P2PWire
import Synchronization
import TotemCrypto

extension P2PNode {
    typealias Frames = NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    typealias Writer = NIOAsyncChannelOutboundWriter<ByteBuffer>

    /// One connection from TCP connect to close, inside `executeThenClose` so the channel closes
    /// whatever happens: handshake (bounded by the handshake timeout), status exchange, then the
    /// reader here and the writer and pinger as child tasks. Returns whether it was established.
    func runConnection(_ connection: Framing.Connection, direction: ConnectionDirection,
                       expected: PeerAddress?) async -> Bool {
        let channel = connection.channel
        let id = nextConnectionID()
        let remote = channel.channel.remoteAddress.map { "\($0)" } ?? expected?.description ?? "?"
        var link: PeerLink?
        var pendingCounted = direction == .inbound
        defer { if pendingCounted { shared.withLockedValue { $0.pendingInbound -= 1 } } }
        do {
            try await channel.executeThenClose { inbound, outbound in
                let ch = channel.channel
                var frames = inbound.makeAsyncIterator()
                let timeoutMs = config.handshakeTimeoutMs
                let timeout = ch.eventLoop.scheduleTask(in: .milliseconds(timeoutMs)) {
                    ch.pipeline.fireErrorCaught(P2PError(.handshakeTimeout, "no handshake and status within \(timeoutMs) ms"))
                    ch.close(promise: nil)
                }
                var (session, height, role, announced) = try await handshake(
                    direction: direction, expected: expected?.key, frames: &frames, outbound: outbound, channel: ch,
                    limit: connection.limit)
                timeout.cancel()
                if pendingCounted {
                    shared.withLockedValue { $0.pendingInbound -= 1 }
                    pendingCounted = false
                }
                let established = PeerLink(key: session.peerKey, id: id, direction: direction, remote: remote,
                                           height: height, role: role, limits: config.outboundQueue,
                                           announcedHeight: announced,
                                           closeChannel: { ms in
                                               ch.eventLoop.scheduleTask(in: .milliseconds(ms)) { ch.close(promise: nil) }
                                           })
                established.heard(nowNs: nowNs(), byteCount: 0)
                link = established
                control.yield(.established(established))
                try await serve(established, session: &session, frames: &frames, outbound: outbound, channel: ch,
                                arrival: connection.arrival)
            }
        } catch let error as P2PError {
            if link == nil, direction == .outbound, error.code == .connectionClosed, let expected {
                // Said on this side too: otherwise a node its peers refuse sits at 0 peers in silence.
                report(P2PError(.refusedByPeer, "\(expected) closed the connection during the handshake: it may not "
                                + "allow this node's key (validators list observers in allowed_observers) or may run another chain"),
                       remote: remote, peer: expected.key, id: id)
            } else {
                report(error, remote: remote, peer: link?.key, id: id)
            }
        } catch is CancellationError {
            // Shutdown.
        } catch {
            report(P2PError(.connectionClosed, "\(error)"), remote: remote, peer: link?.key, id: id)
        }
        if let link {
            link.close(nil)
            control.yield(.closed(link))
            return true
        }
        return false
    }

    /// Logs why a connection ended. Failures of clients that never authenticated are anyone's to
    /// cause, so their warnings are throttled (`ReportThrottle`); the rest go to debug.
    private func report(_ error: P2PError, remote: String, peer: Bytes32?, id: ConnectionID) {
        var level: P2PLogger.Level = error.code == .connectionClosed ? .debug : .warning
        var similar: Int?
        if peer == nil, level == .warning {
            let now = nowMs()
            similar = shared.withLockedValue { $0.strangerFailures.note(nowMs: now) }
            if similar == nil { level = .debug }
        }
        log(level, peer == nil ? "connection refused" : "connection closed", ("remote", remote),
            ("peer", peer?.hex ?? "-"), ("conn", "\(id)"), ("code", error.code.rawValue), ("reason", error.message),
            ("refusedSinceLastReport", similar.map { "\($0)" } ?? "-"))
        if error.code != .connectionClosed { emit(.connectionFailed(remote: remote, peer: peer, error: error)) }
    }

    /// Hello, Auth, then Status each way (docs/p2p.md). Returns the session, the peer's height and
    /// role, and the height this node announced.
    private func handshake(direction: ConnectionDirection, expected: Bytes32?, frames: inout Frames,
                           outbound: Writer, channel: Channel, limit: FrameLimit)
    async throws -> (Session, UInt64, PeerRole, UInt64) {
        var hs = Handshake(role: direction == .outbound ? .initiator : .responder, params: params)
        try await outbound.write(Framing.plain(hs.hello, allocator: channel.allocator))
        let hello = try await nextFrame(&frames, limit: P2PLimits.helloMaxBytes)
        let allowList = shared.withLockedValue { $0.allowList }
        let auth = try hs.receiveHello(hello, isAllowed: { allowList.contains($0) })
        try await outbound.write(Framing.plain(auth, allocator: channel.allocator))
        var session = try hs.receiveAuth(try await nextFrame(&frames, limit: P2PLimits.authFrameBytes))
        if let expected, session.peerKey != expected {
            throw P2PError(.peerNotAllowed, "dialled \(expected) but the peer proved \(session.peerKey)")
        }
        // Authenticated: frames may now be as large as the configuration allows. Raised before our
        // Status goes out, and the peer sends nothing but its own small Status until it has ours,
        // so no large frame can meet the handshake limit.
        limit.set(config.maxFrameBytes)
        let (height, myRole) = shared.withLockedValue { ($0.localHeight, config.role) }
        let status = Message.status(height: height, role: myRole)
        try await outbound.write(Framing.sealed(status.encoded, cipher: &session.sender, allocator: channel.allocator))
        let first = try open(try await nextFrame(&frames, limit: config.maxFrameBytes), &session.receiver)
        guard case .status(let peerHeight, let peerRole) = first else {
            throw P2PError(.protocolViolation, "first message is not status")
        }
        return (session, peerHeight, peerRole, height)
    }

    private func nextFrame(_ frames: inout Frames, limit: Int) async throws -> [UInt8] {
        guard let buffer = try await frames.next() else {
            throw P2PError(.connectionClosed, "peer closed the connection during the handshake")
        }
        guard buffer.readableBytes <= limit else {
            throw P2PError(.malformedHandshake, "handshake frame of \(buffer.readableBytes) bytes over \(limit)")
        }
        return Array(buffer.readableBytesView)
    }

    private func open(_ frame: [UInt8], _ cipher: inout FrameCipher) throws(P2PError) -> Message {
        let plain = try cipher.open(frame)
        do { return try Message.decode(plain) } catch {
            throw P2PError(.malformedMessage, "\(error)")
        }
    }

    private func serve(_ link: PeerLink, session: inout Session, frames: inout Frames, outbound: Writer,
                       channel: Channel, arrival: ArrivalClock) async throws {
        let sender = session.sender
        let gossip = GossipInbox()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.writeLoop(link, cipher: sender, outbound: outbound, channel: channel) }
            group.addTask { await self.pingLoop(link, channel: channel, arrival: arrival) }
            group.addTask { await self.admitLoop(link, gossip) }
            defer {
                gossip.finish()
                link.close(nil)
                group.cancelAll()
            }
            try await readLoop(link, cipher: &session.receiver, frames: &frames, gossip: gossip)
        }
    }

    /// Admits the peer's transaction batches in the order they came, apart from the reader: a
    /// batch of many works takes the admission function long (hundreds of milliseconds on a busy
    /// machine), and while the reader waited for it, the consensus messages behind it on the
    /// connection waited too; voters then found proposals older than the clock-drift limit when
    /// they got to them.
    private func admitLoop(_ link: PeerLink, _ gossip: GossipInbox) async {
        for await batch in gossip.batches {
            await admitTxs(batch.txs, from: link)
            gossip.done(batch)
        }
    }

    /// Reads frames until the peer closes or says `disconnect`. Each frame is first charged to the
    /// peer's token buckets: over its rate, the reader waits, so NIO stops reading this socket and
    /// TCP flow control slows the peer down without costing us CPU or memory. Any frame that fails
    /// authentication or decoding ends the connection (the error propagates).
    private func readLoop(_ link: PeerLink, cipher: inout FrameCipher, frames: inout Frames, gossip: GossipInbox) async throws {
        var limiter = InboundLimiter(config.inboundRateLimit, nowNs: nowNs())
        while true {
            link.awaitingFrame = true
            let next = try await frames.next()
            link.awaitingFrame = false
            guard let buffer = next else { return }
            let wait = limiter.charge(byteCount: buffer.readableBytes + 4, nowNs: nowNs())
            if wait > 0 { try await Task.sleep(for: .nanoseconds(Int64(clamping: wait))) }
            link.heard(nowNs: nowNs(), byteCount: buffer.readableBytes + 4)
            let message = try open(Array(buffer.readableBytesView), &cipher)
            guard try await handle(message, from: link, gossip: gossip) else { return }
        }
    }

    /// Acts on one message; false when the peer said goodbye.
    private func handle(_ message: Message, from link: PeerLink, gossip: GossipInbox) async throws -> Bool {
        switch message {
        case .status(let height, let role):
            link.updateStatus(height: height, role: role)
            emit(.status(link.info))
        case .txBatch(let raw):
            try receiveTxs(raw, from: link, gossip: gossip)
        case .consensus(let payload):
            emit(.consensus(from: link.key, payload: payload))
        case .blockRequest(let from, let count):
            emit(.blockRequest(from: link.key, fromHeight: from, count: count))
        case .blockResponse(let from, let blocks):
            emit(.blockResponse(from: link.key, fromHeight: from, blocks: blocks))
        case .checkpointVote(let payload):
            emit(.checkpointVote(from: link.key, payload: payload))
        case .snapshotQuery(let height):
            emit(.snapshotQuery(from: link.key, height: height))
        case .snapshotOffer(let payload):
            emit(.snapshotOffer(from: link.key, payload: payload))
        case .chunkRequest(let height, let index):
            emit(.chunkRequest(from: link.key, height: height, index: index))
        case .chunkResponse(let height, let index, let payload):
            emit(.chunkResponse(from: link.key, height: height, index: index, payload: payload))
        case .ping(let nonce):
            guard enqueue(.pong(nonce), byteCount: 9, to: link) else { return false }
        case .pong:
            break
        case .disconnect(let reason):
            log(.info, "peer disconnects", ("peer", link.key.hex), ("conn", "\(link.id)"), ("reason", reason.description))
            return false
        }
        return true
    }

    /// Gossip in: remember that the peer has these transactions, and queue the ones this node has
    /// not seen for `admitLoop`. When `P2PLimits.gossipBatchesPendingMax` batches or
    /// `gossipPendingMaxBytes` already wait, the batch is dropped, as the outbound tx lane drops
    /// for a slow peer (the txs stay unseen: they may come again, and blocks bring them anyway):
    /// were the reader to wait for room, the consensus messages behind the batch would wait with
    /// it, for as long as admission lags.
    ///
    /// Only unseen txs are decoded (a tx's hash is over its bytes): in a mesh each tx comes from
    /// several peers, and `regossip` sends again what peers mostly hold. An item that does not
    /// decode ends the connection; a seen hash is the hash of bytes that did decode (the hashes a
    /// refused batch put in the seen-cache are taken out again).
    private func receiveTxs(_ raw: [[UInt8]], from link: PeerLink, gossip: GossipInbox) throws {
        let hashes = raw.map { SHA256.hash($0) }
        link.markKnown(hashes)
        guard gossip.hasRoom else {
            gossipDrops.inbound.add(raw.count, ordering: .relaxed)
            return
        }
        let unseen = seen.withLockedValue { s in raw.indices.filter { s.insert(hashes[$0]) } }
        guard !unseen.isEmpty else { return }
        var fresh: [SignedTx] = []
        fresh.reserveCapacity(unseen.count)
        for i in unseen {
            do { fresh.append(try SignedTx.decode(raw[i])) } catch {
                // None of the batch counts as seen: a peer must not hide a good tx from this
                // node by sending it beside garbage.
                seen.withLockedValue { s in for j in unseen { s.remove(hashes[j]) } }
                throw P2PError(.malformedMessage, "txBatch item \(i): \(error)")
            }
        }
        gossip.enqueue(fresh)
    }

    /// Passes transactions to the admission function and forwards what it admits to the other peers.
    private func admitTxs(_ fresh: [SignedTx], from link: PeerLink) async {
        let admitted = await admission.admit(fresh, from: link.key)
        guard !admitted.isEmpty else { return }
        forward(admitted, except: link.key)
        emit(.txBatch(from: link.key, txs: admitted))
    }

    /// Drains the peer's queue into the socket, up to `writeBatchMaxFrames` frames per write. On
    /// close it sends `disconnect` (when there is a reason), gives the peer a grace period to close,
    /// then closes the channel, which also ends the reader.
    private func writeLoop(_ link: PeerLink, cipher: FrameCipher, outbound: Writer, channel: Channel) async {
        var cipher = cipher
        do {
            while true {
                switch await link.next() {
                case .messages(let messages):
                    var buffers: [ByteBuffer] = []
                    buffers.reserveCapacity(messages.count)
                    for m in messages {
                        buffers.append(try Framing.sealed(m.encoded, cipher: &cipher, allocator: channel.allocator))
                    }
                    try await outbound.write(contentsOf: buffers)
                case .close(let reason):
                    if let reason {
                        let bye = try Framing.sealed(Message.disconnect(reason).encoded, cipher: &cipher,
                                                     allocator: channel.allocator)
                        try await outbound.write(bye)
                        try? await Task.sleep(for: .milliseconds(P2PLimits.disconnectGraceMs))
                    }
                    channel.close(promise: nil)
                    return
                }
            }
        } catch {
            log(.debug, "writer ended", ("peer", link.key.hex), ("conn", "\(link.id)"), ("error", "\(error)"))
            channel.close(promise: nil)
        }
    }

    /// Pings the peer every interval; a peer silent for `silentPingIntervalsMax` intervals is closed.
    /// Silent means no byte arrived (a large frame arriving slowly is not silence) while the reader
    /// waited for one (a reader busy with a frame, or holding a flooding peer to its rate, is not
    /// waiting on the peer). The peer pings us at the same interval, so a live peer is heard from
    /// at least that often.
    private func pingLoop(_ link: PeerLink, channel: Channel, arrival: ArrivalClock) async {
        let interval = config.pingIntervalMs
        let silenceLimit = Duration.milliseconds(interval * P2PLimits.silentPingIntervalsMax)
        var nonce: UInt64 = 0
        while true {
            do { try await Task.sleep(for: .milliseconds(interval)) } catch { return }
            if link.awaitingFrame && arrival.silence > silenceLimit {
                log(.warning, "peer silent; closing", ("peer", link.key.hex), ("conn", "\(link.id)"))
                channel.close(promise: nil)
                return
            }
            nonce += 1
            guard enqueue(.ping(nonce), byteCount: 9, to: link) else { return }
        }
    }
}

/// The transaction batches a connection's reader has handed to its `admitLoop`, and how many are
/// not admitted yet: at most `P2PLimits.gossipBatchesPendingMax`, each of at most
/// `P2PLimits.txBatchMaxBytes`.
final class GossipInbox: Sendable {
    struct Batch: Sendable {
        let txs: [SignedTx]
        let bytes: Int
    }

    private struct Pending {
        var batches = 0
        var bytes = 0
    }

    let batches: AsyncStream<Batch>
    private let input: AsyncStream<Batch>.Continuation
    private let pending = NIOLockedValueBox(Pending())
    private let maxBatches: Int
    private let maxBytes: Int

    init(maxBatches: Int = P2PLimits.gossipBatchesPendingMax, maxBytes: Int = P2PLimits.gossipPendingMaxBytes) {
        (batches, input) = AsyncStream.makeStream(of: Batch.self)
        self.maxBatches = maxBatches
        self.maxBytes = maxBytes
    }

    /// Whether another batch may be queued (only the reader queues, so it stays true until then):
    /// fewer than `maxBatches` wait and they hold less than `maxBytes` (so one batch of any size
    /// passes an empty inbox).
    var hasRoom: Bool { pending.withLockedValue { $0.batches < maxBatches && $0.bytes < maxBytes } }

    /// Bytes of the batches waiting (the txs' encodings).
    var pendingBytes: Int { pending.withLockedValue { $0.bytes } }

    /// Queues a batch; the caller checked `hasRoom`.
    func enqueue(_ txs: [SignedTx]) {
        let bytes = txs.reduce(0) { $0 + $1.bytes.count }
        pending.withLockedValue { p in
            p.batches += 1
            p.bytes += bytes
        }
        input.yield(Batch(txs: txs, bytes: bytes))
    }

    /// One batch admitted.
    func done(_ batch: Batch) {
        pending.withLockedValue { p in
            p.batches -= 1
            p.bytes -= batch.bytes
        }
    }

    func finish() {
        input.finish()
    }
}

/// Counts of gossiped transactions dropped at a bound (`P2PNode.gossipTxsDropped`).
final class GossipDrops: Sendable {
    let inbound = Atomic<Int>(0)
    let outbound = Atomic<Int>(0)
}
