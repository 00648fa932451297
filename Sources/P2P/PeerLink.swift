import ChainModel
import NIOConcurrencyHelpers
import P2PWire
import TotemCrypto

/// A transaction on its way to peers: its encoded bytes and hash.
struct GossipTx: Sendable {
    let bytes: [UInt8]
    let hash: Bytes32
}

/// Limits of one peer's outbound queue.
public struct OutboundQueueLimits: Sendable, Hashable {
    public var txMaxCount: Int
    public var txMaxBytes: Int
    public var messageMaxCount: Int
    public var messageMaxBytes: Int

    public init(txMaxCount: Int = P2PLimits.outboundTxQueueMaxCountDefault,
                txMaxBytes: Int = P2PLimits.outboundTxQueueMaxBytesDefault,
                messageMaxCount: Int = P2PLimits.outboundMessageQueueMaxCountDefault,
                messageMaxBytes: Int = P2PLimits.outboundMessageQueueMaxBytesDefault) {
        self.txMaxCount = txMaxCount; self.txMaxBytes = txMaxBytes
        self.messageMaxCount = messageMaxCount; self.messageMaxBytes = messageMaxBytes
    }
}

/// One established connection as the rest of the node sees it: the peer's identity and status, its
/// bounded outbound queue, and the hashes of transactions the peer is known to have.
///
/// The queue holds two lanes. Messages (consensus, blocks, status, pings) go first, in order; if
/// their lane is full the peer is too slow to follow consensus and is disconnected. Transactions
/// wait in their own lane and are cut into `txBatch` messages by the writer; if that lane is full,
/// newly offered transactions are dropped for this peer (it will get them in blocks; mempools are
/// not required to hold the same transactions), and counted.
final class PeerLink: Sendable {
    enum Work: Sendable {
        case messages([Message])
        /// Stop writing; send `disconnect` with the reason first if there is one.
        case close(DisconnectReason?)
    }

    struct State: Sendable {
        var messages: [(message: Message, bytes: Int)] = []
        var messageHead = 0
        var messageBytes = 0
        var txs: [GossipTx] = []
        var txHead = 0
        var txBytes = 0
        var known: BoundedHashSet
        var waiter: CheckedContinuation<Void, Never>?
        var closing: DisconnectReason??
        var height: UInt64
        var role: PeerRole
        var txsDropped = 0
        var lastHeardNs: UInt64 = 0
        /// The reader is waiting for the next frame from the network (not handling one, not
        /// waiting out the peer's rate limit): only then can silence be the peer's.
        var awaitingFrame = false
        var messagesReceived = 0
        var bytesReceived = 0
        var txsReceived = 0

        var hasWork: Bool { messageHead < messages.count || txHead < txs.count || closing != nil }
    }

    let key: Bytes32
    let id: ConnectionID
    let direction: ConnectionDirection
    let remote: String
    let limits: OutboundQueueLimits
    /// The height this node announced in the handshake's status.
    let announcedHeight: UInt64
    /// Closes the socket after the given milliseconds, whatever the writer is doing: a writer
    /// blocked on a peer that stopped reading must not keep the connection open.
    private let closeChannel: @Sendable (Int64) -> Void
    private let state: NIOLockedValueBox<State>

    init(key: Bytes32, id: ConnectionID, direction: ConnectionDirection, remote: String,
         height: UInt64, role: PeerRole, limits: OutboundQueueLimits, announcedHeight: UInt64 = 0,
         closeChannel: @escaping @Sendable (Int64) -> Void = { _ in }) {
        self.key = key; self.id = id; self.direction = direction; self.remote = remote; self.limits = limits
        self.announcedHeight = announcedHeight
        self.closeChannel = closeChannel
        state = NIOLockedValueBox(State(known: BoundedHashSet(capacity: P2PLimits.peerKnownCacheMaxCount),
                                        height: height, role: role))
    }

    var info: PeerInfo {
        state.withLockedValue { s in
            PeerInfo(key: key, connection: id, direction: direction, remote: remote, height: s.height, role: s.role,
                     txsDropped: s.txsDropped, messagesReceived: s.messagesReceived, bytesReceived: s.bytesReceived,
                     txsReceived: s.txsReceived)
        }
    }

    /// Records that a frame of `byteCount` bytes arrived at `nowNs`.
    func heard(nowNs: UInt64, byteCount: Int = 0) {
        state.withLockedValue { s in
            s.lastHeardNs = nowNs
            s.messagesReceived += 1
            s.bytesReceived += byteCount
        }
    }
    var lastHeardNs: UInt64 { state.withLockedValue { $0.lastHeardNs } }
    var awaitingFrame: Bool {
        get { state.withLockedValue { $0.awaitingFrame } }
        set { state.withLockedValue { $0.awaitingFrame = newValue } }
    }

