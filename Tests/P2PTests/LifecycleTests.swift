import NIOCore
import P2PWire
import Testing
import TotemCrypto
@testable import P2P

extension SocketTests {
@Suite struct LifecycleTests {
    @Test func silentClientIsClosedAtTheHandshakeTimeout() async throws {
        var config = T.config(T.key(1))
        config.handshakeTimeoutMs = 300
        let node = try await RunningNode.start(config, allow: AllowList(validatorsInForce: [T.key(2).publicKey]))
        let start = ContinuousClock.now
        try await withTimeout(.seconds(5), "silent client closed") {
            let ch = try await RawPeer.connect(port: node.port)
            try await ch.executeThenClose { inbound, _ in
                do { for try await _ in inbound {} } catch {}  // the node's Hello, then its close
            }
        }
        #expect(ContinuousClock.now - start >= .milliseconds(250))
        try await node.events.wait("timeout reported") { $0.contains { $0.failure?.code == .handshakeTimeout } }
        await node.kill()
    }

    /// A peer is silent when no byte of it arrives for `silentPingIntervalsMax` ping intervals: a
    /// frame trickling in for longer than that keeps the connection, and silence after it ends it.
    @Test func slowFrameKeepsThePeerAndSilenceThenClosesIt() async throws {
        let a = T.key(1), peer = T.key(2)
        var config = T.config(a)
        config.pingIntervalMs = 200
        let silenceLimit = Duration.milliseconds(config.pingIntervalMs * P2PLimits.silentPingIntervalsMax)
        let node = try await RunningNode.start(config, allow: AllowList(validatorsInForce: [a.publicKey, peer.publicKey]))
        try await withTimeout(.seconds(20), "silent peer closed") {
            let ch = try await RawPeer.connect(port: node.port)
            try await ch.executeThenClose { inbound, outbound in
                var it = inbound.makeAsyncIterator()
                var session = try await RawPeer.handshake(key: peer, inbound: &it, outbound: outbound)
                try await node.waitForPeers([peer.publicKey])
                // One 32 KiB frame, written in 64 pieces over about 2.5 silence limits.
                let payload = [UInt8](repeating: 5, count: 32 * 1024)
                var frame = try Framing.sealed(Message.consensus(payload).encoded, cipher: &session.sender,
                                               allocator: ByteBufferAllocator())
                let pieces = 64, pause = silenceLimit * 5 / 2 / pieces
                let pieceBytes = (frame.readableBytes + pieces - 1) / pieces
                while frame.readableBytes > 0 {
                    try await outbound.write(frame.readSlice(length: min(pieceBytes, frame.readableBytes))!)
                    try await Task.sleep(for: pause)
                }
                try await node.events.wait("the slow frame arrives") {
                    $0.contains { if case .consensus(peer.publicKey, payload) = $0 { true } else { false } }
                }
                #expect(!node.events.items.contains { if case .peerDown(peer.publicKey) = $0 { true } else { false } },
                        "a peer whose frame was arriving was taken for silent")
                // Now nothing: the node closes the connection once the limit has passed.
                let silentSince = ContinuousClock.now
                do { while try await it.next() != nil {} } catch {}
                #expect(ContinuousClock.now - silentSince >= silenceLimit)
            }
        }
        try await node.events.wait("silent peer down") {
            $0.contains { if case .peerDown(peer.publicKey) = $0 { true } else { false } }
        }
        await node.kill()
    }

    /// Two validators, b dialling a, once each lists the other as its peer.
    static func connectedPair(_ a: SigningKey, _ b: SigningKey) async throws -> (RunningNode, RunningNode) {
        let allow = AllowList(validatorsInForce: [a.publicKey, b.publicKey])
        let nodeA = try await RunningNode.start(T.config(a), allow: allow)
        let nodeB = try await RunningNode.start(T.config(b, peers: [nodeA.address]), allow: allow)
        try await nodeA.waitForPeers([b.publicKey])
        try await nodeB.waitForPeers([a.publicKey])
        return (nodeA, nodeB)
    }

    @Test func statusAndBlockMessagesReachThePeer() async throws {
        let (a, b) = (T.key(1), T.key(2))
        let (nodeA, nodeB) = try await Self.connectedPair(a, b)
        #expect(nodeA.node.peers().first?.role == .validator)

        nodeB.node.setLocalHeight(17)
        try await nodeA.events.wait("status 17") {
            $0.contains { if case .status(let p) = $0 { p.key == b.publicKey && p.height == 17 } else { false } }
        }
        #expect(nodeA.node.peers().first?.height == 17)

        #expect(try nodeA.node.send(.blockRequest(fromHeight: 5, count: 2), to: b.publicKey))
        try await nodeB.events.wait("block request") {
            $0.contains { if case .blockRequest(a.publicKey, 5, 2) = $0 { true } else { false } }
        }
        #expect(try nodeB.node.send(.blockResponse(fromHeight: 5, blocks: [[5], [6]]), to: a.publicKey))
        try await nodeA.events.wait("block response") {
            $0.contains { if case .blockResponse(b.publicKey, 5, [[5], [6]]) = $0 { true } else { false } }
        }
        try nodeA.node.broadcast(consensus: [42])
        try await nodeB.events.wait("broadcast") {
            $0.contains { if case .consensus(a.publicKey, [42]) = $0 { true } else { false } }
        }
        // Limits are checked before anything is queued; unknown peers are reported.
        #expect(throws: P2PError.self) { try nodeA.node.send(.blockRequest(fromHeight: 1, count: 0), to: b.publicKey) }
        #expect(try nodeA.node.send(.consensus([1]), to: T.key(9).publicKey) == false)
        await nodeB.kill()
        await nodeA.kill()
    }

