import ChainModel
import ChainState
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TotemCrypto
@testable import P2P
@testable import P2PWire

enum T {
    static let chainId = "totem-test"
    static let genesisHash = SHA256.hash(Array("test genesis".utf8))

    static func key(_ i: UInt64) -> SigningKey { SigningKey(seed: Bytes32(w0: 0x7074_6573_7400_0000, w1: i, w2: 0, w3: 1)) }

    static func params(_ key: SigningKey, chainId: String = T.chainId, genesis: Bytes32 = T.genesisHash,
                       version: UInt8 = P2PLimits.protocolVersion) -> HandshakeParams {
        HandshakeParams(nodeKey: key, chainId: chainId, genesisHash: genesis, version: version)
    }

    /// `count` signed transactions from one sender (nonces from `firstNonce`).
    static func txs(_ count: Int, sender: SigningKey = T.key(999), firstNonce: UInt64 = 1,
                    genesis: Bytes32 = T.genesisHash) -> [SignedTx] {
        (0..<count).map { i in
            let nonce = firstNonce + UInt64(i)
            let subject = Bytes32(w0: nonce, w1: 0xabcd, w2: 0, w3: 0)
            return Tx(chainId: T.chainId, sender: sender.publicKey, nonce: nonce,
                      payload: .removeRegistrar(subject: subject)).signed(by: sender, genesisHash: genesis)
        }
    }

    static func config(_ key: SigningKey, peers: [PeerAddress] = [], port: Int = 0, chainId: String = T.chainId)
    -> P2PConfig {
        var c = P2PConfig(listenHost: "127.0.0.1", listenPort: port, peers: peers, nodeKey: key, chainId: chainId,
                          genesisHash: T.genesisHash, role: .validator)
        c.handshakeTimeoutMs = 2_000
        c.dialBackoffBaseMs = 50
        c.dialBackoffCapMs = 500
        c.maxFrameBytes = P2PLimits.frameMaxBytesMin
        return c
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with `TimedOut` after `timeout`: a bounded wait for an event, not a sleep.
func withTimeout<R: Sendable>(_ timeout: Duration, _ what: String,
                              _ body: @escaping @Sendable () async throws -> R) async throws -> R {
    try await withThrowingTaskGroup(of: R?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else { throw TimedOut(what: what) }
        return result
    }
}

/// Polls `condition` every 20 ms until it holds, for states that no event announces.
func eventually(_ what: String, timeout: Duration = .seconds(10), _ condition: @escaping @Sendable () -> Bool)
async throws {
    try await withTimeout(timeout, what) {
        while !condition() { try await Task.sleep(for: .milliseconds(20)) }
    }
}

/// Collects items and lets tests await a condition on them, with a timeout.
final class Recorder<Item: Sendable>: Sendable {
    private struct Waiter {
        let predicate: @Sendable ([Item]) -> Bool
        let continuation: CheckedContinuation<[Item]?, Never>
    }

    private struct State {
        var items: [Item] = []
        var waiters: [UInt64: Waiter] = [:]
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    var items: [Item] { state.withLockedValue { $0.items } }

    func append(contentsOf new: [Item]) {
        let ready: [(CheckedContinuation<[Item]?, Never>, [Item])] = state.withLockedValue { s in
            s.items.append(contentsOf: new)
            var ready: [(CheckedContinuation<[Item]?, Never>, [Item])] = []
            for (id, w) in s.waiters where w.predicate(s.items) {
                ready.append((w.continuation, s.items))
                s.waiters[id] = nil
            }
            return ready
        }
        for (c, items) in ready { c.resume(returning: items) }
    }

    func append(_ item: Item) { append(contentsOf: [item]) }

    /// Waits until `predicate` holds for the items recorded so far; throws `TimedOut` after `timeout`.
    @discardableResult
    func wait(_ what: String, timeout: Duration = .seconds(15),
              until predicate: @escaping @Sendable ([Item]) -> Bool) async throws -> [Item] {
        let id = state.withLockedValue { s in
            defer { s.nextID += 1 }
            return s.nextID
        }
        return try await withTimeout(timeout, what) {
            let result: [Item]? = await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<[Item]?, Never>) in
                    let now: [Item]?? = self.state.withLockedValue { s in
                        if s.cancelled.remove(id) != nil { return .some(nil) }
                        if predicate(s.items) { return .some(s.items) }
                        s.waiters[id] = Waiter(predicate: predicate, continuation: c)
                        return nil
                    }
                    if let now { c.resume(returning: now) }
                }
            } onCancel: {
                let w = self.state.withLockedValue { s in
                    if let w = s.waiters.removeValue(forKey: id) { return Optional(w) }
                    s.cancelled.insert(id)
                    return nil
                }
                w?.continuation.resume(returning: nil)
            }
            guard let result else { throw CancellationError() }
            return result
        }
    }
}

/// Admission for the socket tests, recording what it admitted. With a `mempool` it is the node's
/// real admission (`SharedMempool`: cheap checks, signatures on all cores, nonce window); without
/// one it admits everything (optionally only valid signatures), so transport tests can push
/// traffic the mempool's per-sender bounds would refuse.
final class RecordingAdmission: TxAdmission {
    /// Every sender is known and new: the mempool's view of an empty committed state.
    struct AllKnown: MempoolAccounts {
        func nextNonce(of sender: Bytes32) -> UInt64 { 1 }
        func isKnownSender(_ sender: Bytes32) -> Bool { true }
    }