    func updateStatus(height: UInt64, role: PeerRole) {
        state.withLockedValue { $0.height = height; $0.role = role }
    }

    enum EnqueueResult: Sendable, Equatable {
        case queued
        /// The message lane was full: this call marked the peer too slow, and it will be closed.
        case overflowed
        /// The link is closing; nothing more is queued.
        case closing
    }

    /// Queues a message in the message lane.
    func enqueue(_ message: Message, byteCount: Int) -> EnqueueResult {
        let (result, waiter): (EnqueueResult, CheckedContinuation<Void, Never>?) = state.withLockedValue { s in
            guard s.closing == nil else { return (.closing, nil) }
            let queued = s.messages.count - s.messageHead
            guard queued < limits.messageMaxCount, s.messageBytes + byteCount <= limits.messageMaxBytes else {
                s.closing = .some(.tooSlow)
                return (.overflowed, s.takeWaiter())
            }
            s.messages.append((message, byteCount))
            s.messageBytes += byteCount
            return (.queued, s.takeWaiter())
        }
        waiter?.resume()
        if result == .overflowed { closeChannel(P2PLimits.disconnectGraceMs) }
        return result
    }

    /// Records that the peer sent us these transactions, so it has them.
    func markKnown(_ hashes: [Bytes32]) {
        state.withLockedValue { s in
            s.txsReceived += hashes.count
            for h in hashes { s.known.insert(h) }
        }
    }

    /// Queues the transactions the peer is not known to have; each is then known to it, so it
    /// crosses this link at most once. Returns how many were dropped because the lane was full.
    @discardableResult
    func enqueueTxs(_ txs: [GossipTx], evenIfKnown: Bool = false) -> Int {
        let (waiter, dropped): (CheckedContinuation<Void, Never>?, Int) = state.withLockedValue { s in
            guard s.closing == nil else { return (nil, 0) }
            var dropped = 0
            for tx in txs where s.known.insert(tx.hash) || evenIfKnown {
                guard s.txs.count - s.txHead < limits.txMaxCount, s.txBytes + tx.bytes.count <= limits.txMaxBytes else {
                    dropped += 1
                    continue
                }
                s.txs.append(tx)
                s.txBytes += tx.bytes.count
            }
            s.txsDropped += dropped
            return (s.takeWaiter(), dropped)
        }
        waiter?.resume()
        return dropped
    }

    /// Asks the writer to stop, after telling the peer why (nil: just stop).
    func close(_ reason: DisconnectReason?) {
        let (first, waiter): (Bool, CheckedContinuation<Void, Never>?) = state.withLockedValue { s in
            let first = s.closing == nil
            if first { s.closing = .some(reason) }
            return (first, s.takeWaiter())
        }
        waiter?.resume()
        if first { closeChannel(P2PLimits.disconnectGraceMs) }
    }

    var isClosing: Bool { state.withLockedValue { $0.closing != nil } }

    /// The next work for the writer, waiting while there is none. Messages go before transactions;
    /// transactions are cut into batches of at most `txBatchMaxCount` and `txBatchMaxBytes`.
    func next() async -> Work {
        while true {
            if let work = state.withLockedValue({ $0.take(maxFrames: P2PLimits.writeBatchMaxFrames) }) { return work }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let ready = state.withLockedValue { s in
                        if s.hasWork { return true }
                        s.waiter = c
                        return false
                    }
                    if ready { c.resume() }
                }
            } onCancel: {
                self.close(nil)
            }
        }
    }
}

extension PeerLink.State {
    mutating func takeWaiter() -> CheckedContinuation<Void, Never>? {
        defer { waiter = nil }
        return waiter
    }

    mutating func take(maxFrames: Int) -> PeerLink.Work? {
        var out: [Message] = []
        while messageHead < messages.count, out.count < maxFrames {
            out.append(messages[messageHead].message)
            messageBytes -= messages[messageHead].bytes
            messageHead += 1
        }
        // Compact, so the arrays stay within twice their limits however long the queue stays busy.
        if messageHead > 0, messageHead * 2 >= messages.count {
            messages.removeFirst(messageHead)
            messageHead = 0
        }
        while txHead < txs.count, out.count < maxFrames {
            var batch: [[UInt8]] = []
            var bytes = 0
            while txHead < txs.count, batch.count < P2PLimits.txBatchMaxCount,
                  batch.isEmpty || bytes + txs[txHead].bytes.count <= P2PLimits.txBatchMaxBytes {
                bytes += txs[txHead].bytes.count
                batch.append(txs[txHead].bytes)
                txHead += 1
            }
            txBytes -= bytes
            out.append(.txBatch(batch))
        }
        if txHead > 0, txHead * 2 >= txs.count {
            txs.removeFirst(txHead)
            txHead = 0
        }
        if !out.isEmpty { return .messages(out) }
        if let reason = closing { return .close(reason) }
        return nil
    }
}