    @Test func heightsSetInABurstReachThePeerAsFewStatusesEndingWithTheLast() async throws {
        let (a, b) = (T.key(1), T.key(2))
        let (nodeA, nodeB) = try await Self.connectedPair(a, b)
        for height in 1...200 as ClosedRange<UInt64> { nodeB.node.setLocalHeight(height) }
        let seen = try await nodeA.events.wait("status 200") {
            $0.contains { if case .status(let p) = $0 { p.key == b.publicKey && p.height == 200 } else { false } }
        }
        let statuses = seen.filter { if case .status(let p) = $0 { p.key == b.publicKey && p.height > 0 } else { false } }
        // The first height goes out at once, the rest wait for the interval: not one frame per height.
        #expect(statuses.count <= 3, "\(statuses.count) statuses for 200 heights set within one interval")
        #expect(nodeA.node.peers().first?.height == 200)
        await nodeB.kill()
        await nodeA.kill()
    }

    @Test func gracefulShutdownDisconnectsCleanly() async throws {
        let a = T.key(1), b = T.key(2)
        let allow = AllowList(validatorsInForce: [a.publicKey, b.publicKey])
        let nodeA = try await RunningNode.start(T.config(a), allow: allow)
        let nodeB = try await RunningNode.start(T.config(b, peers: [nodeA.address]), allow: allow)
        try await nodeA.waitForPeers([b.publicKey])
        let took = try await nodeB.shutdown()
        // The peer closes on `disconnect`, so B is done well before its grace periods run out.
        #expect(took < .milliseconds(P2PLimits.disconnectGraceMs))
        try await nodeA.events.wait("peer down") { $0.contains { if case .peerDown(b.publicKey) = $0 { true } else { false } } }
        await nodeA.kill()
    }

    @Test func removingAPeerFromTheAllowListDisconnectsAndRefusesIt() async throws {
        let a = T.key(1), b = T.key(2)
        let allow = AllowList(validatorsInForce: [a.publicKey, b.publicKey])
        let nodeA = try await RunningNode.start(T.config(a), allow: allow)
        let nodeB = try await RunningNode.start(T.config(b, peers: [nodeA.address]), allow: allow)
        try await nodeA.waitForPeers([b.publicKey])
        nodeA.node.setAllowList(AllowList(validatorsInForce: [a.publicKey]))
        try await nodeA.events.wait("peer down") { $0.contains { if case .peerDown(b.publicKey) = $0 { true } else { false } } }
        // B redials and is refused.
        try await nodeA.events.wait("redial refused") { $0.contains { $0.failure?.code == .peerNotAllowed } }
        #expect(nodeA.node.peers().isEmpty)
        // Adopted validators (not yet in force) are allowed again.
        nodeA.node.setAllowList(AllowList(validatorsInForce: [a.publicKey], validatorsAdopted: [b.publicKey]))
        try await nodeA.waitForPeers([b.publicKey])
        await nodeB.kill()
        await nodeA.kill()
    }
}
}

extension SocketTests.LifecycleTests {
    @Test func peerThatStopsReadingIsDisconnectedAndOthersAreUnaffected() async throws {
        let a = T.key(1), b = T.key(2), slow = T.key(3)
        let allow = AllowList(validatorsInForce: [a.publicKey, b.publicKey], observers: [slow.publicKey])
        var ca = T.config(a)
        ca.outboundQueue = OutboundQueueLimits(txMaxCount: 100, txMaxBytes: 1 << 20,
                                               messageMaxCount: 64, messageMaxBytes: 4 << 20)
        let nodeA = try await RunningNode.start(ca, allow: allow)
        let nodeB = try await RunningNode.start(T.config(b, peers: [nodeA.address]), allow: allow)
        try await nodeA.waitForPeers([b.publicKey])
        let before = nodeA.node.peers()

        try await withTimeout(.seconds(20), "slow peer disconnected") {
            let ch = try await RawPeer.connect(port: nodeA.port)
            try await ch.executeThenClose { inbound, outbound in
                var it = inbound.makeAsyncIterator()
                _ = try await RawPeer.handshake(key: slow, inbound: &it, outbound: outbound)
                try await nodeA.waitForPeers([b.publicKey, slow.publicKey])
                // The slow peer reads nothing from here on; A sends it more than its socket buffers
                // and its message lane hold, until A refuses to queue more.
                let big = [UInt8](repeating: 7, count: 256 * 1024)
                var sent = 0
                while try nodeA.node.send(.consensus(big), to: slow.publicKey) {
                    sent += 1
                    #expect(sent < 2_000, "the lane never filled")
                    if sent >= 2_000 { return }
                    await Task.yield()
                }
                // A closes the connection even though its writer is stuck on the full socket.
                try await nodeA.events.wait("slow peer down") {
                    $0.contains { if case .peerDown(slow.publicKey) = $0 { true } else { false } }
                }
            }
        }
        // B kept its connection and its messages flow.
        #expect(nodeA.node.peers().map(\.connection) == before.map(\.connection))
        try nodeB.node.send(.consensus([9]), to: a.publicKey)
        try await nodeA.events.wait("consensus from B") {
            $0.contains { if case .consensus(b.publicKey, [9]) = $0 { true } else { false } }
        }
        await nodeB.kill()
        await nodeA.kill()
    }
}