    let seen = Recorder<SignedTx>()
    let verify: Bool
    let mempool: SharedMempool?
    /// Awaited before each batch is admitted (a test holds admission there).
    let before: @Sendable () async -> Void

    init(verify: Bool = false, mempool: SharedMempool? = nil, before: @escaping @Sendable () async -> Void = {}) {
        self.verify = verify
        self.mempool = mempool
        self.before = before
    }

    func admit(_ txs: [SignedTx], from peer: Bytes32) async -> [SignedTx] {
        await before()
        let admitted: [SignedTx]
        if let mempool {
            let results = mempool.admit(txs, accounts: AllKnown())
            admitted = zip(txs, results).filter { $0.1 == .accepted }.map(\.0)
        } else {
            admitted = verify ? txs.filter { $0.verifySignature(genesisHash: T.genesisHash) } : txs
        }
        seen.append(contentsOf: admitted)
        return admitted
    }
}

/// A node running in the test: its `run()` and an event collector, as tasks the test cancels.
final class RunningNode: Sendable {
    let node: P2PNode
    let admission: RecordingAdmission
    let events = Recorder<P2PEvent>()
    let port: Int
    private let runTask: Task<Void, Error>
    private let eventTask: Task<Void, Never>

    var key: Bytes32 { node.nodeKey }
    var address: PeerAddress { PeerAddress(key: key, host: "127.0.0.1", port: port) }

    static func start(_ config: P2PConfig, allow: AllowList, admission: RecordingAdmission = RecordingAdmission(),
                      log: P2PLogger = .none) async throws -> RunningNode {
        let node = P2PNode(config: config, allowList: allow, admission: admission, log: log)
        let runTask = Task { try await node.run() }
        // A bound on a hang, not a speed: other suites running beside this one can hold the
        // cooperative threads for seconds on a 2-core machine.
        let port = try await withTimeout(.seconds(60), "listener") { try await node.listeningPort() }
        return RunningNode(node: node, admission: admission, port: port, runTask: runTask)
    }

    private init(node: P2PNode, admission: RecordingAdmission, port: Int, runTask: Task<Void, Error>) {
        self.node = node
        self.admission = admission
        self.port = port
        self.runTask = runTask
        let events = self.events
        let stream = node.events
        self.eventTask = Task { for await e in stream { events.append(e) } }
    }

    /// Kills the node: cancels its tasks, closing every connection at once.
    func kill() async {
        runTask.cancel()
        _ = try? await runTask.value
        eventTask.cancel()
    }

    /// Shuts the node down gracefully; returns how long `run()` took to return.
    func shutdown() async throws -> Duration {
        let start = ContinuousClock.now
        node.shutdown()
        let runTask = self.runTask
        try await withTimeout(.seconds(10), "shutdown") { try await runTask.value }
        eventTask.cancel()
        return ContinuousClock.now - start
    }

    /// Waits until the node has exactly these peers connected.
    func waitForPeers(_ keys: Set<Bytes32>, timeout: Duration = .seconds(15)) async throws {
        let node = self.node
        try await events.wait("peers \(keys.count)", timeout: timeout) { _ in
            Set(node.peers().map(\.key)) == keys
        }
    }
}

extension P2PEvent {
    var failure: P2PError? {
        if case .connectionFailed(_, _, let e) = self { return e }
        return nil
    }
}

/// A hand-driven peer on a raw NIO channel, for sending what a correct node never would.
enum RawPeer {
    static func connect(port: Int, maxFrameBytes: Int = P2PLimits.frameMaxBytesMin) async throws
    -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Framing.setUp(channel, limit: FrameLimit(maxFrameBytes)).channel
                }
            }
    }

    /// Runs the handshake and status exchange as `key` (presenting `presenting`), returning the
    /// session and the inbound iterator positioned after the peer's status.
    static func handshake(key: SigningKey, presenting: Bytes32? = nil,
                          inbound: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
                          outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> Session {
        var hs = Handshake(role: .initiator, params: T.params(key), ephemeral: .generate(),
                           presenting: presenting ?? key.publicKey)
        try await outbound.write(Framing.plain(hs.hello, allocator: ByteBufferAllocator()))
        guard let hello = try await inbound.next() else { throw P2PError(.connectionClosed, "no hello") }
        let auth = try hs.receiveHello(Array(hello.readableBytesView), isAllowed: { _ in true })
        try await outbound.write(Framing.plain(auth, allocator: ByteBufferAllocator()))
        guard let peerAuth = try await inbound.next() else { throw P2PError(.connectionClosed, "no auth") }
        var session = try hs.receiveAuth(Array(peerAuth.readableBytesView))
        let status = try Framing.sealed(Message.status(height: 0, role: .observer).encoded, cipher: &session.sender,
                                        allocator: ByteBufferAllocator())
        try await outbound.write(status)
        guard let peerStatus = try await inbound.next() else { throw P2PError(.connectionClosed, "no status") }
        _ = try session.receiver.open(Array(peerStatus.readableBytesView))
        return session
    }
}
